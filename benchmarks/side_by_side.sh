#!/usr/bin/env bash
# pesforge BPNN and TorchANI's ANI-2x architecture, alternately, on the same ethanol boxes.
# Rounds alternate so that both see the same machine state. Needs setup_torchani_env.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-5,7}
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  .venv/bin/python benchmarks/inference_speed.py --sizes "$SIZES" --repeats 10 | tail -n +3
  benchmarks/.venv-torchani/bin/python benchmarks/torchani_speed.py --sizes "$SIZES" --repeats 10
done
