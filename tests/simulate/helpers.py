"""Small Lennard-Jones argon systems shared by the MD tests."""

from __future__ import annotations

from ase.lattice.cubic import FaceCenteredCubic

from pesforge.physics.lennard_jones import LennardJones


def argon(size=(2, 2, 2), a: float = 5.3):
    """fcc argon, periodic, 4 * prod(size) atoms, lattice constant ``a`` Å."""
    return FaceCenteredCubic("Ar", size=size, latticeconstant=a)


def lj(cutoff: float = 6.0) -> LennardJones:
    return LennardJones(epsilon=0.0104, sigma=3.40, cutoff=cutoff)


def ethanol_liquid(per_side: int = 2, density_g_cm3: float = 0.789, seed: int = 0):
    """per_side³ randomly oriented ethanol molecules on a cubic grid at liquid density,
    periodic (per_side = 2: 72 atoms in a 9.2 Å box)."""
    import numpy as np
    from ase import Atoms
    from ase.build import molecule

    rng = np.random.default_rng(seed)
    mol = molecule("CH3CH2OH")
    mol.positions -= mol.get_center_of_mass()
    n = per_side**3
    length = (n * mol.get_masses().sum() / 6.02214076e23 / density_g_cm3 * 1e24) ** (1 / 3)
    box = Atoms(cell=np.eye(3) * length, pbc=True)
    for site in np.ndindex(per_side, per_side, per_side):
        m = mol.copy()
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m.positions = m.positions @ q.T + (np.array(site) + 0.5) * length / per_side
        box += m
    return box
