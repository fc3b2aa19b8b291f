"""Aleatoric uncertainty: a variance head beside a potential with fixed per-atom features.

:class:`NoiseHead` wraps a potential whose energy is a function of fixed features (a BPNN:
``features``, ``energies_from_features``, ``feature_mean``/``feature_std``) and adds one small
MLP per element that maps the same standardised features G_i to two positive numbers per atom,

    v_E,i = s² (softplus(a_i) + eps),   v_F,i = s² (softplus(b_i) + eps)   (s: energy scale, eV)

the atom's contribution to the variance of the total energy (eV², summed over atoms) and the
variance of each of its force components (eV²/Å², with 1 Å). The head is trained with the
Gaussian negative log-likelihood (``loss.kind: gaussian_nll``, see
:func:`pesforge.training.losses.gaussian_nll_terms`) and never changes the energy: ``forward`` returns the wrapped potential's per-atom energies, so
forces and stress still come from :func:`~pesforge.models.autograd.compute` alone.

D. A. Nix & A. S. Weigend, ICNN (1994); per-atom variance contributions as in
Busk et al., Mach. Learn.: Sci. Technol. 3, 015012 (2022).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from pesforge.data import keys as K
from pesforge.models.potential import Potential, build, describe, register
from pesforge.nn.mlp import ElementMLPs

#: softplus⁻¹(1): the head starts at variances equal to the energy scale squared.
_SOFTPLUS_INV_ONE = math.log(math.e - 1.0)

Batch = dict[str, torch.Tensor]


@register("noise_head")
class NoiseHead(Potential):
    """A potential plus a per-atom variance head on its fixed features.

    Args:
        potential: the mean model (a BPNN or anything with ``features``,
            ``energies_from_features``, ``feature_mean``, ``feature_std``, ``energy_scale``
            and ``descriptor.species``).
        hidden: hidden widths of each element's variance MLP.
        activation: activation name (see :data:`pesforge.nn.mlp.ACTIVATIONS`).
        eps: floor added to the softplus outputs, in units of the energy scale squared.
    """

    def __init__(self, potential: Potential, hidden: Sequence[int] = (32,),
                 activation: str = "silu", eps: float = 1e-6):
        super().__init__()
        needed = ("features", "energies_from_features", "feature_mean", "feature_std",
                  "energy_scale", "descriptor")
        missing = [n for n in needed if not hasattr(potential, n)]
        if missing:
            raise TypeError(f"a variance head needs a potential with fixed per-atom features "
                            f"(e.g. BPNN); {type(potential).__name__} lacks {missing}")
        self.potential = potential
        self.cutoff = potential.cutoff
        self.reads = potential.reads
        self.elements = list(potential.elements)
        self.hidden = [int(h) for h in hidden]
        self.activation = activation
        self.eps = float(eps)
        n, f = potential.feature_mean.shape
        self.head = ElementMLPs(n, f, self.hidden, 2, activation).to(potential.dtype)
        with torch.no_grad():
            for net in self.head.nets:
                net[-1].weight.zero_()
                net[-1].bias.fill_(_SOFTPLUS_INV_ONE)

    def config(self):
        return {"potential": describe(self.potential), "hidden": self.hidden,
                "activation": self.activation, "eps": self.eps}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls(build(config.pop("potential")), **config)

    # the mean model, unchanged (the feature cache and fit_statistics see through the wrapper)
    def forward(self, batch: Batch) -> torch.Tensor:
        return self.potential(batch)

    def readout_features(self, batch: Batch) -> torch.Tensor:
        return self.potential.readout_features(batch)

    def features(self, batch: Batch) -> torch.Tensor:
        return self.potential.features(batch)

    def energies_from_features(self, features: torch.Tensor,
                               atomic_numbers: torch.Tensor) -> torch.Tensor:
        return self.potential.energies_from_features(features, atomic_numbers)

    def fit_statistics(self, *args, **kwargs) -> None:
        self.potential.fit_statistics(*args, **kwargs)

    @property
    def feature_mean(self) -> torch.Tensor:
        return self.potential.feature_mean

    @property
    def feature_std(self) -> torch.Tensor:
        return self.potential.feature_std

    # the variance head
    def noise_from_features(self, features: torch.Tensor, atomic_numbers: torch.Tensor,
                            system: torch.Tensor, n_systems: int) -> Batch:
        """ENERGY_NOISE_VAR (S,) eV² and FORCES_NOISE_VAR (A,) eV²/Å², float64, from
        features (A, F)."""
        p = self.potential
        species = p.descriptor.species(atomic_numbers)
        x = (features - p.feature_mean[species]) / p.feature_std[species]
        raw = self.head(x, species).to(torch.float64)
        scale2 = p.energy_scale.to(torch.float64) ** 2
        var = scale2 * (nn.functional.softplus(raw) + self.eps)  # (A, 2)
        energy_var = torch.zeros(n_systems, dtype=torch.float64, device=var.device)
        energy_var = energy_var.index_add(0, system, var[:, 0])
        return {K.ENERGY_NOISE_VAR: energy_var, K.FORCES_NOISE_VAR: var[:, 1]}

    def noise(self, batch: Batch) -> Batch:
        """The aleatoric variances of a batch (collated, or from the feature cache)."""
        features = batch[K.FEATURES] if K.FEATURES in batch else self.features(batch)
        return self.noise_from_features(features, batch[K.ATOMIC_NUMBERS], batch[K.SYSTEM],
                                        int(batch[K.N_ATOMS].shape[0]))


def with_noise_head(potential: Potential, hidden: Sequence[int] = (32,),
                    activation: str = "silu") -> NoiseHead:
    """``potential`` wrapped with a fresh variance head (in the potential's dtype)."""
    return NoiseHead(potential, hidden=hidden, activation=activation)
