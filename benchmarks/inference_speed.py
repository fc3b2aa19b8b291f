"""Inference speed of a BPNN: ms per energy+forces call and how it scales with system size.

Usage: python benchmarks/inference_speed.py [--threads 2] [--sizes 5,7,10,15,22] [--repeats 5]
    [--compile]

Prints, for aspirin (21 atoms, rMD17 geometry when ../shared/data is present, else ASE's) and
liquid-density ethanol boxes of 1125 to 95832 atoms: the median wall time of one energy+forces
evaluation (neighbour list included, as in an MD step without a skin), atom-steps/s, and the
median CPU time of the process per call.
Weights are random: speed does not depend on their values. ``--compile`` times the compiled
inference path (``BPNN.compile_for_inference``); the untimed first call compiles. The process
tunes glibc malloc as the pesforge CLI does (:func:`pesforge.runtime.tune_allocator`) unless
``--no-allocator-tuning``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from systems import aspirin, ethanol_box  # noqa: E402

from pesforge.data.batch import collate  # noqa: E402
from pesforge.data.frame import Frame  # noqa: E402
from pesforge.models import BPNN, compute  # noqa: E402
from pesforge.runtime import tune_allocator  # noqa: E402


def time_call(model, atoms, repeats: int) -> tuple[float, float]:
    """Median (wall, process CPU) seconds of neighbour list + batch + energy + forces.

    The CPU time (all threads of this process) is the steadier figure on a shared machine:
    it does not count time the process waits for a core (it does count OpenMP spin-waits,
    unless OMP_WAIT_POLICY=PASSIVE)."""
    frame = Frame.from_atoms(atoms)
    walls, cpus = [], []
    for _ in range(repeats + 1):
        start, cpu = time.perf_counter(), time.process_time()
        batch = collate([frame], model.cutoff, dtype=model.dtype)
        compute(model, batch, forces=True)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls[1:]), statistics.median(cpus[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", default="5,7,10,15,22",
                        help="ethanol molecules per box side (5 -> 1125 atoms, 22 -> 95832)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-aspirin", action="store_true", help="skip the aspirin timing")
    parser.add_argument("--compile", action="store_true",
                        help="the compiled inference path (BPNN.compile_for_inference)")
    parser.add_argument("--no-allocator-tuning", action="store_true",
                        help="leave glibc malloc as it is (see pesforge.runtime)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tuned = not args.no_allocator_tuning and tune_allocator()
    model = BPNN([1, 6, 8]).float().eval()
    if args.compile:
        model.compile_for_inference()
    print(f"BPNN default: {model.descriptor.n_features} features, hidden {model.hidden}, "
          f"cutoff {model.cutoff} Å (angular {model.descriptor.parameters_.angular_cutoff} Å), "
          f"float32, {args.threads} threads{', compiled' if args.compile else ''}"
          f"{', allocator tuned' if tuned else ''}")
    if not args.no_aspirin:
        mol = aspirin()
        t, cpu = time_call(model, mol, max(args.repeats, 20))
        print(f"aspirin ({len(mol)} atoms): {t * 1e3:.2f} ms per energy+forces call "
              f"({cpu * 1e3:.2f} ms CPU)")
    print(f"{'atoms':>8} {'ms/call':>10} {'atom-steps/s':>14} {'us/atom':>9} {'cpu ms/call':>12}")
    rows = []
    for per_side in (int(s) for s in args.sizes.split(",")):
        box = ethanol_box(per_side)
        t, cpu = time_call(model, box, args.repeats)
        rows.append((len(box), t))
        print(f"{len(box):>8} {t * 1e3:>10.1f} {len(box) / t:>14.0f} {t / len(box) * 1e6:>9.2f} "
              f"{cpu * 1e3:>12.1f}", flush=True)
    if len(rows) >= 2:
        n, t = np.array(rows).T
        slope = np.polyfit(np.log(n), np.log(t), 1)[0]
        print(f"log-log slope of time vs atoms: {slope:.3f} (1 = linear)")


if __name__ == "__main__":
    main()
