"""Tail errors of the pool experiments: do selected frames buy uniform accuracy where they do
not buy mean accuracy?

For every round folder (``round_XX/ensemble.safetensors``) of each ``pool_selection.py``
output given, the committee mean is scored on the first ``--n-test`` frames of rMD17 ethanol
test_01: force MAE, the 99th percentile of |force component error|, the mean over frames of
the largest per-atom force error, and the largest per-atom force error over all frames
(all meV/Å). Needs ../shared/data (rMD17)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active/pool_tails.py /tmp/pool2/*-s*/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def tail_errors(ensemble, test, chunk: int = 100) -> dict[str, float]:
    """Force error statistics (meV/Å) of a committee's mean on labelled frames."""
    from pesforge.active.committee import per_system_max
    from pesforge.data import keys as K
    from pesforge.data.batch import collate
    from pesforge.uncertainty import ensemble_compute

    components, worst = [], []
    for lo in range(0, len(test), chunk):
        frames = test[lo:lo + chunk]
        batch = collate(frames, ensemble.cutoff, dtype=ensemble.dtype)
        error = ensemble_compute(ensemble, batch)[K.FORCES].double() - batch[K.REF_FORCES].double()
        components.append(error.abs().reshape(-1).numpy())
        worst.append(per_system_max(error.norm(dim=1), batch[K.SYSTEM], len(frames)))
    components, worst = np.concatenate(components) * 1e3, np.concatenate(worst) * 1e3
    return {"mae": float(components.mean()), "p99": float(np.quantile(components, 0.99)),
            "mean_frame_max": float(worst.mean()), "max": float(worst.max())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="pool_selection.py output folders")
    p.add_argument("--n-test", type=int, default=1000)
    args = p.parse_args()

    from pesforge.active.committee import load_committee
    from pesforge.data import rmd17

    test = rmd17("ethanol", "test")[:args.n_test]
    print("| run | labels | force MAE | p99 component | mean frame max | max |")
    print("|---|---:|---:|---:|---:|---:|")
    for run in args.runs:
        run = Path(run)
        for r, folder in enumerate(sorted(run.glob("round_*"))):
            if not (folder / "ensemble.safetensors").exists():
                continue
            labels = sum(1 for line in (folder / "data.xyz").read_text().splitlines()
                         if line.strip().isdigit())
            stats = tail_errors(load_committee(folder), test)
            print(f"| {run.name} | {labels} | {stats['mae']:.1f} | {stats['p99']:.1f} | "
                  f"{stats['mean_frame_max']:.1f} | {stats['max']:.1f} |", flush=True)
            (run / f"tails_{r:02d}.json").write_text(json.dumps({"labels": labels, **stats}))


if __name__ == "__main__":
    main()
