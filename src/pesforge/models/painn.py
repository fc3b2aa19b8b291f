"""PaiNN: polarizable atom interaction neural network (invariant + equivariant-vector messages).

E = sum_i [ e0(Z_i) + scale * (MLP(s_i^T) + shift(Z_i)) ] where s_i^T are the scalar features
after T message/update blocks (:mod:`pesforge.nn.painn`), the radial basis is Bessel functions
and the envelope a polynomial (:mod:`pesforge.physics.radial`; SchNet's Gaussians and Behler's
cosine cutoff with ``radial_basis="gaussian", envelope="cosine"``), and e0, scale come from
training statistics as in BPNN (:mod:`pesforge.nn.energy`).

K. T. Schütt, O. T. Unke, M. Gastegger, ICML 2021 (arXiv:2102.03150).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from pesforge.data import keys as K
from pesforge.models.potential import Potential, register
from pesforge.neighbors import edge_vectors
from pesforge.nn.embedding import SpeciesEmbedding, SpeciesIndex
from pesforge.nn.energy import ElementEnergyHead
from pesforge.nn.mlp import ACTIVATIONS, mlp
from pesforge.nn.painn import PaiNNMessage, PaiNNUpdate
from pesforge.physics.radial import ENVELOPES, RADIAL_BASES, check_radial


@register("painn")
class PaiNN(Potential):
    """PaiNN potential.

    Args:
        elements: atomic numbers the model knows.
        cutoff: radial cutoff, Å.
        features: width F of the scalar and vector features.
        interactions: number of message + update blocks.
        n_radial: number of radial basis functions.
        envelope_p: order p of the polynomial envelope.
        radial_basis: ``"bessel"`` (sin(k pi r / r_c) / r) or ``"gaussian"`` (SchNet's).
        envelope: ``"polynomial"`` (order ``envelope_p``) or ``"cosine"`` (Behler's).
        activation: a smooth activation name (see :data:`pesforge.nn.mlp.ACTIVATIONS`).
    """

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, elements: Sequence[int], cutoff: float = 5.0, features: int = 128,
                 interactions: int = 3, n_radial: int = 20, envelope_p: int = 6,
                 activation: str = "silu", radial_basis: str = "bessel",
                 envelope: str = "polynomial"):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}")
        check_radial(radial_basis, envelope)
        self.radial_basis, self.envelope = radial_basis, envelope
        self.species = SpeciesIndex(elements)
        self.elements = self.species.elements
        self.cutoff = float(cutoff)
        self.features, self.interactions = int(features), int(interactions)
        self.n_radial, self.envelope_p, self.activation = int(n_radial), int(envelope_p), activation
        n = len(self.elements)
        self.embedding = SpeciesEmbedding(n, self.features)
        self.messages = nn.ModuleList(PaiNNMessage(self.features, self.n_radial, activation)
                                      for _ in range(self.interactions))
        self.updates = nn.ModuleList(PaiNNUpdate(self.features, activation)
                                     for _ in range(self.interactions))
        self.readout = mlp(self.features, [self.features // 2], 1, activation)
        self.head = ElementEnergyHead(n)

    @property
    def receptive_field(self) -> float:
        """How far information travels, Å: ``interactions`` x ``cutoff``."""
        return self.interactions * self.cutoff

    def config(self):
        return {"elements": self.elements, "cutoff": self.cutoff, "features": self.features,
                "interactions": self.interactions, "n_radial": self.n_radial,
                "envelope_p": self.envelope_p, "activation": self.activation,
                "radial_basis": self.radial_basis, "envelope": self.envelope}

    def representation(self, batch: dict[str, torch.Tensor]) -> dict[str, list[torch.Tensor]]:
        """Features after the embedding and after every block: ``{"scalars": [(A, F), ...],
        "vectors": [(A, 3, F), ...]}`` (vectors rotate with the positions)."""
        species = self.species(batch[K.ATOMIC_NUMBERS])
        vec = edge_vectors(batch)
        r = torch.linalg.vector_norm(vec, dim=1)
        unit = vec / r[:, None]
        radial = RADIAL_BASES[self.radial_basis](r, self.cutoff, self.n_radial)
        envelope = ENVELOPES[self.envelope](r, self.cutoff, self.envelope_p)
        edge_index = batch[K.EDGE_INDEX]
        s = self.embedding(species)
        v = s.new_zeros(s.shape[0], 3, self.features)
        scalars, vectors = [s], [v]
        for message, update in zip(self.messages, self.updates):
            s, v = message(s, v, radial, envelope, unit, edge_index)
            s, v = update(s, v)
            scalars.append(s)
            vectors.append(v)
        return {"scalars": scalars, "vectors": vectors, "species": [species]}

    def forward(self, batch):
        rep = self.representation(batch)
        y = self.readout(rep["scalars"][-1]).squeeze(1)
        return self.head(y, rep["species"][0])

    def readout_features(self, batch):
        """See :meth:`Potential.readout_features`: the readout MLP's hidden layer (A, F/2)."""
        scalars = self.representation(batch)["scalars"][-1]
        return self.head.energy_scale * self.readout[:-1](scalars)

    @torch.no_grad()
    def fit_statistics(self, batches, reference_energies: np.ndarray | None = None,
                       energy_scale: float | None = None) -> None:
        """Set the per-element reference energies (eV) and the energy scale (eV)."""
        for _ in batches:  # PaiNN needs no feature statistics; consume the iterator
            pass
        self.head.set(reference_energies, energy_scale)
