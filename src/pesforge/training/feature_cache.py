"""Training on cached descriptors: exact forces at a fraction of the cost per step.

For a potential whose energy is a trainable function of *fixed* per-atom features,
E = sum_i e(G_i), G_i = G_i(R) (Behler–Parrinello symmetry functions), the features and their
Jacobians dG_i/dR_k do not change during training. This cache computes them once, by
forward-mode autograd (one Jacobian-vector product per atom slot and Cartesian direction,
shared by all frames of a chunk), and then a training step needs only the networks:

    F_k = -sum_i (dE/dG_i) . (dG_i/dR_k)

which is the same chain rule autograd applies to the full graph (the equality is tested to
1e-10 in float64 against :func:`pesforge.models.autograd.compute`). Used for frames without
stress labels and with at most ``max_atoms`` atoms (molecules, small clusters); other data
train through :func:`~pesforge.models.autograd.compute`. This is the approach of the classic
BPNN codes (RuNNer, n2p2, aenet), which store symmetry-function derivatives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate, frame_graph, labels, to
from pesforge.data.frame import Frame
from pesforge.descriptors.symmetry_functions import SymmetryFunctions
from pesforge.models.autograd import position_jvps


def supports_cache(model, frames: Sequence[Frame], max_atoms: int = 64) -> bool:
    """True when the model splits into fixed features + readout and the frames qualify."""
    return (hasattr(model, "features") and hasattr(model, "energies_from_features")
            and all(len(f) <= max_atoms and f.stress is None for f in frames))


class FeatureCache:
    """Per-frame features (A_f, F) and Jacobian blocks dG_i/dR_k for neighbour pairs (i, k).

    Storage is float32 or float64 (the model's dtype): about A_f x (neighbours + 1) x F x 3
    numbers per frame (ethanol, 288 features: 0.28 MB in float32).
    """

    def __init__(self, model, frames: Sequence[Frame], *, chunk: int = 256,
                 graphs: Sequence | None = None):
        self.frames = list(frames)
        dtype = model.dtype
        cutoff = model.cutoff
        graphs = graphs or [frame_graph(f, cutoff) for f in self.frames]
        self._features: list[torch.Tensor] = []
        self._pairs: list[torch.Tensor] = []  # (2, P_f) local (i, k)
        self._jacobians: list[torch.Tensor] = []  # (P_f, F, 3)
        training = model.training
        model.eval()  # the descriptor's numba path where it applies (the same features)
        try:
            for start in range(0, len(self.frames), chunk):
                part = range(start, min(start + chunk, len(self.frames)))
                self._build_chunk(model, [self.frames[n] for n in part],
                                  [graphs[n] for n in part], cutoff, dtype)
        finally:
            model.train(training)

    def _build_chunk(self, model, frames, graphs, cutoff, dtype) -> None:
        batch = collate(frames, cutoff, dtype=dtype, graphs=graphs)
        positions = batch[K.POSITIONS]
        n_atoms = batch[K.N_ATOMS]
        offsets = torch.cumsum(n_atoms, 0) - n_atoms
        local = torch.arange(len(positions)) - torch.repeat_interleave(offsets, n_atoms)

        def features(pos):
            moved = dict(batch)
            moved[K.POSITIONS] = pos
            return model.features(moved)

        with torch.no_grad():
            values = features(positions)
        # The numba descriptor's forward-mode rule needs torch.autograd.forward_ad (see
        # numba_sums); the eager descriptor is faster under torch.func.jvp.
        numba = any(getattr(m, "numba", False) for m in model.modules()
                    if isinstance(m, SymmetryFunctions))
        tangents_out = position_jvps(features, positions, local, forward_mode=numba)
        for f, (frame, (edges, _)) in enumerate(zip(frames, graphs)):
            lo, n = int(offsets[f]), int(n_atoms[f])
            pairs = np.unique(np.concatenate([edges, np.tile(np.arange(n), (2, 1))], axis=1),
                              axis=1)
            i, k = torch.from_numpy(pairs)
            jac = self._gather(tangents_out, lo, i, k, n)
            self._features.append(values[lo:lo + n].detach().clone())
            self._pairs.append(torch.stack([i, k]))
            self._jacobians.append(jac)

    @staticmethod
    def _gather(tangents_out, lo: int, i: torch.Tensor, k: torch.Tensor, n: int) -> torch.Tensor:
        # dense (n_k, 3, n_i, F) block of this frame, then pick the neighbour pairs
        dense = torch.stack([torch.stack([tangents_out[a, c][lo:lo + n] for c in range(3)])
                             for a in range(n)])
        return dense[k, :, i, :].transpose(1, 2).contiguous().detach()

    def __len__(self) -> int:
        return len(self.frames)

    def batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """A training batch of cached frames: labels, features and Jacobian pairs."""
        frames = [self.frames[n] for n in indices]
        n_atoms = torch.tensor([len(f) for f in frames])
        offsets = torch.cumsum(n_atoms, 0) - n_atoms
        pairs = torch.cat([self._pairs[n] + o for n, o in zip(indices, offsets)], dim=1)
        batch = {
            K.FEATURES: torch.cat([self._features[n] for n in indices]),
            K.FEATURE_JACOBIAN: torch.cat([self._jacobians[n] for n in indices]),
            K.FEATURE_PAIRS: pairs,
            K.ATOMIC_NUMBERS: torch.from_numpy(np.concatenate([f.numbers for f in frames])),
            K.SYSTEM: torch.repeat_interleave(torch.arange(len(frames)), n_atoms),
            K.N_ATOMS: n_atoms,
            **labels(frames),
        }
        return to(batch, dtype=self._features[0].dtype)


def compute_cached(model, batch: dict[str, torch.Tensor], *, forces: bool = True,
                   training: bool = False) -> dict[str, torch.Tensor]:
    """Energies (S,) float64 and forces (A, 3) from a :meth:`FeatureCache.batch`."""
    features = batch[K.FEATURES]
    if forces:
        features = features.detach().requires_grad_(True)
    with torch.enable_grad() if (forces or training) else torch.no_grad():
        atomic = model.energies_from_features(features, batch[K.ATOMIC_NUMBERS])
        energy = torch.zeros(len(batch[K.N_ATOMS]), dtype=torch.float64, device=atomic.device)
        energy = energy.index_add(0, batch[K.SYSTEM], atomic)
        out = {K.ENERGY: energy, K.ATOMIC_ENERGIES: atomic}
        if forces:
            (d_e,) = torch.autograd.grad(energy.sum(), features, create_graph=training)
            i, k = batch[K.FEATURE_PAIRS]
            contributions = torch.einsum("pf,pfc->pc", d_e[i], batch[K.FEATURE_JACOBIAN])
            zeros = contributions.new_zeros(len(features), 3)
            out[K.FORCES] = -zeros.index_add(0, k, contributions)
    return out if training else {key: value.detach() for key, value in out.items()}
