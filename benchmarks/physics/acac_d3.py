"""Acetylacetone (PBE+D3(BJ) labels): a BPNN trained on ``train_300K.xyz`` with and without the
explicit D3 term, tested on ``test_MD_300K.xyz`` (same temperature) and ``train_600K.xyz``
(extrapolation to hotter, more distorted geometries), with errors binned by the OCCO-type
dihedral angle stored in each frame.

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/physics/acac_d3.py --minutes 6

With D3 the network learns the labels minus D3(PBE, BJ) (``pesforge.physics.subtract_d3``)
and the deployed model is ``D3("pbe") + BPNN``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))

from common import train_bpnn  # noqa: E402

DATA = Path("/work/shared/data/acac")


def errors(model, frames):
    """Per-frame |energy error| (meV) and force MAE (meV/Å)."""
    from pesforge.training.metrics import predict

    p = predict(model, frames)
    e = np.abs(p.energy_pred - p.energy_ref) * 1e3
    counts = np.cumsum([0] + [len(f) for f in frames])
    ferr = np.abs(p.forces_pred - p.forces_ref) * 1e3
    f = np.array([ferr[a:b].mean() for a, b in zip(counts[:-1], counts[1:])])
    return e, f


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--epochs", type=int, default=None,
                        help="train each arm for this many epochs instead of --minutes")
    parser.add_argument("--output", default="/tmp/pesforge-bench-physics/acac")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from pesforge.data.readers import read
    from pesforge.models import save_model
    from pesforge.physics import D3
    from pesforge.physics.dispersion import d3_system

    train = read(DATA / "train_300K.xyz")
    tests = {"test_MD_300K": read(DATA / "test_MD_300K.xyz"),
             "train_600K": read(DATA / "train_600K.xyz")}
    d3 = np.array([d3_system(f.numbers, f.positions, f.cell, f.pbc, "pbe", grad=False)["energy"]
                   for f in train])
    print(f"D3(PBE,BJ) energy on train_300K: mean {d3.mean():.4f} eV, std "
          f"{1e3 * d3.std():.1f} meV, range {1e3 * np.ptp(d3):.1f} meV", flush=True)
    # The test frames' labels are used only for errors; the residual copy is for training.
    out = {}
    for arm, terms in (("BPNN", []), ("D3+BPNN", [D3("pbe")])):
        start = time.time()
        model, result = train_bpnn(train, tests["test_MD_300K"][:50], terms,
                                   Path(args.output) / arm.replace("+", "_"),
                                   None if args.epochs else args.minutes,
                                   epochs=args.epochs or 10000)
        model = model.eval()
        save_model(model, Path(args.output) / f"{arm.replace('+', '_')}.safetensors")
        print(f"{arm}: trained {time.time() - start:.0f} s, {len(result.history)} epochs",
              flush=True)
        out[arm] = {name: errors(model, frames) for name, frames in tests.items()}

    for name, frames in tests.items():
        raw = np.array([float(f.info.get("dihedral_angle", np.nan)) for f in frames])
        dihedral = np.abs((raw + 180.0) % 360.0 - 180.0)  # distance from 0 deg, in [0, 180]
        edges = np.quantile(dihedral, [0, 1 / 3, 2 / 3, 1])
        print(f"\n{name} ({len(frames)} frames; |dihedral| terciles "
              f"{', '.join(f'{x:.1f}' for x in edges)} deg)")
        print(f"{'model':9s} {'E MAE meV':>10s} {'F MAE meV/Å':>12s}   E MAE per dihedral tercile")
        for arm, res in out.items():
            e, f = res[name]
            bins = [e[(dihedral >= lo) & (dihedral <= hi)].mean()
                    for lo, hi in zip(edges[:-1], edges[1:])]
            print(f"{arm:9s} {e.mean():10.1f} {f.mean():12.1f}   "
                  + " / ".join(f"{b:.1f}" for b in bins))


if __name__ == "__main__":
    main()
