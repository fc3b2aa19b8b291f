"""An E(3)-equivariant interatomic potential of the NequIP/MACE class, built on e3nn irreps.

h^0 = embedding(Z) (channels x 0e); T interaction blocks (:mod:`pesforge.nn.equivariant`) with
spherical-harmonic edge features up to ``lmax``, a Bessel x envelope radial basis, tensor-product
messages, an ACE-like product basis of order ``correlation`` and residual self-connections;
the last block keeps only scalars. Every block has a readout; the per-atom energy is
E_i = e0(Z_i) + scale * (sum_t readout_t(h_i^t) + shift(Z_i)) (:mod:`pesforge.nn.energy`).

I. Batatia et al., MACE, NeurIPS 2022 (arXiv:2206.07697).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from pesforge.data import keys as K
from pesforge.models.potential import Potential, register
from pesforge.neighbors import edge_vectors
from pesforge.nn.embedding import SpeciesIndex
from pesforge.nn.energy import ElementEnergyHead, average_neighbours
from pesforge.nn.mlp import mlp
from pesforge.physics.radial import radial_embedding


def _require_e3nn():
    try:
        import e3nn  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the equivariant model needs e3nn: pip install 'pesforge[equivariant]'"
                          ) from err


@register("equivariant")
class EquivariantPotential(Potential):
    """MACE/NequIP-class equivariant potential.

    Args:
        elements: atomic numbers the model knows.
        cutoff: radial cutoff, Å.
        channels: multiplicity of every irrep of the hidden features.
        lmax: largest angular momentum L of the edge features and hidden irreps.
        interactions: number of interaction blocks.
        correlation: correlation order of the product basis (MACE uses 3).
        n_radial: number of Bessel functions; ``envelope_p`` the envelope's order.
        radial_hidden: width of the radial MLPs.
        readout_hidden: width of the last block's MLP readout.

    A new instance is float64; cast it with ``.float()`` for float32 inference or training.
    """

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, elements: Sequence[int], cutoff: float = 5.0, channels: int = 64,
                 lmax: int = 2, interactions: int = 2, correlation: int = 3, n_radial: int = 8,
                 envelope_p: int = 6, radial_hidden: int = 64, readout_hidden: int = 16):
        super().__init__()
        _require_e3nn()
        from e3nn import o3

        from pesforge.nn.equivariant import EquivariantInteraction, natural_irreps

        if min(channels, interactions, correlation, n_radial) < 1 or lmax < 0:
            raise ValueError("channels, interactions, correlation and n_radial must be >= 1 "
                             "and lmax >= 0")
        self.species = SpeciesIndex(elements)
        self.elements = self.species.elements
        self.cutoff = float(cutoff)
        self.channels, self.lmax = int(channels), int(lmax)
        self.interactions, self.correlation = int(interactions), int(correlation)
        self.n_radial, self.envelope_p = int(n_radial), int(envelope_p)
        self.radial_hidden, self.readout_hidden = int(radial_hidden), int(readout_hidden)
        # e3nn stores its Clebsch-Gordan constants in the default dtype. The model is built in
        # float64 (and stays float64 until cast, e.g. ``.float()``): a float64 model is then
        # equivariant to ~1e-15, whereas constants rounded through float32 leave ~1e-9 errors.
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            self._build(o3, EquivariantInteraction, natural_irreps)
        finally:
            torch.set_default_dtype(previous)

    def _build(self, o3, EquivariantInteraction, natural_irreps) -> None:
        n = len(self.elements)
        self.irreps_sh = o3.Irreps.spherical_harmonics(self.lmax)
        self.embedding = nn.Parameter(torch.randn(n, self.channels))
        scalars = o3.Irreps(f"{self.channels}x0e")
        hidden = natural_irreps(self.channels, self.lmax)
        irreps = [scalars] + [hidden] * (self.interactions - 1) + [scalars]
        self.blocks = nn.ModuleList(
            EquivariantInteraction(irreps[t], irreps[t + 1], self.lmax, self.channels,
                                   self.n_radial, self.radial_hidden, self.correlation, n)
            for t in range(self.interactions))
        self.readouts = nn.ModuleList([o3.Linear(irreps[t + 1], "1x0e")
                                       for t in range(self.interactions - 1)])
        self.last_readout = mlp(self.channels, [self.readout_hidden], 1, "silu")
        self.head = ElementEnergyHead(n)
        self.register_buffer("avg_neighbours", torch.ones(()))

    @property
    def receptive_field(self) -> float:
        """How far information travels, Å: ``interactions`` x ``cutoff``."""
        return self.interactions * self.cutoff

    def config(self):
        return {"elements": self.elements, "cutoff": self.cutoff, "channels": self.channels,
                "lmax": self.lmax, "interactions": self.interactions,
                "correlation": self.correlation, "n_radial": self.n_radial,
                "envelope_p": self.envelope_p, "radial_hidden": self.radial_hidden,
                "readout_hidden": self.readout_hidden}

    def representation(self, batch: dict[str, torch.Tensor]) -> dict[str, list]:
        """Every equivariant intermediate with its irreps: ``{"sh": [(irreps, (E, d))],
        "A": [(irreps, (A, d))] per block, "B": [...] per block and order, "h": [...] per
        block (after the embedding first)}``, plus ``"species": [(None, (A,))]``."""
        from e3nn import o3

        species = self.species(batch[K.ATOMIC_NUMBERS])
        vec = edge_vectors(batch)
        r = torch.linalg.vector_norm(vec, dim=1)
        sh = o3.spherical_harmonics(self.irreps_sh, vec, normalize=True,
                                    normalization="component")
        radial = radial_embedding(r, self.cutoff, self.n_radial, self.envelope_p)
        h = self.embedding[species]
        inv = self.avg_neighbours ** -0.5
        rep: dict[str, list] = {"sh": [(self.irreps_sh, sh)], "A": [], "B": [],
                                "h": [(self.blocks[0].irreps_in, h)],
                                "species": [(None, species)]}
        for block in self.blocks:
            out = block(h, species, sh, radial, batch[K.EDGE_INDEX], inv)
            h = out["h"]
            rep["A"].append((block.irreps_a, out["A"]))
            rep["B"].extend((block.irreps_a, b) for b in out["B"])
            rep["h"].append((block.irreps_out, h))
        return rep

    def forward(self, batch):
        rep = self.representation(batch)
        hs = [h for _, h in rep["h"][1:]]
        y = self.last_readout(hs[-1]).squeeze(1)
        for readout, h in zip(self.readouts, hs[:-1]):
            y = y + readout(h).squeeze(1)
        return self.head(y, rep["species"][0][1])

    @torch.no_grad()
    def fit_statistics(self, batches, reference_energies: np.ndarray | None = None,
                       energy_scale: float | None = None) -> None:
        """Set the average neighbour count (message normalisation), the per-element reference
        energies (eV) and the energy scale (eV) from training batches."""
        self.avg_neighbours.fill_(average_neighbours(batches))  # messages / sqrt(this)
        self.head.set(reference_energies, energy_scale)
