"""Atomic partial charges with the total charge of each system conserved exactly.

Two pure kernels turn per-atom network outputs into charges that sum to the system's charge
:data:`~pesforge.data.keys.TOTAL_CHARGE` (0 when the batch has no such key):

* equal redistribution of the excess: q_i = q~_i + (Q - sum_j q~_j) / N;
* charge equilibration (QEq) with learned electronegativities chi_i and per-element hardness
  J_i > 0: minimise sum_i chi_i q_i + J_i q_i^2 / 2 subject to sum_i q_i = Q, giving
  q_i = (lambda - chi_i) / J_i, lambda = (Q + sum_j chi_j / J_j) / sum_j 1 / J_j.

Charge models: :class:`FixedCharges` (one value per element, e.g. +-1 for NaCl) and
:class:`LearnedCharges` (an MLP head per element on Behler–Parrinello symmetry functions, as
in the 4G-HDNNP of Ko et al., Nat. Commun. 12, 398 (2021)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from pesforge.data import keys as K

SCHEMES = ("equal", "qeq")


def _per_system(values: torch.Tensor, system: torch.Tensor, n_systems: int) -> torch.Tensor:
    out = torch.zeros(n_systems, dtype=values.dtype, device=values.device)
    return out.index_add(0, system, values)


def total_charge(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(S,) float64 net charge of each system: the batch's TOTAL_CHARGE, else zeros."""
    n_systems = batch[K.N_ATOMS].shape[0]
    if K.TOTAL_CHARGE in batch:
        return batch[K.TOTAL_CHARGE].to(torch.float64)
    return torch.zeros(n_systems, dtype=torch.float64, device=batch[K.N_ATOMS].device)


def redistribute_excess(raw: torch.Tensor, system: torch.Tensor, n_atoms: torch.Tensor,
                        total: torch.Tensor) -> torch.Tensor:
    """q_i = raw_i + (Q_s - sum_{j in s} raw_j) / N_s: (A,) e, summing to ``total`` (S,)."""
    raw = raw.to(torch.float64)
    excess = total.to(torch.float64) - _per_system(raw, system, n_atoms.shape[0])
    return raw + (excess / n_atoms.to(torch.float64))[system]


def equilibrate(chi: torch.Tensor, hardness: torch.Tensor, system: torch.Tensor,
                n_systems: int, total: torch.Tensor) -> torch.Tensor:
    """QEq charges q_i = (lambda_s - chi_i) / J_i with sum_{i in s} q_i = Q_s exactly.

    Args:
        chi: (A,) electronegativities, eV/e. hardness: (A,) J_i > 0, eV/e².
        system: (A,) system index. total: (S,) net charges, e.
    """
    chi, hardness = chi.to(torch.float64), hardness.to(torch.float64)
    inv = 1.0 / hardness
    lam = (total.to(torch.float64) + _per_system(chi * inv, system, n_systems)) \
        / _per_system(inv, system, n_systems)
    q = (lam[system] - chi) * inv
    # One correction step removes the round-off of the division (sum exact to ~1e-16 |q|).
    excess = total.to(torch.float64) - _per_system(q, system, n_systems)
    return q + (excess / _per_system(torch.ones_like(q), system, n_systems))[system]


def dipoles(charges: torch.Tensor, positions: torch.Tensor, system: torch.Tensor,
            n_systems: int) -> torch.Tensor:
    """(S, 3) dipole sum_i q_i r_i in e·Å (origin-independent for neutral systems)."""
    out = torch.zeros((n_systems, 3), dtype=torch.float64, device=charges.device)
    return out.index_add(0, system, charges[:, None] * positions.to(torch.float64))


class ChargeModel(nn.Module):
    """Batch -> (A,) float64 charges in e that sum to each system's total charge."""

    kind: str = ""
    cutoff: float = 0.0

    def config(self) -> dict[str, Any]:
        raise NotImplementedError


