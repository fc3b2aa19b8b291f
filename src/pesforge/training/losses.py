"""The training loss: weighted mean-squared errors of per-atom energy, forces and stress, and
optionally of atomic charges and dipoles.

L = w_E <((E - E_ref) / N)^2> + w_F <(F - F_ref)^2> + w_S <(sigma - sigma_ref)^2>
    + w_q <(q - q_ref)^2> + w_mu <(mu - mu_ref)^2>

with means over labelled systems (energy), force components of labelled systems, and stress
components of labelled systems; charges over atoms of systems with charge labels, dipole
components over non-periodic systems with dipole labels (the charge and dipole terms need
predicted :data:`~pesforge.data.keys.CHARGES` / :data:`~pesforge.data.keys.DIPOLE`, from
:func:`pesforge.physics.coulomb.charges_and_dipoles`). A system whose ``has_*`` mask is False contributes nothing to
that term; a term with no labels in a batch is zero. With w = 1/sigma_noise² this is the
Gaussian negative log-likelihood up to constants and a factor 1/2.

With ``kind="gaussian_nll"`` (a model with a variance head,
:class:`pesforge.uncertainty.noise.NoiseHead`) the energy and force terms are instead mean
Gaussian negative log-likelihoods with the predicted (aleatoric) variances,

    nll = 0.5 log(2π v) + 0.5 (y - y_ref)² / v

per labelled system (total energy, v = ENERGY_NOISE_VAR) and per force component
(v = FORCES_NOISE_VAR of its atom); the stress term stays a mean-squared error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from pesforge.data import keys as K

Batch = dict[str, torch.Tensor]
TERMS = ("energy", "forces", "stress")
LOSS_KINDS = ("mse", "gaussian_nll")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the mean-squared-error terms: per-atom energy (1/eV²), forces (Å²/eV²),
    stress (Å⁶/eV²), atomic charges (1/e², default 0) and dipole components (1/(e·Å)²,
    default 0); with ``kind="gaussian_nll"`` the energy and force weights multiply mean
    negative log-likelihoods (dimensionless)."""

    energy: float = 1.0
    forces: float = 10.0
    stress: float = 1.0
    kind: str = "mse"
    charges: float = 0.0
    dipole: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in LOSS_KINDS:
            raise ValueError(f"loss kind must be one of {LOSS_KINDS}, not {self.kind!r}")

    def as_dict(self) -> dict[str, float]:
        return {"energy": self.energy, "forces": self.forces, "stress": self.stress,
                "charges": self.charges, "dipole": self.dipole}


def squared_errors(pred: Batch, batch: Batch) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Sum of squared errors and number of terms, for each labelled quantity.

    Args:
        pred: output of :func:`pesforge.models.autograd.compute` (ENERGY, and FORCES/STRESS
            when they were computed).
        batch: the batch with ``REF_*`` labels and ``has_*`` masks.

    Returns:
        ``{"energy": (sum, count), ...}``; per-atom energies in eV, forces in eV/Å, stress in
        eV/Å³; ``sum`` is float64 and keeps the autograd graph. Quantities not predicted are
        absent. Charges (e) and dipoles (e·Å) as :func:`charge_squared_errors` gives them.
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
    out.update(charge_squared_errors(pred, batch))
    return out


