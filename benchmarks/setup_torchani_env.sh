#!/usr/bin/env bash
# A separate environment for the TorchANI side-by-side speed benchmark (never the project venv).
# The constraint keeps pip from replacing the local CPU torch wheel with a CUDA build.
set -euo pipefail
cd "$(dirname "$0")"
ENV=.venv-torchani
test -x $ENV/bin/python || python3 -m venv $ENV
$ENV/bin/pip install -q torch==2.13.0
echo "torch==2.13.0" > $ENV/constraints.txt
$ENV/bin/pip install -q -c $ENV/constraints.txt torchani ase numpy vesin
$ENV/bin/python -c "import torchani, torch; print('torchani', torchani.__version__, 'torch', torch.__version__)"
