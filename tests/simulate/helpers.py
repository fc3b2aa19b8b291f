"""Small Lennard-Jones argon systems shared by the MD tests."""

from __future__ import annotations

from ase.lattice.cubic import FaceCenteredCubic

from pesforge.physics.lennard_jones import LennardJones


def argon(size=(2, 2, 2), a: float = 5.3):
    """fcc argon, periodic, 4 * prod(size) atoms, lattice constant ``a`` Å."""
    return FaceCenteredCubic("Ar", size=size, latticeconstant=a)


def lj(cutoff: float = 6.0) -> LennardJones:
    return LennardJones(epsilon=0.0104, sigma=3.40, cutoff=cutoff)
