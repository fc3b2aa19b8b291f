"""Tail errors of the pool experiments: do selected frames buy uniform accuracy where they do
not buy mean accuracy?

For every round recorded in the ``curve.json`` of each ``pool_selection.py`` output given,
the round's committee (``round_XX``) is scored by :func:`pesforge.active.committee.errors`
on the first ``--n-test`` frames of rMD17 ethanol test_01: force MAE, the 99th percentile
of |force component error|, the mean over frames of the largest per-atom force error, and
the largest per-atom force error over all frames (all meV/Å). Needs ../shared/data (rMD17)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active/pool_tails.py /tmp/pool2/*-s*/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="pool_selection.py output folders")
    p.add_argument("--n-test", type=int, default=1000)
    args = p.parse_args()

    from pesforge.active.committee import errors, load_committee
    from pesforge.data import rmd17

    test = rmd17("ethanol", "test")[:args.n_test]
    print("| run | labels | force MAE | p99 component | mean frame max | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in map(Path, args.runs):
        curve = json.loads((run / "curve.json").read_text())["curve"]
        for r, point in enumerate(curve):
            stats = {k: v * 1e3 for k, v in errors(load_committee(run / f"round_{r:02d}"),
                                                     test).items() if k.startswith("forces")}
            print(f"| {run.name} | {point['labels']} | {stats['forces_mae']:.1f} | "
                  f"{stats['forces_p99']:.1f} | {stats['forces_max_error_mean']:.1f} | "
                  f"{stats['forces_max_error']:.1f} |", flush=True)
            (run / f"tails_{r:02d}.json").write_text(json.dumps({"labels": point["labels"],
                                                                 **stats}))


if __name__ == "__main__":
    main()
