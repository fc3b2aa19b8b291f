"""Does removing the frames the audit ranks first improve a model trained on corrupted data?

rMD17 ethanol train_01 (bundled, 1000 frames): ``--n-bad`` frames get corrupted labels (a
third noisy forces, σ = 0.2 eV/Å; a third forces scaled ×2; a third energies shifted ±1 eV).
:func:`pesforge.curation.audit` ranks all frames; the top ``--remove`` are dropped. Three
BPNNs train for the same number of epochs (clean data, corrupted data, audited data; an epoch
budget rather than minutes, so the machine's load cannot favour one of them) and are tested on
all 1000 test_01 frames.

    OMP_NUM_THREADS=1 python benchmarks/curation/removal_effect.py --n-bad 30 --remove 60 \
        --epochs 80
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import numpy as np

import pesforge.models  # noqa: F401  (registers potentials before the curation imports)
from pesforge.curation.audit import audit
from pesforge.data import rmd17
from pesforge.data.writers import write_extxyz as write
from pesforge.training import load_config, train


def corrupt(frames, n_bad: int, seed: int):
    rng = np.random.default_rng(seed)
    bad = rng.choice(len(frames), n_bad, replace=False)
    out = list(frames)
    for j, k in enumerate(bad):
        f = copy.copy(frames[k])
        if j % 3 == 0:
            f.forces = f.forces + rng.normal(scale=0.2, size=f.forces.shape)
        elif j % 3 == 1:
            f.forces = f.forces * 2.0
        else:
            f.energy = f.energy + rng.choice([-1.0, 1.0])
        out[k] = f
    return out, set(int(k) for k in bad)


def fit(frames, test_file: Path, folder: Path, epochs: int) -> dict:
    train_file = folder / "train.xyz"
    write(train_file, frames)
    config = load_config(None, {"data.train_file": str(train_file),
                                "data.test_file": str(test_file), "data.n_validation": 50,
                                "data.energy_key": "REF_energy", "data.forces_key": "REF_forces",
                                "optimizer.max_epochs": epochs,
                                "output": str(folder / "run")})
    result = train(config, progress=False)
    return {"epochs": len(result.history), **result.metrics["test"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-bad", type=int, default=30)
    parser.add_argument("--remove", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arms", default="clean,corrupted,top,flagged",
                        help="which training sets to run (comma-separated)")
    args = parser.parse_args()

    clean = rmd17("ethanol", "train")
    corrupted, bad = corrupt(clean, args.n_bad, args.seed)
    start = time.perf_counter()
    report = audit(corrupted)
    top = report.ranking()[:args.remove]
    found = len(bad & set(top))
    print(f"audit: {time.perf_counter() - start:.0f} s; {found}/{len(bad)} corrupted frames "
          f"among the top {args.remove}, {len(report.flagged())} flagged")
    audited = [f for k, f in enumerate(corrupted) if k not in set(top)]
    flagged = set(report.flagged())
    unflagged = [f for k, f in enumerate(corrupted) if k not in flagged]
    print(f"flagged: {len(bad & flagged)}/{len(bad)} corrupted among {len(flagged)} flagged")
    arms = {"clean": ("clean", clean), "corrupted": ("corrupted", corrupted),
            "top": (f"corrupted - top {args.remove}", audited),
            "flagged": (f"corrupted - {len(flagged)} flagged", unflagged)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        test_file = tmp / "test.xyz"
        write(test_file, rmd17("ethanol", "test"))
        print(f"{'training data':<28} {'frames':>6} {'E MAE meV':>10} {'F MAE meV/Å':>12} "
              f"{'epochs':>7}")
        for k, (name, frames) in enumerate(arms[a] for a in args.arms.split(",")):
            folder = tmp / f"run{k}"
            folder.mkdir()
            m = fit(frames, test_file, folder, args.epochs)
            print(f"{name:<28} {len(frames):>6} {m['energy_mae_meV']:>10.2f} "
                  f"{m['force_mae_meV_per_A']:>12.2f} {m['epochs']:>7}", flush=True)


if __name__ == "__main__":
    main()
