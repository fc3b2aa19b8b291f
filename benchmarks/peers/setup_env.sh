#!/usr/bin/env bash
# A separate environment with the peer codes (mace-torch, nequip) for the side-by-side benchmarks.
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
# The peer scripts use only ase/numpy beside the peer code; pesforge runs in the project venv.
"$ENV/bin/python" - <<'PY'
import torch, mace, nequip
print("torch", torch.__version__, "cuda build:", torch.version.cuda)
print("mace-torch", getattr(mace, "__version__", "?"), "nequip", nequip.__version__)
PY