def gaussian_nll_terms(pred: Batch,
                       batch: Batch) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Sums of Gaussian negative log-likelihoods and their counts (energy per system, forces
    per component), plus the stress squared errors of :func:`squared_errors`.

    ``pred`` must hold :data:`~pesforge.data.keys.ENERGY_NOISE_VAR` (S,) and, when forces are
    predicted, :data:`~pesforge.data.keys.FORCES_NOISE_VAR` (A,) (from a variance head).
    """
    if K.ENERGY_NOISE_VAR not in pred:
        raise KeyError("the gaussian_nll loss needs predicted variances (energy_noise_variance); "
                       "the model has no variance head")
    out = squared_errors(pred, batch)  # keeps the stress term
    log_2pi = math.log(2.0 * math.pi)
    has_e = batch[K.HAS_ENERGY]
    var_e = pred[K.ENERGY_NOISE_VAR].to(torch.float64)
    diff_e = pred[K.ENERGY] - batch[K.REF_ENERGY].to(torch.float64)
    nll_e = 0.5 * (log_2pi + torch.log(var_e) + diff_e**2 / var_e)
    out["energy"] = (nll_e[has_e].sum(), has_e.sum())
    if K.FORCES in pred:
        atom_mask = batch[K.HAS_FORCES][batch[K.SYSTEM]]
        var_f = pred[K.FORCES_NOISE_VAR].to(torch.float64)[:, None]
        diff_f = (pred[K.FORCES] - batch[K.REF_FORCES].to(pred[K.FORCES].dtype)).to(torch.float64)
        nll_f = 0.5 * (log_2pi + torch.log(var_f) + diff_f**2 / var_f)
        out["forces"] = (nll_f[atom_mask].sum(), 3 * atom_mask.sum())
    return out


def terms(pred: Batch, batch: Batch, kind: str = "mse"):
    """:func:`squared_errors` or :func:`gaussian_nll_terms`, by loss ``kind``."""
    return gaussian_nll_terms(pred, batch) if kind == "gaussian_nll" \
        else squared_errors(pred, batch)


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
    """The weighted loss of one batch (differentiable) and its components (mean squared
    errors, or mean negative log-likelihoods for ``weights.kind == "gaussian_nll"``).

    Raises:
        ValueError: a dipole weight > 0 and a periodic system with a dipole label.
    """
    if weights.dipole > 0:
        check_dipole_labels(batch)
    return combine(terms(pred, batch, weights.kind), weights)


def check_dipole_labels(batch: Batch) -> None:
    """Raise ValueError when a periodic system of ``batch`` carries a dipole label: the
    dipole sum_i q_i r_i of a periodic cell depends on which images one sums over (it is a
    polarisation, defined only modulo a quantum), so a dipole loss is for molecules only."""
    if K.PBC not in batch or K.HAS_DIPOLE not in batch:
        return
    periodic = batch[K.HAS_DIPOLE] & batch[K.PBC].any(dim=1)
    if bool(periodic.any()):
        index = periodic.nonzero().flatten().tolist()
        raise ValueError(f"a dipole loss was requested, but system(s) {index} of the batch are "
                         f"periodic: the dipole sum_i q_i r_i of a periodic cell is ill-defined; "
                         f"use a charge loss, or give dipole labels only for molecules")


class LossAccumulator:
    """Sums squared errors (and negative log-likelihoods, when the predictions carry
    variances) over many batches so that a data set's loss is exact, not a mean of batch
    means."""

    def __init__(self) -> None:
        self.sums: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.nll_sums: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    @staticmethod
    def _accumulate(into: dict, new: dict) -> None:
        for name, (total, count) in new.items():
            total, count = total.detach().cpu(), count.detach().cpu()
            if name in into:
                old_total, old_count = into[name]
                total, count = old_total + total, old_count + count
            into[name] = (total, count)

    def add(self, pred: Batch, batch: Batch) -> None:
        self._accumulate(self.sums, squared_errors(pred, batch))
        if K.ENERGY_NOISE_VAR in pred:
            self._accumulate(self.nll_sums, gaussian_nll_terms(pred, batch))

    def result(self, weights: LossWeights) -> tuple[float, dict[str, float]]:
        """(total, components) over everything added, for ``weights.kind``."""
        if weights.kind == "gaussian_nll" and not self.nll_sums:
            raise KeyError("the gaussian_nll loss needs predicted variances; none were added")
        sums = self.nll_sums if weights.kind == "gaussian_nll" else self.sums
        total, components = combine(sums, weights)
        return float(total), components


def charge_squared_errors(pred: Batch, batch: Batch) -> dict[str, tuple[torch.Tensor,
                                                                         torch.Tensor]]:
    """Sums of squared errors and counts of predicted charges (e) and dipoles (e·Å) against
    ``REF_charges`` / ``REF_dipole`` where ``has_charges`` / ``has_dipole`` mark labels.

    ``pred`` holds :data:`~pesforge.data.keys.CHARGES` / :data:`~pesforge.data.keys.DIPOLE`
    (see :func:`pesforge.physics.coulomb.charges_and_dipoles`); absent keys give no term.
    Periodic systems never enter the dipole term (see :func:`check_dipole_labels`).
    """
    out: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    if K.CHARGES in pred and K.REF_CHARGES in batch:
        mask = batch[K.HAS_CHARGES][batch[K.SYSTEM]]
        diff = (pred[K.CHARGES] - batch[K.REF_CHARGES].to(torch.float64))[mask]
        out["charges"] = ((diff**2).sum(), mask.sum())
    if K.DIPOLE in pred and K.REF_DIPOLE in batch:
        has = batch[K.HAS_DIPOLE]
        if K.PBC in batch:
            has = has & ~batch[K.PBC].any(dim=1)
        diff = (pred[K.DIPOLE] - batch[K.REF_DIPOLE].to(torch.float64))[has]
        out["dipole"] = ((diff**2).sum(), 3 * has.sum())
    return out


def charge_loss(pred: Batch, batch: Batch, charges_weight: float = 1.0,
                dipole_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """w_q <(q - q_ref)²> + w_mu <(mu - mu_ref)²> (1/e², 1/(e·Å)²), to add to :func:`loss`
    when the data carry reference charges or dipoles; also each MSE as a float."""
    if dipole_weight > 0:
        check_dipole_labels(batch)
    weights = {"charges": charges_weight, "dipole": dipole_weight}
    total = torch.zeros((), dtype=torch.float64)
    parts: dict[str, float] = {}
    for name, (sse, count) in charge_squared_errors(pred, batch).items():
        mse = sse / count.clamp_min(1).to(sse.dtype)
        total = total.to(mse.device) + weights[name] * mse
        parts[name] = float(mse.detach())
    return total, parts
