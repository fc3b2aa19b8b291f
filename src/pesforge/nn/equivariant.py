"""E(3)-equivariant interaction blocks on e3nn irreps (NequIP/MACE class).

One block: the neighbours' features are tensor-multiplied with the spherical harmonics of the
edge direction, weighted by an MLP of the radial basis ("uvu" paths), summed over neighbours
(the atomic basis A_i); an ACE-like product basis B^(k) = A ⊗ ... ⊗ A (k factors, channel-wise,
species-dependent path weights) of correlation order up to ``correlation`` is formed on each atom;
their linear combination plus a linear self-connection of the input gives the new features.
Tensors are e3nn irreps arrays (rows = atoms or edges); ``irreps.D_from_matrix(R)`` acts on them.

I. Batatia et al., "MACE: Higher order equivariant message passing neural networks for fast
and accurate force fields", NeurIPS 2022 (arXiv:2206.07697); S. Batzner et al., NequIP,
Nat. Commun. 13, 2453 (2022). e3nn: M. Geiger & T. Smidt, arXiv:2207.09453.
"""

from __future__ import annotations

import torch
from torch import nn


def natural_irreps(channels: int, lmax: int):
    """``channels x (0e + 1o + 2e + ...)`` up to ``lmax`` (parity (-1)^l)."""
    from e3nn import o3

    return o3.Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])


def _paths(irreps1, irreps2, allowed, mode: str):
    """Output irreps and instructions of every path irreps1[i] x irreps2[j] -> ir in ``allowed``.

    Output multiplicities follow ``irreps1`` (modes "uvu", "uuu"); outputs are sorted so equal
    irreps are adjacent and the result can feed an ``o3.Linear``.
    """
    from e3nn import o3

    allowed = {ir for _, ir in o3.Irreps(allowed)}
    out, instructions = [], []
    for i, (mul, ir1) in enumerate(irreps1):
        for j, (_, ir2) in enumerate(irreps2):
            for ir in ir1 * ir2:
                if ir in allowed:
                    instructions.append((i, j, len(out), mode, True))
                    out.append((mul, ir))
    out = o3.Irreps(out)
    sorted_out, permutation, _ = out.sort()
    instructions = [(i, j, permutation[k], m, t) for i, j, k, m, t in instructions]
    return sorted_out, instructions


class ProductBasis(nn.Module):
    """ACE-like many-body basis on each atom: B^(1) = A, B^(k) = B^(k-1) ⊗ A channel-wise.

    ``forward(A (N, dim), species (N,))`` returns ``[B^(1), ..., B^(correlation)]``, each
    ``irreps`` (N, dim). Path weights depend on the species of the atom (as in MACE).
    """

    def __init__(self, irreps, correlation: int, n_species: int):
        super().__init__()
        from e3nn import o3

        self.irreps = o3.Irreps(irreps)
        self.correlation = int(correlation)
        self.products = nn.ModuleList()
        self.linears = nn.ModuleList()
        self.weights = nn.ParameterList()
        for _ in range(2, self.correlation + 1):
            out, instructions = _paths(self.irreps, self.irreps, self.irreps, "uuu")
            tp = o3.TensorProduct(self.irreps, self.irreps, out, instructions,
                                  shared_weights=False, internal_weights=False)
            self.products.append(tp)
            self.linears.append(o3.Linear(out, self.irreps))
            self.weights.append(nn.Parameter(torch.randn(n_species, tp.weight_numel)))

    def forward(self, a: torch.Tensor, species: torch.Tensor) -> list[torch.Tensor]:
        basis = [a]
        for product, linear, weight in zip(self.products, self.linears, self.weights):
            basis.append(linear(product(basis[-1], a, weight[species])))
        return basis


class EquivariantInteraction(nn.Module):
    """One interaction: node irreps ``irreps_in`` -> ``irreps_out``.

    Args:
        irreps_in, irreps_out: e3nn irreps of the node features.
        lmax: largest l of the edge spherical harmonics and of the atomic / product bases.
        channels: multiplicity of every irrep of the atomic basis.
        n_radial: size of the radial basis fed to the radial MLP.
        radial_hidden: width of the radial MLP's two hidden layers.
        correlation: correlation order of the product basis (1 = two-body messages only).
        n_species: number of elements (species-dependent product weights).
    """

    def __init__(self, irreps_in, irreps_out, lmax: int, channels: int, n_radial: int,
                 radial_hidden: int, correlation: int, n_species: int):
        super().__init__()
        from e3nn import o3
        from e3nn.nn import FullyConnectedNet

        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        self.irreps_a = natural_irreps(channels, lmax)
        self.up = o3.Linear(self.irreps_in, self.irreps_in)
        mid, instructions = _paths(self.irreps_in, self.irreps_sh, self.irreps_a, "uvu")
        self.conv = o3.TensorProduct(self.irreps_in, self.irreps_sh, mid, instructions,
                                     shared_weights=False, internal_weights=False)
        # Bias-free, second-moment-normalised MLP (as in NequIP/MACE): zero input at the
        # cutoff gives zero weights there, and signals keep unit scale through the layers.
        self.radial = FullyConnectedNet([n_radial, radial_hidden, radial_hidden,
                                         self.conv.weight_numel], nn.functional.silu)
        self.to_a = o3.Linear(mid, self.irreps_a)
        self.product = ProductBasis(self.irreps_a, correlation, n_species)
        self.mix = nn.ModuleList(o3.Linear(self.irreps_a, self.irreps_out)
                                 for _ in range(correlation))
        self.self_connection = o3.Linear(self.irreps_in, self.irreps_out)

    def forward(self, h: torch.Tensor, species: torch.Tensor, sh: torch.Tensor,
                radial: torch.Tensor, edge_index: torch.Tensor,
                inv_neighbours: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """h (A, irreps_in), species (A,), sh (E, irreps_sh), radial (E, n_radial) (already
        times the envelope), ``inv_neighbours`` the factor applied to the neighbour sum
        (1 / sqrt(average neighbour count), as in NequIP).

        Returns ``{"A": (A, irreps_a), "B": [(A, irreps_a)] * correlation,
        "h": (A, irreps_out)}``.
        """
        i, j = edge_index[0], edge_index[1]
        messages = self.conv(self.up(h)[j], sh, self.radial(radial))
        pooled = messages.new_zeros(h.shape[0], messages.shape[1]).index_add(0, i, messages)
        a = self.to_a(pooled * inv_neighbours)
        basis = self.product(a, species)
        out = self.self_connection(h)
        for mix, b in zip(self.mix, basis):
            out = out + mix(b)
        return {"A": a, "B": basis, "h": out}
