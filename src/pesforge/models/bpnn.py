"""The Behler–Parrinello neural-network potential.

E = sum_i [ e0(Z_i) + scale * NN_{Z_i}((G_i - mu_{Z_i}) / sigma_{Z_i}) + shift(Z_i) ]

with G_i the symmetry functions of atom i (:mod:`pesforge.descriptors.symmetry_functions`),
one MLP per element, e0 per-element reference energies from a least-squares fit to the training
energies (float64, frozen), mu/sigma descriptor statistics of the training set, ``scale`` a
fixed energy scale and ``shift`` a trainable per-element offset. Per-atom energies are returned
in float64 so totals keep meV precision in a float32 model.

J. Behler & M. Parrinello, Phys. Rev. Lett. 98, 146401 (2007).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np
import torch
from torch import nn

from pesforge.data import keys as K
from pesforge.descriptors.statistics import feature_statistics
from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters, SymmetryFunctions
from pesforge.models.potential import Potential, register
from pesforge.nn.mlp import ElementMLPs


@register("bpnn")
class BPNN(Potential):
    """Behler–Parrinello potential.

    Args:
        elements: atomic numbers the model knows.
        symmetry_functions: a :class:`SymmetryFunctionParameters` or its dict; default
            ``SymmetryFunctionParameters.default(cutoff)``.
        cutoff: radial cutoff in Å, used when ``symmetry_functions`` is not given.
        hidden: hidden-layer widths of each element's MLP.
        activation: a smooth activation name (see :data:`pesforge.nn.mlp.ACTIVATIONS`).
    """

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, elements: Sequence[int], symmetry_functions=None, cutoff: float = 5.2,
                 hidden: Sequence[int] = (128, 64), activation: str = "silu"):
        super().__init__()
        if symmetry_functions is None:
            symmetry_functions = SymmetryFunctionParameters.default(cutoff)
        elif isinstance(symmetry_functions, dict):
            symmetry_functions = SymmetryFunctionParameters(**symmetry_functions)
        self.descriptor = SymmetryFunctions(list(elements), symmetry_functions)
        self.elements = self.descriptor.elements
        self.cutoff = self.descriptor.cutoff
        self.hidden = [int(h) for h in hidden]
        self.activation = activation
        n, f = len(self.elements), self.descriptor.n_features
        self.networks = ElementMLPs(n, f, self.hidden, 1, activation)
        self.shift = nn.Parameter(torch.zeros(n))
        self.register_buffer("feature_mean", torch.zeros(n, f))
        self.register_buffer("feature_std", torch.ones(n, f))
        self.register_buffer("energy_scale", torch.ones(()))
        self.register_buffer("reference_energies", torch.zeros(n, dtype=torch.float64))

    def config(self):
        return {"elements": self.elements,
                "symmetry_functions": asdict(self.descriptor.parameters_),
                "hidden": self.hidden, "activation": self.activation}

    def _apply(self, fn, recurse=True):
        # Reference energies stay float64 whatever dtype the model is cast to.
        reference = self.reference_energies
        out = super()._apply(fn, recurse)
        self.reference_energies = reference.to(self.energy_scale.device)
        return out

    def forward(self, batch):
        # Block by block (large systems): every intermediate stays block-sized.
        numbers = batch[K.ATOMIC_NUMBERS]
        return torch.cat([self.energies_from_features(features, numbers[lo:hi])
                          for lo, hi, features in self.descriptor.blocks(batch)])

    def compile_for_inference(self, backend: str = "auto", **options) -> BPNN:
        """The symmetry functions' fast inference path (see :meth:`~pesforge.descriptors.
        symmetry_functions.SymmetryFunctions.compile_for_inference`: ``"numba"``,
        ``"inductor"`` or ``"auto"``): faster energies, forces and stress, the same values.
        Returns ``self``."""
        self.descriptor.compile_for_inference(backend, **options)
        return self

    def features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Symmetry functions (A, F): fixed, parameter-free functions of the geometry."""
        return self.descriptor(batch)

    def energies_from_features(self, features: torch.Tensor,
                               atomic_numbers: torch.Tensor) -> torch.Tensor:
        """Per-atom energies (A,) float64 eV from symmetry functions (A, F)."""
        species = self.descriptor.species(atomic_numbers)
        nn_out = self.networks(features, species, self.feature_mean, self.feature_std)
        learned = self.energy_scale * nn_out.squeeze(1) + self.shift[species]
        return self.reference_energies[species] + learned.to(torch.float64)

    def readout_features(self, batch):
        """See :meth:`Potential.readout_features`: the element networks' last hidden layer,
        (A, n_elements * hidden[-1])."""
        numbers = batch[K.ATOMIC_NUMBERS]
        return torch.cat([self.energy_scale * self.networks.hidden(
            features, self.descriptor.species(numbers[lo:hi]), self.feature_mean,
            self.feature_std) for lo, hi, features in self.descriptor.blocks(batch)])

    @torch.no_grad()
    def adopt_statistics(self, state: dict[str, torch.Tensor]) -> None:
        """See :meth:`Potential.adopt_statistics`. With standardised inputs (x - m) / s, the
        first layer W, b becomes W s' / s, b + W (m' - m) / s; the last layer is scaled by
        the ratio of the energy scales, and the per-element shift absorbs the change of the
        reference energies."""
        mean = state["feature_mean"].to(self.feature_mean)
        std = state["feature_std"].to(self.feature_std)
        scale = state["energy_scale"].to(self.energy_scale)
        for s, net in enumerate(self.networks.nets):
            first, last = net[0], net[-1]
            scaled = first.weight / self.feature_std[s]
            first.bias += scaled @ (mean[s] - self.feature_mean[s])
            first.weight.copy_(scaled * std[s])
            last.weight.mul_(self.energy_scale / scale)
            last.bias.mul_(self.energy_scale / scale)
        reference = state["reference_energies"].to(self.reference_energies)
        self.shift += (self.reference_energies - reference).to(self.shift.dtype)
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)
        self.energy_scale.copy_(scale)
        self.reference_energies.copy_(reference)

    @torch.no_grad()
    def fit_statistics(self, batches, reference_energies: np.ndarray | None = None,
                       energy_scale: float | None = None) -> None:
        """Set descriptor mean/std per element from training batches and the fixed energy terms.

        Args:
            batches: iterable of training batches (no labels needed).
            reference_energies: (n_elements,) eV per atom of each element in ``elements``.
            energy_scale: eV; typical size of per-atom energy variations (e.g. force RMS x 1 Å).
        """
        mean, std = feature_statistics(self.descriptor, batches, len(self.elements))
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)
        if reference_energies is not None:
            self.reference_energies.copy_(torch.as_tensor(reference_energies, dtype=torch.float64))
        if energy_scale is not None:
            self.energy_scale.fill_(float(energy_scale))
