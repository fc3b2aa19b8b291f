"""Harmonic phonons of crystals through phonopy (finite displacements in a supercell).

phonopy (Togo & Tanaka, Scr. Mater. 108, 1 (2015)) generates symmetry-reduced displaced
supercells; their forces come from a pesforge Potential or any ASE calculator, and phonopy
builds force constants and dynamical matrices. Frequencies are returned in cm⁻¹ (phonopy's
THz converted with CODATA constants); imaginary ones are negative.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pesforge.data.frame import Frame


def _thz_to_cm1() -> float:
    from ase import units

    return 1e12 / (units._c * 100)


def _require_phonopy():
    try:
        import phonopy
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("phonons need phonopy: pip install 'pesforge[analysis]' or "
                          "pip install phonopy") from err
    return phonopy


def phonopy_model(reference: Any, frame: Frame, *, supercell: Any = (2, 2, 2),
                  distance: float = 0.01, primitive_matrix: Any = None,
                  dtype: torch.dtype = torch.float64):
    """A :class:`phonopy.Phonopy` with force constants produced from ``reference``'s forces.

    Args:
        reference: a pesforge Potential or an ASE calculator.
        frame: the unit cell (periodic in 3 directions, relaxed: residual forces bias the
            force constants).
        supercell: (3,) repetitions or a 3x3 supercell matrix.
        distance: displacement amplitude, Å.
        primitive_matrix: passed to phonopy (None: the unit cell is the primitive cell;
            "auto": phonopy finds it).
        dtype: evaluation dtype for a Potential.

    Returns:
        The Phonopy object (use ``run_mesh``, ``run_band_structure``, ``run_thermal_properties``
        ...; its frequencies are in THz).
    """
    _require_phonopy()
    from ase import Atoms
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    from pesforge.analysis.vibrations import as_calculator

    if not (np.all(frame.pbc) and abs(np.linalg.det(frame.cell)) > 1e-9):
        raise ValueError(f"phonons need a cell periodic in 3 directions; {frame.source} has "
                         f"pbc={frame.pbc.tolist()}")
    atoms = frame.to_atoms()
    unitcell = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell.array,
                            scaled_positions=atoms.get_scaled_positions(),
                            masses=atoms.get_masses())
    matrix = np.asarray(supercell)
    if matrix.shape == (3,):
        matrix = np.diag(matrix)
    phonon = Phonopy(unitcell, supercell_matrix=matrix, primitive_matrix=primitive_matrix)
    phonon.generate_displacements(distance=distance)
    calc = as_calculator(reference, dtype)
    forces = []
    for cell in phonon.supercells_with_displacements:
        displaced = Atoms(symbols=cell.symbols, cell=cell.cell,
                          scaled_positions=cell.scaled_positions, pbc=True)
        displaced.calc = calc
        forces.append(np.asarray(displaced.get_forces(), dtype=np.float64))
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    return phonon


def phonon_frequencies(reference: Any, frame: Frame, qpoints: Any, *,
                       supercell: Any = (2, 2, 2), distance: float = 0.01,
                       primitive_matrix: Any = None) -> np.ndarray:
    """Phonon frequencies (n_q, n_branches) in cm⁻¹ at ``qpoints`` (n_q, 3), reduced
    coordinates of the primitive reciprocal lattice; see :func:`phonopy_model`."""
    phonon = phonopy_model(reference, frame, supercell=supercell, distance=distance,
                           primitive_matrix=primitive_matrix)
    qpoints = np.atleast_2d(np.asarray(qpoints, dtype=np.float64))
    if qpoints.shape[1] != 3:
        raise ValueError(f"qpoints must have shape (n, 3), got {qpoints.shape}")
    phonon.run_qpoints(qpoints)
    return np.asarray(phonon.qpoints.frequencies) * _thz_to_cm1()


__all__ = ["phonopy_model", "phonon_frequencies"]
