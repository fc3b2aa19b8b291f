"""MD throughput (atom-steps/s): pesforge's torch engine vs ASE's VelocityVerlet driving the same
model through ``pesforge.interfaces.Calculator``.

Usage: python benchmarks/simulate/md_throughput.py [--threads 2] [--sizes 2,5,10,22]
       [--arch bpnn|equivariant] [--model FILE] [--batch 16] [--skin 1.0]

Model: the production BPNN architecture (``--arch bpnn``) or the equivariant model at the
peer-benchmark settings (``--arch equivariant``: 64 channels, L = 1, 2 interactions,
correlation 3, r_c = 5 Å), random weights, float32 (speed does not depend on the weights; see
:func:`load`), or ``--model FILE``. Systems: liquid-density ethanol boxes
(``benchmarks/systems.py``, per_side³ molecules, 9 atoms each: 2 -> 72, 5 -> 1125,
10 -> 9000, 22 -> 95832 atoms), NVE, 0.5 fs steps from 300 K. Each engine runs one warm-up
step, then both are timed in ``--repeats`` alternating blocks of ``--steps`` steps (fewer for
big boxes), each block from the configuration after the warm-up (so that both engines time the
same configurations, however the random-weight dynamics wanders), and the fastest block of
each is reported, so that both see the same share of a loaded machine. ``--batch N`` also
times N independent copies of the smallest box as one torch batch (ASE: one system after
another). Each row also splits a step into the model's share (forward and forces through
the engine's evaluator, identical work in both engines) and
everything else, each engine's own overhead (neighbour list, batch, integrator, conversions).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from systems import ethanol_box

from pesforge.simulate import ForceField, VelocityVerlet, init_state, run
from pesforge.simulate.forcefield import default_evaluator
from pesforge.units import FS_TO_ASE_TIME

DT = 0.5
#: What a timed block of the torch engine restarts from (the ASE engine: positions, velocities)
SNAPSHOT = ("positions", "velocities", "forces", "energy")


def load(path: str | None, arch: str = "bpnn"):
    """The model: a file, or (default) an architecture with random weights, its energy scale
    set so that forces on a 1125-atom box are at most 1 eV/Å (a trained ethanol model is not
    used: trained on isolated molecules, it heats a liquid box to 10 000 K within 3 fs,
    which would only measure neighbour-list rebuilds)."""
    from pesforge.data.batch import from_atoms
    from pesforge.models import BPNN, compute, load_model

    if path:
        return load_model(path).eval(), f"model file {path}"
    torch.manual_seed(0)
    if arch == "bpnn":
        model = BPNN([1, 6, 8]).float().eval()
        what = (f"BPNN([1, 6, 8]) production architecture ({model.descriptor.n_features} "
                f"features, hidden {model.hidden}, cutoff {model.cutoff} Å)")
        scale = model.energy_scale
    else:
        from pesforge.models.equivariant import EquivariantPotential

        model = EquivariantPotential([1, 6, 8], cutoff=5.0, channels=64, lmax=1,
                                     interactions=2, correlation=3, n_radial=8).float().eval()
        what = "equivariant([1, 6, 8], 64 channels, L=1, 2 interactions, correlation 3, 5 Å)"
        scale = model.head.energy_scale
    forces = compute(model, from_atoms(ethanol_box(2 if arch != "bpnn" else 5), model.cutoff,
                                       dtype=torch.float32))
    scale.fill_(1.0 / float(forces["forces"].abs().max()))
    return model, what + ", random weights, float32"


class ModelClock:
    """Process CPU seconds spent in the model calls of one engine (the engine's own evaluator,
    :func:`~pesforge.simulate.forcefield.default_evaluator`, in both)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, potential, batch: dict, stress: bool) -> dict:
        start = time.process_time()
        out = default_evaluator(potential, batch, stress)
        self.seconds += time.process_time() - start
        return out


def _timed(fn, steps: int, clock: ModelClock) -> tuple[float, float, float]:
    """(CPU seconds of this process, wall seconds, model CPU seconds) per step of ``fn()``."""
    clock.seconds = 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return ((time.process_time() - cpu) / steps, (time.perf_counter() - wall) / steps,
            clock.seconds / steps)


class TorchEngine:
    """pesforge's engine on a batch of systems; :meth:`time` runs ``steps`` and returns s/step."""

    def __init__(self, model, systems, skin: float = 1.0):
        self.state = init_state(systems, temperature_K=300.0, seed=0)
        self.clock = ModelClock()
        self.ff = ForceField(model, skin=skin, evaluate=self.clock)
        run(self.state, VelocityVerlet(DT), self.ff, 1, log_every=10**9)  # init + warm-up
        self.start = {name: getattr(self.state, name).clone() for name in SNAPSHOT}

    def time(self, steps: int) -> tuple[float, float]:
        for name, value in self.start.items():  # every block from the same configuration
            getattr(self.state, name).copy_(value)
        return _timed(lambda: run(self.state, VelocityVerlet(DT), self.ff, steps,
                                  log_every=10**9), steps, self.clock)


