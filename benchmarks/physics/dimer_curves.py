"""Dimer curves of every element pair of rMD17 ethanol (H, C, O) from 0.3 Å outwards, for a
BPNN trained on the bundled ethanol split with and without the ZBL repulsion prior, and the
plain BPNN blended into ZBL below the data's shortest pair distances (``core``, the
:class:`~pesforge.physics.CoreRepulsion` wrapper; no retraining, it is the identity on data).

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/physics/dimer_curves.py --minutes 4
    # --load reuses the two trained models an earlier run saved in --output

Prints the test errors of both models and, per pair, E(r) - E(6 Å) at a few distances and
whether the curve rises monotonically as r decreases below 0.8 Å.
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

PAIRS = ((1, 1), (1, 6), (1, 8), (6, 6), (6, 8), (8, 8))
SYMBOL = {1: "H", 6: "C", 8: "O"}


def curve(model, pair, distances):
    """Energies (eV) of the dimer at each distance, relative to 6 Å."""
    from ase import Atoms

    from pesforge.data import keys as K
    from pesforge.data.batch import collate
    from pesforge.data.frame import Frame
    from pesforge.models import compute

    frames = [Frame.from_atoms(Atoms(numbers=pair, positions=[[0, 0, 0], [r, 0, 0]]))
              for r in list(distances) + [6.0]]
    batch = collate(frames, model.cutoff, dtype=model.dtype)
    energy = compute(model, batch, forces=False)[K.ENERGY].numpy()
    return energy[:-1] - energy[-1]


def report(arm, model, test_frames, distances, evaluate):
    """Print ``arm``'s test errors; return its dimer curves per pair."""
    metrics = evaluate(model, test_frames)
    print(f"{arm}: test energy MAE {metrics['energy_mae_meV']:.1f} meV, forces MAE "
          f"{metrics['force_mae_meV_per_A']:.1f} meV/Å (200 test frames)", flush=True)
    return {pair: curve(model, pair, distances) for pair in PAIRS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=4.0)
    parser.add_argument("--output", default="/tmp/pesforge-bench-physics/dimers")
    parser.add_argument("--load", action="store_true",
                        help="reuse the models an earlier run saved in --output")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from pesforge.data.datasets import rmd17
    from pesforge.models import load_model, save_model
    from pesforge.physics import ZBL, CoreRepulsion
    from pesforge.physics.zbl import pair_radii_from_frames
    from pesforge.training.metrics import evaluate

    train_frames, test_frames = rmd17("ethanol", "train"), rmd17("ethanol", "test")
    test_frames = test_frames[:200]
    distances = np.round(np.arange(0.30, 4.001, 0.01), 3)
    results = {}
    for arm, terms in (("BPNN", []), ("ZBL+BPNN", [ZBL(elements=[1, 6, 8])])):
        start = time.time()
        saved = Path(args.output) / f"{arm.replace('+', '_')}.safetensors"
        if args.load and saved.exists():
            model = load_model(saved)
        else:
            model, result = train_bpnn(train_frames, test_frames, terms,
                                       Path(args.output) / arm.replace("+", "_"), args.minutes)
            save_model(model, saved)
            print(f"{arm}: trained {time.time() - start:.0f} s, {len(result.history)} epochs")
        results[arm] = report(arm, model.eval(), test_frames, distances, evaluate)
        if arm == "BPNN":  # the same network blended into ZBL below the data (no retraining)
            radii = pair_radii_from_frames(train_frames, 0.95)
            print("core-repulsion radii (0.95 x shortest training distance, Å):", radii)
            core = CoreRepulsion(model, ZBL(elements=[1, 6, 8], pair_radii=radii))
            results["core"] = report("core", core.to(model.dtype), test_frames, distances,
                                     evaluate)

    probe = [0.3, 0.5, 0.8, 1.0, 1.5]
    idx = [int(np.argmin(np.abs(distances - p))) for p in probe]
    below = distances <= 0.8
    print("\nE(r) - E(6 Å) in eV; 'mono' = energy strictly rises as r decreases for r <= 0.8 Å")
    print(f"{'pair':5s} {'model':9s} " + " ".join(f"{p:>9.2f}" for p in probe)
          + "  mono  min_E(r)@r")
    for pair in PAIRS:
        for arm in results:
            e = results[arm][pair]
            mono = bool(np.all(np.diff(e[below]) < 0))  # rises as r decreases
            k = int(np.argmin(e))
            name = SYMBOL[pair[0]] + "-" + SYMBOL[pair[1]]
            print(f"{name:5s} {arm:9s} " + " ".join(f"{e[i]:9.3f}" for i in idx)
                  + f"  {str(mono):5s} {e[k]:8.3f}@{distances[k]:.2f}")


if __name__ == "__main__":
    main()
