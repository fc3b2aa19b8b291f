"""An E(3)-equivariant interatomic potential of the NequIP/MACE class, built on e3nn irreps.

h^0 = embedding(Z) (channels x 0e); T interaction blocks (:mod:`pesforge.nn.equivariant`) with
spherical-harmonic edge features up to ``lmax``, a radial basis (Bessel or Gaussian) x envelope,
tensor-product messages, an ACE-like product basis of order ``correlation`` and residual
self-connections; the last block keeps only scalars. Every block has a readout; the per-atom
energy is
E_i = e0(Z_i) + scale * (sum_t readout_t(h_i^t) + shift(Z_i)) (:mod:`pesforge.nn.energy`).

e3nn supplies the irreps conventions and coupling constants at construction; the forward pass
is pesforge's own per-l code (:mod:`pesforge.nn.equivariant_ops`), numerically identical to
e3nn's generic modules with the same parameters. :meth:`EquivariantPotential.compile_for_inference`
compiles it with torch.compile for faster CPU inference.

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
from pesforge.physics.radial import check_radial, radial_embedding


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
        n_radial: number of radial basis functions; ``envelope_p`` the polynomial envelope's
            order.
        radial_basis: ``"bessel"`` (sin(k pi r / r_c) / r) or ``"gaussian"`` (SchNet's), see
            :data:`pesforge.physics.radial.RADIAL_BASES`.
        envelope: ``"polynomial"`` (order ``envelope_p``) or ``"cosine"`` (Behler's).
        radial_hidden: width of the radial MLPs.
        readout_hidden: width of the last block's MLP readout.

    A new instance is float64; cast it with ``.float()`` for float32 inference or training.
    """

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, elements: Sequence[int], cutoff: float = 5.0, channels: int = 64,
                 lmax: int = 2, interactions: int = 2, correlation: int = 3, n_radial: int = 8,
                 envelope_p: int = 6, radial_hidden: int = 64, readout_hidden: int = 16,
                 radial_basis: str = "bessel", envelope: str = "polynomial"):
        super().__init__()
        _require_e3nn()
        if min(channels, interactions, correlation, n_radial) < 1 or lmax < 0:
            raise ValueError("channels, interactions, correlation and n_radial must be >= 1 "
                             "and lmax >= 0")
        check_radial(radial_basis, envelope)
        self.radial_basis, self.envelope = radial_basis, envelope
        self.species = SpeciesIndex(elements)
        self.elements = self.species.elements
        self.cutoff = float(cutoff)
        self.channels, self.lmax = int(channels), int(lmax)
        self.interactions, self.correlation = int(interactions), int(correlation)
        self.n_radial, self.envelope_p = int(n_radial), int(envelope_p)
        self.radial_hidden, self.readout_hidden = int(radial_hidden), int(readout_hidden)
        # The coupling constants come from e3nn in float64; the model is built (and stays)
        # float64 until cast, e.g. ``.float()``: it is then equivariant to ~1e-15.
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            self._build()
        finally:
            torch.set_default_dtype(previous)
        self._register_load_state_dict_pre_hook(_drop_e3nn_module_keys, with_module=True)

    def _build(self) -> None:
        from pesforge.nn.equivariant import EquivariantInteraction, IrrepsLinear, natural_irreps

        n, c, t_max = len(self.elements), self.channels, self.interactions
        self.irreps_sh = natural_irreps(1, self.lmax)
        self.embedding = nn.Parameter(torch.randn(n, c))
        lmax_h = [0] + [self.lmax] * (t_max - 1) + [0]  # node features: scalars first and last
        self.blocks = nn.ModuleList(
            EquivariantInteraction(lmax_h[t], lmax_h[t + 1], self.lmax, c, self.n_radial,
                                   self.radial_hidden, self.correlation, n)
            for t in range(t_max))
        self.readouts = nn.ModuleList(
            IrrepsLinear([(c, l) for l in range(lmax_h[t + 1] + 1)], 1, 0)
            for t in range(t_max - 1))
        self.last_readout = mlp(c, [self.readout_hidden], 1, "silu")
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
                "readout_hidden": self.readout_hidden, "radial_basis": self.radial_basis,
                "envelope": self.envelope}

    def features(self, batch: dict[str, torch.Tensor]) -> dict[str, list]:
        """Every equivariant intermediate as per-l lists (:mod:`pesforge.nn.equivariant_ops`):
        ``{"sh": [(E, 2l+1)], "A": [per-l list] per block, "B": [per-l list] per block and
        order, "h": [per-l list] per block (after the embedding first), "species": (A,)}``."""
        from pesforge.nn.equivariant import frozen_cache
        from pesforge.nn.equivariant_ops import spherical_harmonics

        species = self.species(batch[K.ATOMIC_NUMBERS])
        vec = edge_vectors(batch)
        r = torch.linalg.vector_norm(vec, dim=1)
        sh = spherical_harmonics(vec, self.lmax)
        radial = radial_embedding(r, self.cutoff, self.n_radial, self.envelope_p,
                                  self.radial_basis, self.envelope)
        h = [self.embedding[species][:, None, :]]
        inv = frozen_cache(self, "inv", [self.avg_neighbours], lambda: self.avg_neighbours ** -0.5)
        out: dict[str, list] = {"sh": sh, "A": [], "B": [], "h": [h], "species": species}
        for block in self.blocks:
            step = block(h, species, sh, radial, batch[K.EDGE_INDEX], inv)
            h = step["h"]
            out["A"].append(step["A"])
            out["B"].extend(step["B"])
            out["h"].append(h)
        return out

    def representation(self, batch: dict[str, torch.Tensor]) -> dict[str, list]:
        """Every equivariant intermediate in e3nn's flat layout with its irreps: ``{"sh":
        [(irreps, (E, d))], "A": [(irreps, (A, d))] per block, "B": [...] per block and order,
        "h": [...] per block (after the embedding first)}``, plus ``"species": [(None, (A,))]``.
        ``irreps.D_from_matrix(R)`` acts on each."""
        from pesforge.nn.equivariant_ops import to_e3nn

        f = self.features(batch)
        irreps_h = [self.blocks[0].irreps_in] + [b.irreps_out for b in self.blocks]
        irreps_a = self.blocks[0].irreps_a
        return {"sh": [(self.irreps_sh, torch.cat(f["sh"], dim=1))],
                "A": [(irreps_a, to_e3nn(a)) for a in f["A"]],
                "B": [(irreps_a, to_e3nn(b)) for b in f["B"]],
                "h": [(irreps, to_e3nn(h)) for irreps, h in zip(irreps_h, f["h"])],
                "species": [(None, f["species"])]}

    def forward(self, batch):
        f = self.features(batch)
        hs = f["h"][1:]
        y = self.last_readout(hs[-1][0][:, 0, :]).squeeze(1)
        for readout, h in zip(self.readouts, hs[:-1]):
            y = y + (h[0][:, 0, :] @ readout.matrix(0)).squeeze(1)
        return self.head(y, f["species"])

    def readout_features(self, batch):
        """See :meth:`Potential.readout_features`: the invariant channels that the linear
        readouts of the earlier blocks read, and the last readout's hidden layer,
        (A, (n_blocks - 1) * channels + readout_hidden)."""
        hs = self.features(batch)["h"][1:]
        parts = [h[0][:, 0, :] for h in hs[:-1]]
        parts.append(self.last_readout[:-1](hs[-1][0][:, 0, :]))
        return self.head.energy_scale * torch.cat(parts, dim=1)

    def compile_for_inference(self, **options) -> EquivariantPotential:
        """Compile the forward pass in place with ``torch.compile(dynamic=True, **options)``
        (one compilation serves every system size; the first call compiles, about a minute
        on one CPU core) and stop blocking edges (the compiler fuses the per-edge work).

        For energies, forces and stress; not for training on forces (torch.compile does not
        support the double backward it needs). Returns ``self``."""
        import sys

        for block in self.blocks:
            block.edge_block = sys.maxsize
        self.compile(dynamic=True, **options)
        return self

    @torch.no_grad()
    def fit_statistics(self, batches, reference_energies: np.ndarray | None = None,
                       energy_scale: float | None = None) -> None:
        """Set the average neighbour count (message normalisation), the per-element reference
        energies (eV) and the energy scale (eV) from training batches."""
        self.avg_neighbours.fill_(average_neighbours(batches))  # messages / sqrt(this)
        self.head.set(reference_energies, energy_scale)


def _drop_e3nn_module_keys(module, state_dict, prefix, *args) -> None:
    """Model files written when the blocks were e3nn modules carry keys without information
    (``output_mask`` buffers, empty biases and tensor-product weights, the tensor products'
    Wigner 3j constants): drop them on load."""
    own = {prefix + k for k in module.state_dict()}
    for key in [k for k in state_dict if k.startswith(prefix) and k not in own]:
        if key.endswith(".output_mask") or "._compiled_main" in key or (
                state_dict[key].numel() == 0 and (
                key.endswith((".bias", ".weight")))):
            del state_dict[key]
