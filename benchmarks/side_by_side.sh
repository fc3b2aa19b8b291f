#!/usr/bin/env bash
# pesforge BPNN and TorchANI's ANI-2x architecture, alternately, on the same ethanol boxes.
# Rounds alternate so that both see the same machine state. Needs setup_torchani_env.sh first.
# Prints each code's table per round, then the per-round ratios pesforge / TorchANI of the
# atom-steps/s (wall) and of the CPU time per call (TorchANI's over pesforge's).
#   ROUNDS=5 SIZES=5 THREADS=2 REPEATS=10 [COMPILE=1] benchmarks/side_by_side.sh
# COMPILE=1 times pesforge's compiled inference path (BPNN.compile_for_inference).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SIZES=${SIZES:-5,7}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-10}
COMPILE=${COMPILE:-}
summary=""
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  ours=$(.venv/bin/python benchmarks/inference_speed.py --sizes "$SIZES" --repeats "$REPEATS" \
    --threads "$THREADS" --no-aspirin ${COMPILE:+--compile} | tail -n +2)
  theirs=$(benchmarks/.venv-torchani/bin/python benchmarks/torchani_speed.py --sizes "$SIZES" \
    --repeats "$REPEATS" --threads "$THREADS" | tail -n +2)
  echo "pesforge:"; echo "$ours"; echo "TorchANI:"; echo "$theirs"
  summary+=$(paste <(echo "$ours" | grep -E '^ *[0-9]') <(echo "$theirs" | grep -E '^ *[0-9]') \
    | awk -v r="$round" \
    '{printf "round %s, %s atoms: wall ratio %.2f, CPU ratio %.2f\n", r, $1, $3 / $8, $9 / $5}')
  summary+=$'\n'
done
echo "== pesforge / TorchANI (atom-steps/s; CPU: TorchANI cpu ms / pesforge cpu ms)"
echo -n "$summary"
