"""Data-set statistics used to initialise and normalise models.

Per-element reference energies (a linear fit of total energy on composition), the RMS of the
force components, the spread of the per-atom interaction energy, and mean neighbour counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pesforge.data.frame import Frame


def elements_of(frames: Sequence[Frame]) -> list[int]:
    """The sorted distinct atomic numbers present in ``frames``."""
    if not frames:
        return []
    return sorted(int(z) for z in np.unique(np.concatenate([f.numbers for f in frames])))


def composition_matrix(frames: Sequence[Frame], elements: Sequence[int]) -> np.ndarray:
    """(F, n_elements) float64: how many atoms of each element every frame holds."""
    column = {int(z): k for k, z in enumerate(elements)}
    counts = np.zeros((len(frames), len(column)))
    for row, frame in enumerate(frames):
        values, number = np.unique(frame.numbers, return_counts=True)
        unknown = [int(z) for z in values if int(z) not in column]
        if unknown:
            raise ValueError(f"{frame.source}: elements {unknown} are not in {list(elements)}")
        counts[row, [column[int(z)] for z in values]] = number
    return counts


def _labelled(frames: Sequence[Frame]) -> list[Frame]:
    labelled = [f for f in frames if f.energy is not None]
    if not labelled:
        raise ValueError("no frame has an energy label")
    return labelled


def fit_reference_energies(frames: Sequence[Frame], elements: Sequence[int]) -> np.ndarray:
    """Per-element atomic reference energies E_z (eV) from E ≈ sum_z n_z E_z.

    Solved by least squares over frames with an energy label (unlabelled frames carry no
    information and are ignored). ``np.linalg.lstsq`` returns the minimum-norm solution, so
    when the compositions do not determine every E_z — e.g. a data set of one molecule, where
    only sum_z n_z E_z is fixed — the result is the smallest-norm split of the energy over the
    elements. That is expected and harmless: the model only sees the sum. Prefer isolated-atom
    energies where the oracle can provide them.

    Returns:
        (n_elements,) float64 in the order of ``elements``.
    """
    labelled = _labelled(frames)
    counts = composition_matrix(labelled, elements)
    energies = np.array([f.energy for f in labelled], dtype=np.float64)
    solution, *_ = np.linalg.lstsq(counts, energies, rcond=None)
    return solution


def energy_per_atom_residual_std(frames: Sequence[Frame], elements: Sequence[int],
                                 reference_energies: np.ndarray) -> float:
    """Standard deviation (eV/atom) over labelled frames of (E - sum_z n_z E_z) / N."""
    labelled = _labelled(frames)
    counts = composition_matrix(labelled, elements)
    energies = np.array([f.energy for f in labelled], dtype=np.float64)
    residual = (energies - counts @ np.asarray(reference_energies, dtype=np.float64))
    return float(np.std(residual / counts.sum(axis=1)))


def force_rms(frames: Sequence[Frame]) -> float:
    """Root mean square of all force components (eV/Å) over frames with forces."""
    forces = [f.forces.reshape(-1) for f in frames if f.forces is not None]
    if not forces:
        raise ValueError("no frame has force labels")
    return float(np.sqrt(np.mean(np.square(np.concatenate(forces)))))


def mean_neighbor_count(frames: Sequence[Frame], cutoff: float) -> float:
    """Average number of neighbours within ``cutoff`` (Å) per atom, over all atoms."""
    from pesforge.neighbors import neighbor_list

    if not frames:
        raise ValueError("no frames")
    pairs = sum(neighbor_list(f.positions, f.cell, f.pbc, cutoff)[0].shape[1] for f in frames)
    return pairs / sum(len(f) for f in frames)
