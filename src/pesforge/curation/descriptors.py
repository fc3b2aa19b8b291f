"""Fixed descriptors for audits: symmetry functions per atom, summed per element per frame,
and the Jacobian of the per-frame sums (so a linear model in them also predicts forces).

A linear energy model E = sum_Z w_Z · D_Z + sum_Z n_Z e_Z with D_Z = sum_{i in Z} G_i (G the
Behler–Parrinello symmetry functions of :mod:`pesforge.descriptors`) predicts forces
F_k = -sum_Z w_Z · dD_Z/dR_k, linear in the same weights: one design matrix holds energy and
force rows. Jacobians come from forward-mode autograd, one product per atom slot and
Cartesian direction, shared by a chunk of frames (as in ``training/feature_cache.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.frame import Frame
from pesforge.models.autograd import position_jvps


def audit_parameters(cutoff: float = 5.0):
    """A compact symmetry-function set (180 features per atom for 3 elements)."""
    import pesforge.models  # noqa: F401  (loads descriptors in an import-cycle-safe order)
    from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters

    return SymmetryFunctionParameters.default(cutoff, n_radial=12, n_angular_shells=3,
                                              zetas=[1.0, 2.0, 4.0, 8.0])


@dataclass
class FrameDescriptors:
    """Descriptors of a list of frames.

    Attributes:
        elements: sorted atomic numbers.
        numbers: per frame (N_f,) atomic numbers.
        atomic: per frame (N_f, F) symmetry functions of each atom.
        summed: (n_frames, n_elements * F) per-element sums D_Z.
        counts: (n_frames, n_elements) atoms of each element.
        jacobians: per frame (3 N_f, n_elements * F) dD/dR (row 3k + c = atom k, axis c), 1/Å;
            None when not computed.
    """

    elements: list[int]
    numbers: list[np.ndarray]
    atomic: list[np.ndarray]
    summed: np.ndarray
    counts: np.ndarray
    jacobians: list[np.ndarray] | None


def describe_frames(frames: Sequence[Frame], *, parameters=None, elements=None,
                    jacobians: bool = True, chunk: int = 512) -> FrameDescriptors:
    """Symmetry functions of every atom, their per-element sums and (optionally) Jacobians.

    ``elements`` defaults to those present; frames with other elements raise a ValueError.
    """
    import pesforge.models  # noqa: F401  (loads descriptors in an import-cycle-safe order)
    from pesforge.data.batch import collate
    from pesforge.descriptors.symmetry_functions import SymmetryFunctions

    if elements is None:
        elements = sorted({int(z) for f in frames for z in f.numbers})
    sf = SymmetryFunctions(list(elements), parameters or audit_parameters())
    n_el, n_feat = len(sf.elements), sf.n_features
    index = {z: k for k, z in enumerate(sf.elements)}
    atomic, summed, jacs = [], [], []
    for start in range(0, len(frames), chunk):
        part = list(frames[start:start + chunk])
        batch = collate(part, sf.cutoff, dtype=torch.float64)
        positions = batch[K.POSITIONS]
        n_atoms = batch[K.N_ATOMS]
        offsets = torch.cumsum(n_atoms, 0) - n_atoms
        local = torch.arange(len(positions)) - torch.repeat_interleave(offsets, n_atoms)
        species = torch.tensor([index[int(z)] for z in batch[K.ATOMIC_NUMBERS]])
        slot = batch[K.SYSTEM] * n_el + species  # (frame, element) of each atom

        def sums(pos, with_atomic=False):
            g = sf({**batch, K.POSITIONS: pos})
            out = torch.zeros(len(part) * n_el, n_feat, dtype=g.dtype).index_add(0, slot, g)
            return (out.reshape(len(part), -1), g) if with_atomic else out.reshape(len(part), -1)

        with torch.no_grad():
            d, g = sums(positions, True)
        summed.append(d.numpy())
        atomic += [g[o:o + n].numpy() for o, n in zip(offsets.tolist(), n_atoms.tolist())]
        if jacobians:
            tangents = position_jvps(sums, positions, local)
            for f, n in enumerate(n_atoms.tolist()):
                jacs.append(np.stack([tangents[a, c][f].numpy() for a in range(n)
                                      for c in range(3)]))
    counts = np.array([[np.sum(f.numbers == z) for z in sf.elements] for f in frames],
                      dtype=np.float64)
    return FrameDescriptors(sf.elements, [f.numbers.copy() for f in frames], atomic,
                            np.concatenate(summed), counts,
                            jacs if jacobians else None)
