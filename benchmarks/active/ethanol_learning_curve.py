"""Active learning vs random selection on rMD17 ethanol: force MAE on test_01 vs oracle calls.

Active learning starts from ONE ethanol geometry (the first rMD17 train frame) and labels with
the PySCF ``rmd17`` preset (RKS PBE/def2-SVP, RI-J; the rMD17 level of theory). The baseline
trains the same committee (cold start) on random subsets of the same sizes of the rMD17
ethanol training frames, which are an MD trajectory at that level, so it needs no oracle call.
Both are scored by the committee-mean force MAE on rMD17 ethanol test_01.

Full run (about 70 min of PySCF on 2 cores; run it in the background)::

    OMP_WAIT_POLICY=passive .venv/bin/python benchmarks/active/ethanol_learning_curve.py \
        --max-calls 200 --output /tmp/al-ethanol

Smoke runs: ``--oracle tblite`` (GFN2-xTB; the test frames and the random subsets are then
relabelled with GFN2-xTB so both curves are at one level of theory) or ``--max-calls 5``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--oracle", choices=["pyscf", "tblite"], default="pyscf")
    p.add_argument("--max-calls", type=int, default=200)
    p.add_argument("--n-initial", type=int, default=4, help="first round: the geometry and "
                   "rattled copies")
    p.add_argument("--batch-size", type=int, default=16, help="oracle calls per iteration")
    p.add_argument("--n-models", type=int, default=4)
    p.add_argument("--epochs", type=int, default=150, help="epochs per warm-started round")
    p.add_argument("--first-epochs", type=int, default=300)
    p.add_argument("--n-test", type=int, default=1000, help="test_01 frames scored")
    p.add_argument("--workers", type=int, default=1, help="Dask workers for labelling")
    p.add_argument("--steps", type=int, default=400, help="MD steps per trajectory")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default="al-ethanol")
    return p.parse_args()


def committee_settings(args) -> dict:
    return {"n_models": args.n_models, "max_epochs": args.epochs,
            "first_max_epochs": args.first_epochs, "n_validation": 2,
            "model": {"cutoff": 5.0, "n_radial": 12, "n_angular_shells": 3,
                      "hidden": [64, 64], "dtype": "float64"},
            "optimizer": {"batch_size": 8, "lr": 3e-3, "early_stopping_patience": 60}}


def relabel(frames, oracle):
    return [oracle.label(f) for f in frames]


def main() -> None:
    from ase.io import write

    from pesforge.active import ActiveLearningConfig, run_active_learning
    from pesforge.active.committee import errors, train_committee
    from pesforge.active.config import CommitteeConfig
    from pesforge.data import rmd17
    from pesforge.data.writers import write_extxyz
    from pesforge.oracles import TBLiteOracle

    args = parse()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    train = rmd17("ethanol", "train")
    test = rmd17("ethanol", "test")[:args.n_test]
    if args.oracle == "tblite":  # one level of theory for every curve
        test = relabel(test, TBLiteOracle())
    write_extxyz(out / "test.xyz", test, prefix="")
    write(out / "start.xyz", train[0].to_atoms())
    oracle = ({"kind": "pyscf", "preset": "rmd17"} if args.oracle == "pyscf"
              else {"kind": "tblite"})
    config = ActiveLearningConfig.model_validate({
        "initial": str(out / "start.xyz"), "oracle": oracle, "output": str(out / "active"),
        "n_initial": args.n_initial, "rattle": 0.03, "test_file": str(out / "test.xyz"),
        "seed": args.seed, "committee": committee_settings(args),
        "explore": {"temperatures": [300.0, 600.0, 1000.0], "n_steps": args.steps,
                    "timestep": 0.5, "sample_every": 10, "uncertainty_ceiling": 2.0,
                    "n_starts": 2},
        "select": {"threshold": 0.02, "batch_size": args.batch_size},
        "labeling": {"cluster": "serial" if args.workers == 1 else "local",
                     "n_workers": args.workers},
        "stop": {"max_oracle_calls": args.max_calls, "max_iterations": 100,
                 "target_uncertainty": 0.0}})
    tick = time.perf_counter()
    result = run_active_learning(config, resume=(out / "active" / "store.db").exists())
    al_seconds = time.perf_counter() - tick
    curve = [(r["oracle_calls"]["done"] + r["oracle_calls"]["failed"], r["n_labelled"],
              r["test"]["forces_mae"]) for r in result.reports if "test" in r]

    rows = []
    committee = CommitteeConfig.model_validate(committee_settings(args))
    for calls, n, al_mae in curve:
        pick = np.random.default_rng([args.seed, n]).choice(len(train), n, replace=False)
        frames = [train[i] for i in sorted(pick)]
        if args.oracle == "tblite":
            frames = relabel(frames, TBLiteOracle())
        folder = out / f"random_{n:04d}"
        ensemble = train_committee(frames, committee, folder, seed=args.seed, first=True)
        rand_mae = errors(ensemble, test)["forces_mae"]
        rows.append({"oracle_calls": calls, "labels": n, "active_forces_mae": al_mae,
                     "random_forces_mae": rand_mae})
        print(f"{calls:5d} calls {n:5d} labels  active {al_mae * 1e3:8.1f} meV/Å   "
              f"random {rand_mae * 1e3:8.1f} meV/Å", flush=True)
    summary = {"oracle": args.oracle, "stop_reason": result.stop_reason,
               "active_seconds": al_seconds, "counts": result.counts, "curve": rows}
    (out / "learning_curve.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "curve"}))


if __name__ == "__main__":
    main()
