"""Detection recall / precision of corrupted labels by `pesforge.curation.audit` machinery.

For each molecule the descriptors are computed once (corruption changes labels only); then for
each corruption kind and size, ``--n-bad`` random frames are corrupted and the audit ranking is
scored: recall@k = fraction of corrupted frames among the top k = n_bad * 2 (precision@k is
then recall * n_bad / k), and recall / precision of the frames the audit *flags*.

Kinds: forces scaled by a factor; Gaussian noise on forces (eV/Å); energy shifted (eV);
forces of one atom replaced by those of another frame ("swap").

    OMP_NUM_THREADS=1 nice python benchmarks/curation/detection.py --molecules ethanol aspirin
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

import pesforge.models  # noqa: F401
from pesforge.curation.audit import INVARIANCE_TOLERANCE
from pesforge.curation.descriptors import describe_frames
from pesforge.curation.outliers import leave_one_out
from pesforge.curation.physics import invariance_violations
from pesforge.data import rmd17

KINDS = {"scale": [1.2, 1.5, 2.0], "noise": [0.02, 0.05, 0.2], "energy": [0.05, 0.2, 1.0]}


def corrupt(frames, kind, size, bad, rng):
    out = list(frames)
    for k in bad:
        f = copy.copy(frames[k])
        if kind == "scale":
            f.forces = f.forces * size
        elif kind == "noise":
            f.forces = f.forces + rng.normal(scale=size, size=f.forces.shape)
        elif kind == "energy":
            f.energy = f.energy + size * rng.choice([-1, 1])
        out[k] = f
    return out


def ranking(frames, desc, z_threshold=5.0):
    table = leave_one_out(desc, frames)
    violation = invariance_violations(frames)
    hard = violation > INVARIANCE_TOLERANCE
    order = np.lexsort((-table.score, ~hard))
    flagged = hard | (table.z_energy > z_threshold) | (table.z_forces > z_threshold)
    return order, flagged


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--molecules", nargs="+", default=["ethanol", "aspirin"])
    parser.add_argument("--n-frames", type=int, default=1000)
    parser.add_argument("--n-bad", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print("molecule kind size | recall@2k precision@2k | flagged: recall precision | seconds")
    for molecule in args.molecules:
        root = None if molecule == "ethanol" else "/work/shared/data/rmd17"
        frames = rmd17(molecule, root=root, index=f"0:{args.n_frames}")
        start = time.perf_counter()
        desc = describe_frames(frames)
        print(f"# {molecule}: {len(frames)} frames, descriptors {desc.summed.shape[1]} "
              f"features, {time.perf_counter() - start:.0f} s", flush=True)
        for kind, sizes in KINDS.items():
            for size in sizes:
                rec, prec, frec, fprec, secs = [], [], [], [], []
                for rep in range(args.repeats):
                    rng = np.random.default_rng(rep)
                    bad = set(rng.choice(len(frames), args.n_bad, replace=False).tolist())
                    t = time.perf_counter()
                    order, flagged = ranking(corrupt(frames, kind, size, bad, rng), desc)
                    secs.append(time.perf_counter() - t)
                    k = 2 * args.n_bad
                    hits = len(bad & set(order[:k].tolist()))
                    rec.append(hits / args.n_bad)
                    prec.append(hits / k)
                    f = set(np.flatnonzero(flagged).tolist())
                    frec.append(len(bad & f) / args.n_bad)
                    fprec.append(len(bad & f) / max(len(f), 1))
                print(f"{molecule} {kind} {size} | {np.mean(rec):.2f} {np.mean(prec):.2f} | "
                      f"{np.mean(frec):.2f} {np.mean(fprec):.2f} | {np.mean(secs):.0f}",
                      flush=True)


if __name__ == "__main__":
    main()
