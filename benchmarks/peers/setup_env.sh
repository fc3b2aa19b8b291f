#!/usr/bin/env bash
# Separate environments with the peer codes for the side-by-side benchmarks, never the project
# venv: benchmarks/.venv-peers (mace-torch, nequip) and benchmarks/.venv-schnetpack (schnetpack).
# Two, because schnetpack 2.0.4 pins torchmetrics==1.0.1, with which mace_run_train crashes at its
# first validation pass (TypeError in torchmetrics' apply_to_collection); mace-torch 0.3.16 runs
# with torchmetrics 1.9. schnetpack 2.1.x would not pin it, but pins sympy<=1.12, which torch 2.13
# (sympy>=1.13.3) excludes. 2.0.4 imports torch's old name T_co (now _T_co);
# benchmarks/peers/schnetpack_train.py aliases it before importing schnetpack, as below.
# The constraints files pin torch==2.13.0 so pip keeps the CPU build (a bare
# "pip install mace-torch" may pull a CUDA torch and GBs of nvidia-* wheels).
# Usage: bash benchmarks/peers/setup_env.sh   (both environments are git-ignored)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-python3}"

make_env() {  # make_env DIR PACKAGE...: a venv with torch 2.13.0 (CPU) and the packages
  local env="$1"; shift
  test -x "$env/bin/python" || "$PY" -m venv "$env"
  echo "torch==2.13.0" > "$env/constraints.txt"
  "$env/bin/pip" install -q -c "$env/constraints.txt" torch==2.13.0
  "$env/bin/pip" install -q -c "$env/constraints.txt" "$@"
}

make_env "$HERE/../.venv-peers" mace-torch nequip ase numpy vesin
make_env "$HERE/../.venv-schnetpack" "schnetpack==2.0.4" ase numpy
# The peer scripts use only ase/numpy beside the peer code; pesforge runs in the project venv.
"$HERE/../.venv-peers/bin/python" - <<'PY'
import torch, mace, nequip
print("torch", torch.__version__, "cuda build:", torch.version.cuda)
print("mace-torch", getattr(mace, "__version__", "?"), "nequip", nequip.__version__)
PY
"$HERE/../.venv-schnetpack/bin/python" - <<'PY'
from importlib.metadata import version
import torch.utils.data.dataloader as loader
loader.T_co = getattr(loader, "T_co", getattr(loader, "_T_co", None))
import schnetpack
print("schnetpack", version("schnetpack"))
PY
