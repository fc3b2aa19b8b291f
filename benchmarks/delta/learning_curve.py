"""Δ-learning vs direct learning of coupled-cluster energies of ethanol: a learning curve.

Data: ``pesforge/resources/ethanol_cc_pvdz.xyz`` (made by ``benchmarks/data/make_ethanol_cc.py``):
rMD17 ethanol frames with CCSD(T)/cc-pVDZ and MP2/cc-pVDZ energies (MP2 also forces) beside the
rMD17 PBE/def2-SVP labels. For each training-set size N (frames of the rMD17 train split; 10 %
of them held out for validation) two BPNNs are trained for the same budget:

- direct: on the high-level labels;
- Δ: on high − PBE (``--baseline labels:energy_pbe[,forces_pbe]``), predicting PBE + Δ;

and both are tested against the high level on every labelled frame of the rMD17 test split.
``--target ccsdt`` trains on CCSD(T) energies only (no CCSD(T) forces exist); ``--target mp2``
on MP2 energies and forces.

    python benchmarks/delta/learning_curve.py --target ccsdt --sizes 25,50,100,200 --minutes 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from ase.io import read, write

from pesforge.data.datasets import bundled_path
from pesforge.training import load_config, train

LEVELS = {"ccsdt": "CCSD(T)/cc-pVDZ (PySCF)", "mp2": "MP2/cc-pVDZ (PySCF)"}


def run(kind: str, target: str, train_file: Path, test_file: Path, minutes: float,
        output: Path, seed: int) -> dict:
    forces = target == "mp2"
    overrides = {
        "data.train_file": str(train_file), "data.test_file": str(test_file),
        "data.energy_key": f"energy_{target}",
        # The file has no array named "forces", so CCSD(T) runs see energies only.
        "data.forces_key": "forces_mp2" if forces else "forces",
        "data.level_of_theory": LEVELS[target], "data.validation_fraction": 0.1,
        "max_minutes": minutes, "optimizer.max_epochs": 100000, "seed": seed,
        "optimizer.early_stopping_patience": 200, "optimizer.scheduler.patience": 25,
        "output": str(output),
    }
    if kind == "delta":
        overrides["baseline"] = {"energy_key": "energy_pbe",
                                 **({"forces_key": "forces_pbe"} if forces else {})}
    start = time.perf_counter()
    result = train(load_config(None, overrides), progress=False)
    test = result.metrics["test"]
    return {"kind": kind, "epochs": len(result.history), "seconds": time.perf_counter() - start,
            "energy_mae_meV": test["energy_mae_meV"],
            "force_mae_meV_per_A": test["force_mae_meV_per_A"] if forces else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(LEVELS), default="ccsdt")
    parser.add_argument("--sizes", default="25,50,100,200")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="Also write the rows here.")
    args = parser.parse_args()

    frames = read(args.data or bundled_path("ethanol_cc_pvdz.xyz"), ":")
    pool = [a for a in frames if a.info["rmd17_split"] == "train"]
    test = [a for a in frames if a.info["rmd17_split"] == "test"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        test_file = tmp / "test.xyz"
        write(test_file, test, format="extxyz")
        print(f"target {args.target}: {len(pool)} train-pool frames, {len(test)} test frames, "
              f"{args.minutes} min per model")
        print(f"{'N':>5} {'kind':>6} {'E MAE meV':>10} {'F MAE meV/Å':>12} {'epochs':>7}")
        for n in (int(s) for s in args.sizes.split(",")):
            if n > len(pool):
                print(f"{n:>5}  skipped: only {len(pool)} labelled train frames")
                continue
            train_file = tmp / f"train_{n}.xyz"
            write(train_file, pool[:n], format="extxyz")
            for kind in ("direct", "delta"):
                row = {"n_train": n, "target": args.target,
                       **run(kind, args.target, train_file, test_file, args.minutes,
                             tmp / f"{kind}_{n}", args.seed)}
                rows.append(row)
                f_mae = row["force_mae_meV_per_A"]
                print(f"{n:>5} {kind:>6} {row['energy_mae_meV']:>10.2f} "
                      f"{'-' if f_mae is None else f'{f_mae:.1f}':>12} {row['epochs']:>7}",
                      flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
