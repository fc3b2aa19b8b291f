"""The training loss: weighted mean-squared errors of per-atom energy, forces and stress.

L = w_E <((E - E_ref) / N)^2> + w_F <(F - F_ref)^2> + w_S <(sigma - sigma_ref)^2>

with means over labelled systems (energy), force components of labelled systems, and stress
components of labelled systems. A system whose ``has_*`` mask is False contributes nothing to
that term; a term with no labels in a batch is zero. With w = 1/sigma_noise² this is the
Gaussian negative log-likelihood up to constants and a factor 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pesforge.data import keys as K

Batch = dict[str, torch.Tensor]
TERMS = ("energy", "forces", "stress")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the three mean-squared-error terms: per-atom energy (1/eV²), forces
    (Å²/eV²) and stress (Å⁶/eV²)."""

    energy: float = 1.0
    forces: float = 10.0
    stress: float = 1.0

    def as_dict(self) -> dict[str, float]:
        return {"energy": self.energy, "forces": self.forces, "stress": self.stress}


def squared_errors(pred: Batch, batch: Batch) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Sum of squared errors and number of terms, for each labelled quantity.

    Args:
        pred: output of :func:`pesforge.models.autograd.compute` (ENERGY, and FORCES/STRESS
            when they were computed).
        batch: the batch with ``REF_*`` labels and ``has_*`` masks.

    Returns:
        ``{"energy": (sum, count), ...}``; per-atom energies in eV, forces in eV/Å, stress in
        eV/Å³; ``sum`` is float64 and keeps the autograd graph. Quantities not predicted are
        absent.
    """
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    has_e = batch[K.HAS_ENERGY]
    n_atoms = batch[K.N_ATOMS].to(torch.float64)
    diff_e = (pred[K.ENERGY] - batch[K.REF_ENERGY].to(torch.float64)) / n_atoms
    out["energy"] = ((diff_e[has_e] ** 2).sum(), has_e.sum())
    if K.FORCES in pred:
        atom_mask = batch[K.HAS_FORCES][batch[K.SYSTEM]]
        diff_f = (pred[K.FORCES] - batch[K.REF_FORCES].to(pred[K.FORCES].dtype))[atom_mask]
        out["forces"] = ((diff_f.to(torch.float64) ** 2).sum(), 3 * atom_mask.sum())
    if K.STRESS in pred:
        has_s = batch[K.HAS_STRESS]
        diff_s = (pred[K.STRESS] - batch[K.REF_STRESS].to(pred[K.STRESS].dtype))[has_s]
        out["stress"] = ((diff_s.to(torch.float64) ** 2).sum(), 9 * has_s.sum())
    return out


def combine(sums: dict[str, tuple[torch.Tensor, torch.Tensor]],
            weights: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """Weighted total of the mean-squared errors, and each (unweighted) MSE as a float.

    A term with zero count contributes 0 to the total and is reported as 0.0.
    """
    w = weights.as_dict()
    total = torch.zeros((), dtype=torch.float64)
    components: dict[str, float] = {}
    for name, (sse, count) in sums.items():
        mse = sse / count.clamp_min(1).to(sse.dtype)
        total = total.to(mse.device) + w[name] * mse
        components[name] = float(mse.detach())
    return total, components


def loss(pred: Batch, batch: Batch,
         weights: LossWeights) -> tuple[torch.Tensor, dict[str, float]]:
    """The weighted loss of one batch (differentiable) and its MSE components."""
    return combine(squared_errors(pred, batch), weights)


class LossAccumulator:
    """Sums squared errors over many batches so that a data set's loss is exact, not a mean
    of batch means."""

    def __init__(self) -> None:
        self.sums: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def add(self, pred: Batch, batch: Batch) -> None:
        for name, (sse, count) in squared_errors(pred, batch).items():
            sse, count = sse.detach().cpu(), count.detach().cpu()
            if name in self.sums:
                old_sse, old_count = self.sums[name]
                sse, count = old_sse + sse, old_count + count
            self.sums[name] = (sse, count)

    def result(self, weights: LossWeights) -> tuple[float, dict[str, float]]:
        """(total, components) over everything added."""
        total, components = combine(self.sums, weights)
        return float(total), components
