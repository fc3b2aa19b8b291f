"""Tiny systems for the physics checks: a molecule, a rattled triclinic cell, a lone atom.

Each fixture takes the elements a potential knows and relabels its species into them, so the
same checks run unchanged on any model (a BPNN for H, C, O or a ZBL term for any Z).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The elements fixtures use when a potential does not say which it knows (H, C, O).
DEFAULT_ELEMENTS = (1, 6, 8)


def known_elements(potential) -> tuple[int, ...]:
    """Atomic numbers ``potential`` can evaluate: its ``elements`` attribute, the common elements
    of the terms of a sum, or :data:`DEFAULT_ELEMENTS` for element-agnostic potentials."""
    elements = getattr(potential, "elements", None)
    if elements is not None:
        return tuple(int(z) for z in elements)
    terms = getattr(potential, "terms", None)
    if terms is not None:
        sets = [set(t.elements) for t in terms if getattr(t, "elements", None) is not None]
        if sets:
            common = set.intersection(*sets)
            if not common:
                raise ValueError("the terms of this sum share no element; pass elements=")
            return tuple(sorted(int(z) for z in common))
    return DEFAULT_ELEMENTS


def relabel(atoms, elements: Sequence[int] | None):
    """A copy of ``atoms`` whose species are mapped into ``elements`` (unchanged when all its
    species are already known). The k-th distinct species, sorted, becomes
    ``elements[k % len(elements)]``."""
    atoms = atoms.copy()
    if elements is None:
        return atoms
    elements = [int(z) for z in elements]
    if not elements:
        raise ValueError("elements must not be empty")
    species = sorted(set(atoms.numbers.tolist()))
    if set(species) <= set(elements):
        return atoms
    mapping = {z: elements[k % len(elements)] for k, z in enumerate(species)}
    atoms.numbers = np.array([mapping[z] for z in atoms.numbers])
    return atoms


def molecule(elements: Sequence[int] | None = None):
    """Ethanol (9 atoms, no cell) from ``ase.build.molecule("CH3CH2OH")``, relabelled into
    ``elements``."""
    from ase.build import molecule as ase_molecule

    return relabel(ase_molecule("CH3CH2OH"), elements)


def periodic_cell(elements: Sequence[int] | None = None, seed: int = 0):
    """A rattled triclinic cell (lattice vectors about 4.3 Å, shorter than typical cutoffs so
    many images are needed) with 8 atoms of two alternating elements, periodic in 3D.

    The two elements are the first two of ``elements`` (or the single one, twice).
    """
    from ase import Atoms

    elements = list(elements) if elements is not None else list(DEFAULT_ELEMENTS)
    pair = (elements[0], elements[1 % len(elements)])
    cell = np.array([[4.2, 0.0, 0.0], [0.9, 4.0, 0.0], [0.6, -0.7, 4.4]])
    grid = np.array([[a, b, c] for a in (0.0, 0.5) for b in (0.0, 0.5) for c in (0.0, 0.5)])
    rng = np.random.default_rng(seed)
    positions = grid @ cell + rng.normal(scale=0.15, size=grid.shape)
    numbers = [pair[k % 2] for k in range(len(grid))]
    return Atoms(numbers=numbers, positions=positions, cell=cell, pbc=True)


def isolated_atom(element: int = 1):
    """One atom in vacuum: a system without edges."""
    from ase import Atoms

    return Atoms(numbers=[element], positions=[[0.1, -0.2, 0.3]])


def default_systems(elements: Sequence[int] | None = None) -> list:
    """The molecule and the periodic cell, the systems most checks run on by default."""
    return [molecule(elements), periodic_cell(elements)]


def write_ethanol_npz(path, start: int, stop: int, split: str = "train") -> str:
    """Write frames ``start:stop`` of the bundled rMD17 ethanol split to an NPZ file of the
    rMD17 layout (small, real training data for tests); returns the path."""
    from pesforge.data.datasets import bundled_path

    data = np.load(bundled_path(f"rmd17_ethanol_{split}_01.npz"))
    np.savez(path, nuclear_charges=data["nuclear_charges"], coords=data["coords"][start:stop],
             energies=data["energies"][start:stop], forces=data["forces"][start:stop])
    return str(path)


def small_bpnn(elements: Sequence[int] = (1, 6, 8), *, cutoff: float = 4.0, n_radial: int = 5,
               n_angular_shells: int = 2, hidden: Sequence[int] = (8,), seed: int = 0):
    """A small float64 BPNN with random weights (``torch.manual_seed(seed)``) and its
    statistics fitted on :func:`default_systems`, in eval mode: a cheap, non-trivial
    potential for physics checks."""
    import torch

    from pesforge.data.batch import collate
    from pesforge.data.frame import Frame
    from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters
    from pesforge.models.bpnn import BPNN

    torch.manual_seed(seed)
    parameters = SymmetryFunctionParameters.default(cutoff, n_radial=n_radial,
                                                    n_angular_shells=n_angular_shells)
    model = BPNN(tuple(elements), parameters, hidden=tuple(hidden)).double()
    batch = collate([Frame.from_atoms(a) for a in default_systems(elements)], model.cutoff)
    reference = {1: -13.6, 6: -1030.0, 8: -2040.0}
    model.fit_statistics([batch], reference_energies=np.array(
        [reference.get(int(z), 0.0) for z in sorted(elements)]), energy_scale=0.1)
    return model.eval()
