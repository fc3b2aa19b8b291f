#!/usr/bin/env bash
# A separate environment with the peer codes (mace-torch, nequip, schnetpack) for the side-by-side
# benchmarks.
# Never the project venv. The constraints file pins torch==2.13.0 so pip keeps the CPU build
# (a bare "pip install mace-torch" may pull a CUDA torch and GBs of nvidia-* wheels).
# Usage: bash benchmarks/peers/setup_env.sh   -> benchmarks/.venv-peers (git-ignored)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ENV="$HERE/../.venv-peers"
PY="${PYTHON:-python3}"
test -x "$ENV/bin/python" || "$PY" -m venv "$ENV"
echo "torch==2.13.0" > "$ENV/constraints.txt"
"$ENV/bin/pip" install -q -c "$ENV/constraints.txt" torch==2.13.0
"$ENV/bin/pip" install -q -c "$ENV/constraints.txt" mace-torch nequip ase numpy vesin
# schnetpack 2.1.x pins sympy<=1.12, which torch 2.13 (sympy>=1.13.3) excludes, so 2.0.4 (it pins
# torchmetrics==1.0.1, which mace-torch accepts). 2.0.4 imports torch's old name T_co (now _T_co);
# benchmarks/peers/schnetpack_train.py aliases it before importing schnetpack, as below.
"$ENV/bin/pip" install -q -c "$ENV/constraints.txt" "schnetpack==2.0.4"
# The peer scripts use only ase/numpy beside the peer code; pesforge runs in the project venv.
"$ENV/bin/python" - <<'PY'
from importlib.metadata import version
import torch, mace, nequip
import torch.utils.data.dataloader as loader
loader.T_co = getattr(loader, "T_co", getattr(loader, "_T_co", None))
import schnetpack
print("torch", torch.__version__, "cuda build:", torch.version.cuda)
print("mace-torch", getattr(mace, "__version__", "?"), "nequip", nequip.__version__,
      "schnetpack", version("schnetpack"))
PY
