"""Pool-based selection on rMD17 ethanol: does the committee's uncertainty pick better training
frames than random draws from the very trajectory the test frames come from?

The pool is the rMD17 ethanol train_01 trajectory (labels known, so no oracle call). From
``--n-initial`` random pool frames, each round trains the committee of
``ethanol_learning_curve.py`` cold (``--epochs``, as its random baseline), scores it on the
first ``--n-test`` frames of test_01, scores every unlabelled pool frame with the committee's
max per-atom force std, and adds ``--batch-size`` frames chosen by ``--strategy``:

* ``random``: uniform draws (the baseline, through the same code path);
* ``top``: the most uncertain frames;
* ``farthest_point`` / ``clusters`` / ``cluster_maxima`` / ``lcmd`` / ``max_determinant``:
  :func:`pesforge.active.select.select` with threshold 0, as the active-learning loop does,
  in the radial fingerprint space or (``--space committee``) in the committee's last-layer
  gradient features.

``--score error`` ranks by the actual max per-atom force error of the committee mean instead
of its std (hindsight, from the pool's labels): what a perfect uncertainty estimate would
give, so it bounds what any selection by predicted error can gain.

This isolates selection from exploration: the candidates are the test distribution itself.
If uncertainty-driven picks from the true distribution do not beat random ones, no exploration
scheme feeding the same selection will. Needs ../shared/data (rMD17)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/active/pool_selection.py \
        --strategy top --rounds 5 --output /tmp/pool-top
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

STRATEGIES = ("random", "top", "farthest_point", "clusters", "cluster_maxima", "lcmd",
              "max_determinant")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strategy", choices=STRATEGIES, default="top")
    p.add_argument("--score", choices=("std", "error"), default="std",
                   help="rank by the committee's force std, or by its actual force error")
    p.add_argument("--space", choices=("fingerprint", "committee"), default="fingerprint",
                   help="the feature space of the spread-out strategies")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n-initial", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--n-models", type=int, default=4)
    p.add_argument("--n-test", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True)
    args = p.parse_args()

    sys.path.insert(0, str(Path(__file__).parent))
    from ethanol_learning_curve import committee_settings

    from pesforge.active.committee import errors, per_system_max, train_committee
    from pesforge.active.config import CommitteeConfig
    from pesforge.active.select import readout_descriptor, select
    from pesforge.data import keys as K
    from pesforge.data import rmd17
    from pesforge.data.batch import collate
    from pesforge.uncertainty import ensemble_compute

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    pool = rmd17("ethanol", "train")
    test = rmd17("ethanol", "test")[:args.n_test]
    committee = CommitteeConfig.model_validate(committee_settings(argparse.Namespace(
        n_models=args.n_models, epochs=args.epochs, first_epochs=args.epochs, cold=True)))
    rng = np.random.default_rng(args.seed)
    chosen = [int(i) for i in rng.choice(len(pool), args.n_initial, replace=False)]
    curve = []
    for r in range(args.rounds + 1):
        frames = [pool[i] for i in chosen]
        ensemble = train_committee(frames, committee, out / f"round_{r:02d}", seed=args.seed,
                                   first=True)
        mae = errors(ensemble, test)["forces_mae"]
        curve.append({"labels": len(chosen), "forces_mae": mae})
        print(f"{args.strategy}/{args.score}/{args.space} {len(chosen):4d} labels "
              f"{mae * 1e3:7.1f} meV/Å", flush=True)
        (out / "curve.json").write_text(json.dumps({"strategy": args.strategy,
                                                    "score": args.score,
                                                    "space": args.space,
                                                    "curve": curve}, indent=1))
        if r == args.rounds:
            break
        rest = np.setdiff1d(np.arange(len(pool)), chosen)
        if args.strategy == "random":
            picks = rng.choice(rest, args.batch_size, replace=False)
        else:
            batch = collate([pool[i] for i in rest], ensemble.cutoff, dtype=ensemble.dtype)
            pred = ensemble_compute(ensemble, batch)
            score = pred[K.FORCES_STD] if args.score == "std" else \
                (pred[K.FORCES] - batch[K.REF_FORCES]).norm(dim=1)
            per_frame = per_system_max(score.double(), batch[K.SYSTEM], len(rest))  # eV/Å
            describe = readout_descriptor(ensemble) if args.space == "committee" else None
            if args.strategy == "top":
                picks = rest[np.argsort(-per_frame)[:args.batch_size]]
            else:
                picks = rest[select([pool[i] for i in rest], per_frame, threshold=0.0,
                                    batch_size=args.batch_size, cutoff=5.0, labelled=frames,
                                    strategy=args.strategy, seed=[args.seed, r],
                                    describe=describe)]
        chosen += [int(i) for i in picks]


if __name__ == "__main__":
    main()
