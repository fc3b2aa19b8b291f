"""TorchANI side by side: the ANI-2x architecture (one network, cell list) on the same boxes.

Run in the separate environment made by ``benchmarks/setup_torchani_env.sh``:

    benchmarks/.venv-torchani/bin/python benchmarks/torchani_speed.py [--threads 2]

Weights are random (ANI-2x's trained weights are downloaded at run time, which this machine
cannot do); speed does not depend on their values. Prints the median ms per energy+forces call
(neighbour list included), atom-steps/s and the median CPU ms of the process per call for the
liquid-density ethanol boxes of ``benchmarks/systems.py``, the same systems
``inference_speed.py`` uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TORCHANI_NO_WARN_EXTENSIONS", "1")

import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from systems import ethanol_box  # noqa: E402


def ani2x_architecture(neighborlist: str):
    """ANI-2x's AEV (radial 16 shells / 5.1 Å, angular 4x8 / 3.5 Å), its per-element networks
    (7 elements) and cosine cutoff, assembled as a single model (no ensemble)."""
    from torchani.arch import Assembler
    from torchani.models import SYMBOLS_2X

    asm = Assembler(periodic_table_index=True)
    asm.set_symbols(SYMBOLS_2X)
    asm.set_global_cutoff_fn("cosine")
    asm.set_aev_computer(radial="ani2x", angular="ani2x", strategy="pyaev")
    asm.set_atomic_networks(ctor="ani2x")
    asm.set_neighborlist(neighborlist)
    asm.set_gsaes_as_self_energies("wb97x-631gd")
    return asm.assemble(1)


def time_call(model, atoms, repeats: int) -> float:
    species = torch.tensor(atoms.numbers, dtype=torch.long).unsqueeze(0)
    cell = torch.tensor(atoms.cell.array, dtype=torch.float32)
    pbc = torch.tensor(atoms.pbc.tolist(), dtype=torch.bool)
    walls, cpus = [], []
    for _ in range(repeats + 1):
        start, cpu = time.perf_counter(), time.process_time()
        coordinates = torch.tensor(atoms.positions, dtype=torch.float32).unsqueeze(0)
        coordinates.requires_grad_(True)
        energy = model((species, coordinates), cell=cell, pbc=pbc).energies
        (-torch.autograd.grad(energy.sum(), coordinates)[0])
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls[1:]), statistics.median(cpus[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--neighborlist", default="cell_list")
    parser.add_argument("--sizes", default="5,7", help="molecules per box side")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import torchani

    model = ani2x_architecture(args.neighborlist)
    print(f"TorchANI {torchani.__version__}, ANI-2x architecture, 1 network, "
          f"{args.neighborlist}, float32, {args.threads} threads")
    print(f"{'atoms':>8} {'ms/call':>10} {'atom-steps/s':>14} {'cpu ms/call':>12}")
    for per_side in (int(s) for s in args.sizes.split(",")):
        box = ethanol_box(per_side)
        t, cpu = time_call(model, box, args.repeats)
        print(f"{len(box):>8} {t * 1e3:>10.1f} {len(box) / t:>14.0f} {cpu * 1e3:>12.1f}",
              flush=True)


if __name__ == "__main__":
    main()