class FixedCharges(ChargeModel):
    """One charge per element (``{"11": 1.0, "17": -1.0}``), then the excess redistributed
    equally so a system's charges sum to its total charge (a no-op for neutral compositions)."""

    kind = "fixed"

    def __init__(self, charges: dict):
        super().__init__()
        self.charges = {str(int(z)): float(q) for z, q in charges.items()}
        table = torch.zeros(119, dtype=torch.float64)
        known = torch.zeros(119, dtype=torch.bool)
        for z, q in self.charges.items():
            table[int(z)], known[int(z)] = q, True
        self.register_buffer("table", table, persistent=False)
        self.register_buffer("known", known, persistent=False)

    def config(self):
        return {"kind": self.kind, "charges": self.charges}

    def _apply(self, fn, recurse=True):
        table, known = self.table, self.known  # stays float64
        out = super()._apply(fn, recurse)
        self.table, self.known = table.to(self.known.device), known.to(self.known.device)
        return out

    def forward(self, batch):
        numbers = batch[K.ATOMIC_NUMBERS]
        if not bool(self.known[numbers].all()):
            missing = sorted(set(numbers[~self.known[numbers]].tolist()))
            raise ValueError(f"FixedCharges has no charge for elements {missing}")
        return redistribute_excess(self.table[numbers], batch[K.SYSTEM], batch[K.N_ATOMS],
                                   total_charge(batch))


class LearnedCharges(ChargeModel):
    """Charges from an MLP head per element on symmetry functions, conserved by ``scheme``.

    Args:
        elements: atomic numbers.
        symmetry_functions: :class:`SymmetryFunctionParameters` or its dict; default
            ``SymmetryFunctionParameters.default(cutoff, n_radial=8, n_angular_shells=2)``.
        cutoff: Å, when ``symmetry_functions`` is not given.
        hidden: hidden widths of each element's MLP.
        scheme: ``"equal"`` (redistribute the excess) or ``"qeq"`` (the head gives chi_i;
            a trainable hardness per element).
    """

    kind = "learned"

    def __init__(self, elements: Sequence[int], symmetry_functions=None, cutoff: float = 4.0,
                 hidden: Sequence[int] = (32,), scheme: str = "equal",
                 activation: str = "silu"):
        super().__init__()
        from pesforge.descriptors.symmetry_functions import (SymmetryFunctionParameters,
                                                             SymmetryFunctions)
        from pesforge.nn.mlp import ElementMLPs

        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        if symmetry_functions is None:
            symmetry_functions = SymmetryFunctionParameters.default(cutoff, n_radial=8,
                                                                    n_angular_shells=2)
        elif isinstance(symmetry_functions, dict):
            symmetry_functions = SymmetryFunctionParameters(**symmetry_functions)
        self.descriptor = SymmetryFunctions(list(elements), symmetry_functions)
        self.elements = self.descriptor.elements
        self.cutoff = self.descriptor.cutoff
        self.hidden, self.scheme, self.activation = [int(h) for h in hidden], scheme, activation
        n, f = len(self.elements), self.descriptor.n_features
        self.head = ElementMLPs(n, f, self.hidden, 1, activation)
        self.log_hardness = nn.Parameter(torch.zeros(n))  # J = exp(.) eV/e², used by "qeq"
        self.register_buffer("feature_mean", torch.zeros(n, f))
        self.register_buffer("feature_std", torch.ones(n, f))

    def config(self):
        return {"kind": self.kind, "elements": self.elements,
                "symmetry_functions": asdict(self.descriptor.parameters_),
                "hidden": self.hidden, "scheme": self.scheme, "activation": self.activation}

    @torch.no_grad()
    def fit_feature_statistics(self, batches) -> None:
        """Per-element feature mean and std from batches (see
        :func:`~pesforge.descriptors.statistics.feature_statistics`)."""
        from pesforge.descriptors.statistics import feature_statistics

        mean, std = feature_statistics(self.descriptor, batches, len(self.elements))
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)

    def forward(self, batch):
        numbers = batch[K.ATOMIC_NUMBERS]
        species = self.descriptor.species(numbers)
        x = (self.descriptor(batch) - self.feature_mean[species]) / self.feature_std[species]
        out = self.head(x, species).squeeze(1)
        system, n_atoms = batch[K.SYSTEM], batch[K.N_ATOMS]
        if self.scheme == "equal":
            return redistribute_excess(out, system, n_atoms, total_charge(batch))
        hardness = torch.exp(self.log_hardness)[species]
        return equilibrate(out, hardness, system, n_atoms.shape[0], total_charge(batch))


CHARGE_MODELS: dict[str, type[ChargeModel]] = {"fixed": FixedCharges, "learned": LearnedCharges}


def build_charge_model(config: dict[str, Any] | ChargeModel) -> ChargeModel:
    """A charge model from its :meth:`ChargeModel.config` dict (``{"kind": ..., ...}``)."""
    if isinstance(config, ChargeModel):
        return config
    config = dict(config)
    kind = config.pop("kind", None)
    if kind not in CHARGE_MODELS:
        raise ValueError(f"unknown charge model kind {kind!r}; known: {sorted(CHARGE_MODELS)}")
    return CHARGE_MODELS[kind](**config)
