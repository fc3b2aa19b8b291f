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
    p.add_argument("--cold", action="store_true", help="train every round's committee from "
                   "scratch for --first-epochs (committee.warm_start: false), as the random "
                   "baseline is trained")
    p.add_argument("--n-test", type=int, default=1000, help="test_01 frames scored")
    p.add_argument("--workers", type=int, default=1, help="Dask workers for labelling")
    p.add_argument("--driver", choices=["committee", "tblite"], default="committee",
                   help="what drives the exploration MD (explore.driver): the committee, or "
                        "GFN2-xTB with the committee only scoring the sampled frames")
    p.add_argument("--steps", type=int, default=400, help="MD steps per trajectory")
    p.add_argument("--starts", type=int, default=2, help="trajectories per temperature and "
                   "round: the first geometry and the most recently labelled frames")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strategy", choices=["farthest_point", "clusters", "cluster_maxima",
                                          "lcmd", "max_determinant"],
                   default="farthest_point", help="how a batch is spread (select.strategy)")
    p.add_argument("--space", choices=["fingerprint", "committee"], default="fingerprint",
                   help="the feature space of the batch (select.space)")
    p.add_argument("--output", default="al-ethanol")
    p.add_argument("--part", choices=["both", "active", "random"], default="both",
                   help="run the two curves in separate processes (they share --output)")
    p.add_argument("--random-sizes", type=int, nargs="*", default=None,
                   help="random-subset sizes (default: the active curve's label counts); "
                   "sizes beyond the active budget show how many random labels match it")
    p.add_argument("--random-epochs", type=int, default=500,
                   help="epochs for each cold-started random-subset committee")
    p.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 500.0, 800.0])
    return p.parse_args()


def committee_settings(args) -> dict:
    cold = getattr(args, "cold", False)
    return {"n_models": args.n_models, "warm_start": not cold,
            "max_epochs": args.first_epochs if cold else args.epochs,
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
        "explore": {"temperatures": args.temperatures, "n_steps": args.steps,
                    "timestep": 0.5, "sample_every": 10, "uncertainty_ceiling": 2.0,
                    "n_starts": args.starts,
                    "driver": {"kind": "tblite"} if args.driver == "tblite" else None},
        "select": {"threshold": 0.02, "batch_size": args.batch_size,
                   "strategy": args.strategy, "space": args.space},
        "labeling": {"cluster": "serial" if args.workers == 1 else "local",
                     "n_workers": args.workers},
        "stop": {"max_oracle_calls": args.max_calls, "max_iterations": 100,
                 "target_uncertainty": 0.0}})
    summary = {"oracle": args.oracle}
    if args.part in ("both", "active"):
        tick = time.perf_counter()
        result = run_active_learning(config, resume=(out / "active" / "store.db").exists())
        summary.update(stop_reason=result.stop_reason, counts=result.counts,
                       active_seconds=time.perf_counter() - tick)
        summary["active"] = [{"oracle_calls": r["oracle_calls"]["done"]
                              + r["oracle_calls"]["failed"], "labels": r["n_labelled"],
                              "forces_mae": r["test"]["forces_mae"]}
                             for r in result.reports if "test" in r]
        for row in summary["active"]:
            print(f"active {row['oracle_calls']:5d} calls {row['labels']:5d} labels "
                  f"{row['forces_mae'] * 1e3:8.1f} meV/Å", flush=True)
        (out / "active_curve.json").write_text(json.dumps(summary, indent=2))
    if args.part in ("both", "random"):
        sizes = args.random_sizes or [row["labels"] for row in summary["active"]]
        committee = CommitteeConfig.model_validate(
            {**committee_settings(args), "first_max_epochs": args.random_epochs})
        summary["random"] = []
        for n in sizes:
            pick = np.random.default_rng([args.seed, n]).choice(len(train), n, replace=False)
            frames = [train[i] for i in sorted(pick)]
            if args.oracle == "tblite":
                frames = relabel(frames, TBLiteOracle())
            ensemble = train_committee(frames, committee, out / f"random_{n:04d}",
                                       seed=args.seed, first=True)
            mae = errors(ensemble, test)["forces_mae"]
            summary["random"].append({"labels": n, "forces_mae": mae})
            print(f"random {n:5d} labels {mae * 1e3:8.1f} meV/Å", flush=True)
            (out / "random_curve.json").write_text(json.dumps(summary["random"], indent=2))
    print(json.dumps({k: v for k, v in summary.items()}, indent=1))


if __name__ == "__main__":
    main()
