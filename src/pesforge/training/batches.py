"""Where training batches come from: frames collated with precomputed neighbour lists, or the
descriptor cache of :mod:`pesforge.training.feature_cache` when the model and data allow it.

Both give the same labels, masks and predicted keys, so losses and metrics do not care which.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate, to
from pesforge.data.frame import Frame
from pesforge.models.autograd import compute
from pesforge.models.potential import Potential
from pesforge.training.feature_cache import FeatureCache, compute_cached, supports_cache

#: Largest descriptor cache (features and Jacobians, bytes) built before falling back.
MAX_CACHE_BYTES = 4 * 2**30

Batch = dict[str, torch.Tensor]


def cache_bytes(model: Potential, frames: Sequence[Frame], graphs: Sequence) -> int:
    """Estimated size of a feature cache: (edges + atoms) x F x 3 Jacobian numbers a frame."""
    n_features = int(model.feature_mean.shape[1]) if hasattr(model, "feature_mean") else 0
    itemsize = torch.empty((), dtype=model.dtype).element_size()
    pairs = sum(g[0].shape[1] + len(f) for f, g in zip(frames, graphs))
    return int(pairs * n_features * 4 * itemsize)


class BatchSource:
    """Batches of ``frames`` for ``model``; cached when ``use_cache`` and
    :func:`supports_cache` allow, on the CPU, and within :data:`MAX_CACHE_BYTES`.

    Args:
        model: the potential (statistics already fitted, on ``device``).
        frames: the frames; batches are made of their indices.
        graphs: precomputed neighbour lists, one per frame.
        use_cache: try the descriptor cache.
        stress: stress will be trained (the cache cannot give stress).
        device: where batches go.
    """

    def __init__(self, model: Potential, frames: Sequence[Frame], graphs: Sequence, *,
                 use_cache: bool, stress: bool, device: str | torch.device = "cpu"):
        self.model, self.frames, self.graphs = model, list(frames), list(graphs)
        self.device = torch.device(device)
        self.cache: FeatureCache | None = None
        if use_cache and not stress and self.device.type == "cpu" \
                and supports_cache(model, self.frames):
            size = cache_bytes(model, self.frames, self.graphs)
            if size <= MAX_CACHE_BYTES:
                self.cache = FeatureCache(model, self.frames, graphs=self.graphs)
            else:
                warnings.warn(f"descriptor cache would take {size / 2**30:.1f} GiB; training "
                              f"without it", stacklevel=2)

    def batch(self, indices: Sequence[int] | np.ndarray) -> Batch:
        """The batch of frames ``indices`` (in that order)."""
        indices = [int(i) for i in indices]
        if self.cache is not None:
            return self.cache.batch(indices)
        batch = collate([self.frames[i] for i in indices], self.model.cutoff,
                        dtype=self.model.dtype, graphs=[self.graphs[i] for i in indices])
        return to(batch, device=self.device)

    def batches(self, size: int) -> list[Batch]:
        """All frames in file order, ``size`` at a time."""
        n = len(self.frames)
        return [self.batch(range(s, min(s + size, n))) for s in range(0, n, size)]

    @staticmethod
    def predict(model: Potential, batch: Batch, *, forces: bool, stress: bool,
                training: bool, charges: bool = False) -> Batch:
        """Energies (and forces/stress) of ``model`` on a batch from :meth:`batch`; plus the
        predicted label-noise variances when the model has a variance head (``noise``), and
        with ``charges`` the :data:`~pesforge.data.keys.CHARGES` (A,) e and
        :data:`~pesforge.data.keys.DIPOLE` (S, 3) e·Å of its charge model."""
        if K.FEATURE_JACOBIAN in batch:
            out = compute_cached(model, batch, forces=forces, training=training)
        else:
            out = compute(model, batch, forces=forces, stress=stress, training=training)
        if hasattr(model, "noise"):  # pesforge.uncertainty.noise.NoiseHead
            with torch.enable_grad() if training else torch.no_grad():
                out.update(model.noise(batch))
        if charges:
            from pesforge.physics.coulomb import charges_and_dipoles

            if K.POSITIONS not in batch:
                raise ValueError("charges need positions; a feature-cache batch has none")
            with torch.enable_grad() if training else torch.no_grad():
                out.update(charges_and_dipoles(charge_term(model), batch))
        return out


def charge_term(model: Potential) -> Potential:
    """The (first) :class:`~pesforge.physics.coulomb.Coulomb` term of ``model``, searching
    sums and nested composites; ``model`` itself when there is none (so that
    :func:`~pesforge.physics.coulomb.charges_and_dipoles` names the model in its error)."""
    from pesforge.physics.coulomb import Coulomb

    stack = [model]
    while stack:
        term = stack.pop(0)
        if isinstance(term, Coulomb):
            return term
        stack.extend(getattr(term, "terms", []))
    return model


def has_charge_model(model: Potential) -> bool:
    """True when ``model`` has a Coulomb term (see :func:`charge_term`), whose charge model
    gives the charges and dipoles of the charge and dipole losses."""
    from pesforge.physics.coulomb import Coulomb

    return isinstance(charge_term(model), Coulomb)
