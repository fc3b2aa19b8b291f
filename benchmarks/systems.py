"""Benchmark systems: liquid-density ethanol boxes and rMD17 molecules."""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.build import molecule


def ethanol_box(per_side: int = 5, density_g_cm3: float = 0.789, seed: int = 0) -> Atoms:
    """per_side³ randomly oriented ethanol molecules on a filled cubic grid at liquid density
    (periodic); per_side = 5 gives 1125 atoms in a 23.0 Å box."""
    rng = np.random.default_rng(seed)
    mol = molecule("CH3CH2OH")
    mol.positions -= mol.get_center_of_mass()
    n_molecules = per_side**3
    mass_g = n_molecules * mol.get_masses().sum() / 6.02214076e23
    length = (mass_g / density_g_cm3 * 1e24) ** (1 / 3)
    spacing = length / per_side
    box = Atoms(cell=np.eye(3) * length, pbc=True)
    for site in np.ndindex(per_side, per_side, per_side):
        m = mol.copy()
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m.positions = m.positions @ q.T + (np.array(site) + 0.5) * spacing
        box += m
    return box


def aspirin() -> Atoms:
    """Aspirin (21 atoms): the first rMD17 test geometry when ../shared/data is present."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / ".." / "shared/data/rmd17/rmd17_aspirin_test_01.npz"
    if path.is_file():
        data = np.load(path, allow_pickle=False)
        return Atoms(numbers=data["nuclear_charges"], positions=data["coords"][0])
    print(f"note: {path} missing; using a built aspirin-sized stand-in (ASE's C6H6 + C2H4O2 ...)")
    from ase.build import molecule as build

    atoms = build("C6H6")
    extra = build("CH3COOH")
    extra.positions += [0.0, 0.0, 4.0]
    return atoms + extra


def time_calls(calc, atoms: Atoms, repeats: int) -> float:
    """Median seconds of one energy+forces evaluation through an ASE calculator (a slightly
    moved geometry each call, so nothing is cached; the first call is a warm-up)."""
    import statistics
    import time

    atoms = atoms.copy()
    atoms.calc = calc
    rng = np.random.default_rng(0)
    times = []
    for _ in range(repeats + 1):
        atoms.positions += rng.normal(scale=1e-3, size=atoms.positions.shape)
        start = time.perf_counter()
        atoms.get_potential_energy()
        atoms.get_forces()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])
