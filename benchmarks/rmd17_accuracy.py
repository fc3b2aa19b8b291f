"""rMD17 accuracy benchmark: train a BPNN per molecule on split 01 and test on all 1000 frames.

Usage:
    python benchmarks/rmd17_accuracy.py ethanol [--minutes 30] [--threads 2] [--out DIR]

Split 01 of revised MD17 (Christensen & von Lilienfeld 2020): the 1000 training frames are
divided 950/50 into training and validation (seeded), the model is trained for at most
``--minutes`` of wall time through :func:`pesforge.training.train` (the library behind
``pesforge train``), and the best-validation EMA model is evaluated on the 1000 test frames.
Reads ``../shared/data/rmd17`` (or ``$PESFORGE_RMD17``); says so and stops if it is missing.
Prints energy and force MAE/RMSE; published ANI row for reference (force MAE, meV/Å):
ethanol 13.4, aspirin 40.6.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ANI_FORCE_MAE = {"ethanol": 13.4, "aspirin": 40.6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("molecule")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", default="128,64")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--forces-weight", type=float, default=100.0)
    parser.add_argument("--zetas", default=None,
                        help="angular exponents, e.g. 1,4,16 (default: the model's)")
    parser.add_argument("--patience", type=int, default=25,
                        help="epochs without validation improvement before the lr halves")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from pesforge.data.datasets import rmd17_root
    from pesforge.training import TrainConfig, evaluate, train
    from pesforge.data import read

    try:
        root = Path(rmd17_root(None))
    except FileNotFoundError as err:
        sys.exit(f"rMD17 data missing: {err}")
    train_file = root / f"rmd17_{args.molecule}_train_01.npz"
    test_file = root / f"rmd17_{args.molecule}_test_01.npz"
    out = Path(args.out) / f"rmd17_{args.molecule}"
    config = TrainConfig.model_validate({
        "data": {"train_file": str(train_file), "n_validation": 50},
        "model": {"name": "bpnn", "hidden": [int(h) for h in args.hidden.split(",")],
                  **({"zetas": [float(z) for z in args.zetas.split(",")]} if args.zetas else {})},
        "loss": {"energy_weight": 1.0, "forces_weight": args.forces_weight},
        "optimizer": {"lr": args.lr, "batch_size": args.batch_size, "max_epochs": 100000,
                      "early_stopping_patience": 1000,
                      "scheduler": {"patience": args.patience}},
        "max_minutes": args.minutes, "seed": args.seed, "output": str(out),
    })
    start = time.perf_counter()
    result = train(config, progress=False)
    train_s = time.perf_counter() - start
    metrics = evaluate(result.model, read(test_file))
    metrics.update({"molecule": args.molecule, "train_minutes": train_s / 60,
                    "threads": args.threads, "config": config.model_dump(mode="json"),
                    "ani_force_mae_meV_per_A": ANI_FORCE_MAE.get(args.molecule)})
    (out / "benchmark.json").write_text(json.dumps(metrics, indent=2))
    print(f"{args.molecule}: trained {train_s / 60:.1f} min on {args.threads} thread(s); "
          f"test ({metrics['n_frames']} frames): energy MAE {metrics['energy_mae_meV']:.2f} meV "
          f"(RMSE {metrics['energy_rmse_meV']:.2f}), force MAE "
          f"{metrics['force_mae_meV_per_A']:.2f} meV/Å (RMSE "
          f"{metrics['force_rmse_meV_per_A']:.2f}); ANI: {ANI_FORCE_MAE.get(args.molecule)} meV/Å")


if __name__ == "__main__":
    main()
