"""Calibration of a deep ensemble of BPNNs on rMD17 ethanol (bundled split 01).

Usage:
    python benchmarks/uncertainty/ethanol_calibration.py [--members 4] [--minutes 6]
        [--threads 1] [--out benchmarks/results/uncertainty] [--resume] [--parallel]

``--parallel`` trains the members in separate processes at the same time (one thread each;
``train_ensemble(..., members=[k])``), then assembles the ensemble.

Each member is a BPNN trained through :func:`pesforge.uncertainty.train_ensemble` (the library
call behind it) on the bundled ethanol train_01 file split 950/50 (one split shared by all
members, seeds 0..N-1), for at most ``--minutes`` of wall time. The std scale factors are fitted
on the 50 validation frames. On all 1000 test_01 frames the script prints, before and after
recalibration: Spearman rank correlation per frame of the ensemble energy std vs |energy error|,
of the frame's RMS force std vs its RMS force error, and of its max per-atom force deviation vs
its max per-atom force-error norm; per-atom Spearman; Gaussian NLL and miscalibration area of
energies and force components; and the members' and the mean's errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=6.0, help="per member")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/uncertainty")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--bootstrap", action="store_true")
    parser.add_argument("--parallel", action="store_true")
    parser.add_argument("--member", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from pesforge.data.datasets import bundled_path, rmd17
    from pesforge.training import TrainConfig
    from pesforge.training.metrics import metrics_from_predictions, predict
    from pesforge.uncertainty import calibration_metrics, ensemble_predict, train_ensemble

    out = Path(args.out) / "ethanol_ensemble"
    config = TrainConfig.model_validate({
        "data": {"train_file": str(bundled_path("rmd17_ethanol_train_01.npz")),
                 "n_validation": 50},
        "model": {"name": "bpnn", "hidden": [128, 64]},
        "loss": {"energy_weight": 1.0, "forces_weight": 100.0},
        "optimizer": {"lr": 1e-3, "batch_size": 16, "max_epochs": 100000,
                      "early_stopping_patience": 1000, "scheduler": {"patience": 25}},
        "max_minutes": args.minutes, "seed": 0, "output": str(out),
    })
    start = time.perf_counter()
    if args.member is not None:  # one member, in a process of its own (--parallel)
        train_ensemble(config, args.members, bootstrap=args.bootstrap, members=[args.member],
                       progress=False)
        return
    if args.parallel:
        import subprocess
        import sys

        base = [sys.executable, __file__, "--members", str(args.members), "--minutes",
                str(args.minutes), "--threads", str(args.threads), "--out", args.out]
        base += ["--bootstrap"] if args.bootstrap else []
        jobs = [subprocess.Popen(base + ["--member", str(k)]) for k in range(args.members)]
        if any(job.wait() for job in jobs):
            sys.exit("a member failed")
    result = train_ensemble(config, args.members, bootstrap=args.bootstrap,
                            resume=args.resume or args.parallel, progress=False)
    train_minutes = (time.perf_counter() - start) / 60
    ensemble = result.ensemble
    s_e, s_f = result.scales
    test = rmd17("ethanol", "test")
    after = ensemble_predict(ensemble, test)
    before = dataclasses.replace(after, energy_std=after.energy_std / s_e,
                                 forces_std=after.forces_std / s_f)
    members = [metrics_from_predictions(predict(m, test)) for m in ensemble.members]
    report = {
        "members": args.members, "minutes_per_member": args.minutes, "threads": args.threads,
        "train_minutes_total": train_minutes, "scales": {"energy": s_e, "forces": s_f},
        "mean_metrics": metrics_from_predictions(after),
        "member_metrics": members,
        "before": calibration_metrics(before), "after": calibration_metrics(after),
        "epochs": [json.loads((p / "resolved.json").read_text())["training"]["epochs"]
                   for p in result.member_outputs],
    }
    (out / "benchmark.json").write_text(json.dumps(report, indent=2))
    _print(report)


def _print(r: dict) -> None:
    m = r["mean_metrics"]
    print(f"ensemble of {r['members']} BPNNs, <= {r['minutes_per_member']} min each on "
          f"{r['threads']} thread(s) (epochs {r['epochs']}); "
          f"total {r['train_minutes_total']:.1f} min")
    print(f"recalibration factors (fitted on 50 validation frames): energy "
          f"{r['scales']['energy']:.3f}, forces {r['scales']['forces']:.3f}")
    print(f"test (1000 frames) ensemble mean: energy MAE {m['energy_mae_meV']:.2f} meV, "
          f"force MAE {m['force_mae_meV_per_A']:.2f} meV/Å")
    fm = [x["force_mae_meV_per_A"] for x in r["member_metrics"]]
    em = [x["energy_mae_meV"] for x in r["member_metrics"]]
    print(f"members: energy MAE {np.round(em, 2).tolist()} meV, force MAE "
          f"{np.round(fm, 2).tolist()} meV/Å")
    print("| figure | before | after |")
    print("|---|---|---|")
    rows = [("Spearman per frame: energy std vs abs(error)", "energy", "spearman"),
            ("Spearman per frame: RMS force std vs RMS force error", "forces_per_frame",
             "spearman_rms"),
            ("Spearman per frame: max atom force std vs max error", "forces_per_frame",
             "spearman_max"),
            ("Spearman per atom: force std vs error norm", "forces_per_atom", "spearman"),
            ("energy miscalibration area", "energy", "miscalibration_area"),
            ("force miscalibration area", "forces", "miscalibration_area"),
            ("energy NLL (meV units)", "energy", "nll"),
            ("force NLL (meV/Å units)", "forces", "nll"),
            ("energy RMSE / RMS std", "energy", "ratio"),
            ("force RMSE / RMS std", "forces", "ratio")]
    for label, group, key in rows:
        values = []
        for when in ("before", "after"):
            g = r[when][group]
            values.append(g["rmse"] / g["rms_std"] if key == "ratio" else g[key])
        print(f"| {label} | {values[0]:.3f} | {values[1]:.3f} |")


if __name__ == "__main__":
    main()
