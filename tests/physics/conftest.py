"""Small float64 systems shared by the physics-term tests."""

import numpy as np
import pytest
from ase import Atoms


@pytest.fixture(scope="session")
def water():
    """A water molecule (3 atoms, no cell)."""
    return Atoms("OH2", positions=[[0.0, 0.0, 0.1], [0.0, 0.76, -0.48], [0.05, -0.76, -0.5]])


@pytest.fixture(scope="session")
def small_cell():
    """A rattled triclinic 4-atom cell of H, C, O (periodic in 3D, lattice vectors ~3.6 Å)."""
    cell = np.array([[3.6, 0.0, 0.0], [0.5, 3.5, 0.0], [0.3, -0.4, 3.7]])
    frac = np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.1, 0.5, 0.5]])
    rng = np.random.default_rng(1)
    positions = frac @ cell + rng.normal(scale=0.1, size=frac.shape)
    return Atoms(numbers=[6, 1, 8, 1], positions=positions, cell=cell, pbc=True)
