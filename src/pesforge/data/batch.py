"""Collating frames into pesforge's one batch type (see :mod:`pesforge.data.keys`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.frame import Frame
from pesforge.neighbors import neighbor_list

Batch = dict[str, torch.Tensor]

_FLOAT_KEYS = (K.POSITIONS, K.CELL, K.EDGE_SHIFTS, K.REF_FORCES, K.REF_STRESS, K.FORCES,
               K.STRESS, K.VIRIAL)


def frame_graph(frame: Frame, cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """The neighbour list of one frame: (2, E) pairs and (E, 3) integer shifts."""
    return neighbor_list(frame.positions, frame.cell, frame.pbc, cutoff)


def collate(frames: Sequence[Frame], cutoff: float, *, dtype: torch.dtype = torch.float64,
            graphs: Sequence[tuple[np.ndarray, np.ndarray]] | None = None) -> Batch:
    """Concatenate frames into one batch, with neighbour lists at ``cutoff`` (Å).

    Args:
        frames: systems of any sizes.
        cutoff: neighbour-list cutoff in Å (the potential's ``cutoff``).
        dtype: floating dtype of positions, cell and vector labels; energies stay float64.
        graphs: precomputed ``frame_graph`` results, one per frame, to skip the search.

    Returns:
        A dict with the structure and edge keys, plus ``REF_*`` labels and ``has_*`` masks
        (labels a frame lacks are zeros with the mask False).
    """
    if len(frames) == 0:
        raise ValueError("cannot collate an empty list of frames")
    n_atoms = np.array([len(f) for f in frames], dtype=np.int64)
    if graphs is None and len(frames) == 1:  # our own arrays: no copies
        edge_index, shifts = frame_graph(frames[0], cutoff)
    else:
        graphs = graphs or [frame_graph(f, cutoff) for f in frames]
        offsets = np.concatenate([[0], np.cumsum(n_atoms)[:-1]])
        edge_index = np.concatenate([g[0] + o for g, o in zip(graphs, offsets)], axis=1)
        shifts = np.concatenate([g[1] for g in graphs], axis=0)
    batch: Batch = {
        K.POSITIONS: torch.from_numpy(np.concatenate([f.positions for f in frames])),
        K.ATOMIC_NUMBERS: torch.from_numpy(np.concatenate([f.numbers for f in frames])),
        K.SYSTEM: torch.from_numpy(np.repeat(np.arange(len(frames)), n_atoms)),
        K.N_ATOMS: torch.from_numpy(n_atoms),
        K.CELL: torch.from_numpy(np.stack([f.cell for f in frames])),
        K.PBC: torch.from_numpy(np.stack([f.pbc for f in frames])),
        K.EDGE_INDEX: torch.from_numpy(edge_index),
        K.EDGE_SHIFTS: torch.from_numpy(shifts).to(dtype),  # integers: exact in any dtype
        **labels(frames),
    }
    return to(batch, dtype=dtype)


def labels(frames: Sequence[Frame]) -> Batch:
    """``REF_*`` labels (float64) and ``has_*`` masks of frames; missing labels are zeros.

    Also each system's net charge :data:`~pesforge.data.keys.TOTAL_CHARGE` (S,) e, 0 where a
    frame gives none, which charge models conserve exactly.
    """
    return {
        K.TOTAL_CHARGE: torch.tensor([f.total_charge or 0.0 for f in frames],
                                     dtype=torch.float64),
        K.HAS_CHARGES: torch.tensor([f.charges is not None for f in frames]),
        K.HAS_DIPOLE: torch.tensor([f.dipole is not None for f in frames]),
        K.REF_CHARGES: torch.from_numpy(np.concatenate(
            [f.charges if f.charges is not None else np.zeros(len(f)) for f in frames])),
        K.REF_DIPOLE: torch.from_numpy(np.stack(
            [f.dipole if f.dipole is not None else np.zeros(3) for f in frames])),
        K.HAS_ENERGY: torch.tensor([f.energy is not None for f in frames]),
        K.HAS_FORCES: torch.tensor([f.forces is not None for f in frames]),
        K.HAS_STRESS: torch.tensor([f.stress is not None for f in frames]),
        K.REF_ENERGY: torch.tensor([f.energy if f.energy is not None else 0.0 for f in frames],
                                   dtype=torch.float64),
        K.REF_FORCES: torch.from_numpy(np.concatenate(
            [f.forces if f.forces is not None else np.zeros((len(f), 3)) for f in frames])),
        K.REF_STRESS: torch.from_numpy(np.stack(
            [f.stress if f.stress is not None else np.zeros((3, 3)) for f in frames])),
    }


def to(batch: Batch, device: torch.device | str | None = None,
       dtype: torch.dtype | None = None) -> Batch:
    """Move a batch to a device and cast its floating structure/label keys to ``dtype``.

    Energies (``*energy*`` keys) stay float64; integer and boolean keys keep their dtype.
    """
    out = {}
    for key, value in batch.items():
        if dtype is not None and key in _FLOAT_KEYS:
            value = value.to(dtype)
        out[key] = value.to(device) if device is not None else value
    return out


def from_atoms(atoms, cutoff: float, *, dtype: torch.dtype = torch.float64) -> Batch:
    """A one-system batch from an :class:`ase.Atoms` (no labels)."""
    return collate([Frame.from_atoms(atoms)], cutoff, dtype=dtype)