class AseEngine:
    """ASE's VelocityVerlet with the pesforge calculator on one system."""

    def __init__(self, model, atoms):
        from ase.md.verlet import VelocityVerlet as AseVerlet

        from pesforge.interfaces import Calculator

        self.atoms = atoms.copy()
        state = init_state(self.atoms, temperature_K=300.0, seed=0)
        self.atoms.set_velocities(state.velocities.numpy() / FS_TO_ASE_TIME)
        self.clock = ModelClock()
        self.atoms.calc = Calculator(model)
        self.atoms.calc.evaluate = lambda batch, stress: self.clock(model, batch, stress)
        self.dyn = AseVerlet(self.atoms, timestep=DT * FS_TO_ASE_TIME)
        self.dyn.run(1)
        self.start = (self.atoms.get_positions(), self.atoms.get_velocities())

    def time(self, steps: int) -> tuple[float, float]:
        self.atoms.set_positions(self.start[0])  # every block from the same configuration,
        self.atoms.set_velocities(self.start[1])
        self.atoms.get_forces()  # with its forces ready, as after a step (untimed)
        return _timed(lambda: self.dyn.run(steps), steps, self.clock)


def compare(torch_engine, ase_engine, steps: int, repeats: int) -> dict[str, float]:
    """Per-step CPU time (this process's, all its threads), wall time and model CPU time of
    each engine, each the minimum over ``repeats`` alternating blocks of ``steps`` steps, and
    each engine's overhead (``*_rest``: CPU time outside the model, median over the blocks).
    On a shared, overloaded machine the wall time measures other people's jobs too; the CPU
    time of a single-threaded run is what the wall time would be on an idle core."""
    runs = {"torch": [], "ase": []}
    for _ in range(repeats):
        runs["torch"].append(torch_engine.time(steps))
        runs["ase"].append(ase_engine.time(steps))
    times = {f"{name}_{kind}": min(r[k] for r in values)
             for name, values in runs.items() for k, kind in enumerate(("cpu", "wall", "model"))}
    for name, values in runs.items():
        times[f"{name}_rest"] = float(np.median([cpu - model for cpu, _, model in values]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", default="2,5,10,22", help="ethanol molecules per box side")
    parser.add_argument("--steps", type=int, default=4, help="steps per block, small boxes")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=6, help="alternating timed blocks")
    parser.add_argument("--model", default=None, help="model file (default: random weights)")
    parser.add_argument("--arch", default="bpnn", choices=["bpnn", "equivariant"])
    parser.add_argument("--skin", type=float, default=1.0, help="torch engine's skin, Å")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, what = load(args.model, args.arch)
    print(f"model: {what}; {args.threads} torch threads; load average {os.getloadavg()}")
    print(f"{'atoms':>7} {'steps':>5} {'torch cpu s/step':>16} {'ASE cpu s/step':>14} "
          f"{'torch atom-steps/s':>18} {'ASE atom-steps/s':>16} {'speed-up':>8} "
          f"{'(wall)':>7} {'NL builds':>9} {'torch model ms':>14} {'ASE model ms':>12} "
          f"{'torch rest ms':>13} {'ASE rest ms':>11} {'speed-up, equal model':>21}")
    sizes = [int(s) for s in args.sizes.split(",")]
    for per_side in sizes:
        box = ethanol_box(per_side)
        n = len(box)
        steps = max(1, min(args.steps, int(args.steps * 1000 / n)))
        engine = TorchEngine(model, [box], args.skin)
        t = compare(engine, AseEngine(model, box), steps, args.repeats)
        _row(str(n), steps * args.repeats, n, t, engine.ff.neighbors.n_builds)
    if args.batch > 1:
        box = ethanol_box(sizes[0])
        n = len(box) * args.batch
        engine = TorchEngine(model, [box] * args.batch, args.skin)
        t = compare(engine, AseEngine(model, box), args.steps, args.repeats)
        t = {k: v * args.batch if k.startswith("ase") else v for k, v in t.items()}
        print(f"batch of {args.batch} x {len(box)} atoms (ASE: one system after another):")
        _row(f"{n}*", args.steps * args.repeats, n, t, engine.ff.neighbors.n_builds,
             same_model=False)
    print(f"load average after: {os.getloadavg()}")


def _row(label: str, steps: int, n: int, t: dict[str, float], builds: int,
         same_model: bool = True) -> None:
    """One table row. The last column is the speed-up both engines would show if their
    model calls (the same function on the same inputs) had taken the same time, the faster of
    the two measured: the engines' own costs compared without the model's run-to-run noise.
    Not for a batch (``same_model`` False), whose one model call differs from ASE's calls."""
    model = min(t["torch_model"], t["ase_model"])
    equal = f"{(model + t['ase_rest']) / (model + t['torch_rest']):>21.3f}" if same_model \
        else f"{'-':>21}"
    print(f"{label:>7} {steps:>5} {t['torch_cpu']:>16.4f} {t['ase_cpu']:>14.4f} "
          f"{n / t['torch_cpu']:>18.0f} {n / t['ase_cpu']:>16.0f} "
          f"{t['ase_cpu'] / t['torch_cpu']:>8.2f} {t['ase_wall'] / t['torch_wall']:>7.2f} "
          f"{builds:>9} {t['torch_model'] * 1e3:>14.2f} {t['ase_model'] * 1e3:>12.2f} "
          f"{t['torch_rest'] * 1e3:>13.2f} {t['ase_rest'] * 1e3:>11.2f} "
          f"{equal}", flush=True)


if __name__ == "__main__":
    main()
