"""Timing of ASE calculator calls, shared by the benchmark scripts of both environments
(pesforge's and the peers'): numpy and ASE only, no side effects on import."""

from __future__ import annotations

import statistics
import time

import numpy as np


def time_calls(calc, atoms, repeats: int) -> tuple[float, float]:
    """Median wall and median process-CPU seconds of one energy+forces call (a slightly moved
    geometry each call, so nothing is cached; the first call is a warm-up). With one thread on
    a shared machine the CPU time is the steadier estimate of the unloaded wall time."""
    atoms = atoms.copy()
    atoms.calc = calc
    rng = np.random.default_rng(0)
    wall, cpu = [], []
    for _ in range(repeats + 1):
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        w, c = time.perf_counter(), time.process_time()
        atoms.get_potential_energy()
        atoms.get_forces()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall[1:]), statistics.median(cpu[1:])
