"""The equivariant model as first written, on generic e3nn modules (o3.Linear, o3.TensorProduct,
FullyConnectedNet): the reference the fast per-l implementation must reproduce exactly, with the
same state dict (and so the same model files)."""

from __future__ import annotations

import torch
from torch import nn

from pesforge.data import keys as K
from pesforge.neighbors import edge_vectors
from pesforge.nn.mlp import mlp
from pesforge.physics.radial import radial_embedding


def _paths(irreps1, irreps2, allowed, mode: str):
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
    def __init__(self, irreps, correlation: int, n_species: int):
        super().__init__()
        from e3nn import o3

        self.products, self.linears = nn.ModuleList(), nn.ModuleList()
        self.weights = nn.ParameterList()
        for _ in range(2, correlation + 1):
            out, instructions = _paths(irreps, irreps, irreps, "uuu")
            tp = o3.TensorProduct(irreps, irreps, out, instructions, shared_weights=False,
                                  internal_weights=False)
            self.products.append(tp)
            self.linears.append(o3.Linear(out, irreps))
            self.weights.append(nn.Parameter(torch.randn(n_species, tp.weight_numel)))

    def forward(self, a, species):
        basis = [a]
        for product, linear, weight in zip(self.products, self.linears, self.weights):
            basis.append(linear(product(basis[-1], a, weight[species])))
        return basis


class Interaction(nn.Module):
    def __init__(self, irreps_in, irreps_out, lmax, channels, n_radial, radial_hidden,
                 correlation, n_species):
        super().__init__()
        from e3nn import o3
        from e3nn.nn import FullyConnectedNet

        from pesforge.nn.equivariant import natural_irreps

        irreps_sh = o3.Irreps.spherical_harmonics(lmax)
        irreps_a = natural_irreps(channels, lmax)
        self.up = o3.Linear(irreps_in, irreps_in)
        mid, instructions = _paths(irreps_in, irreps_sh, irreps_a, "uvu")
        self.conv = o3.TensorProduct(irreps_in, irreps_sh, mid, instructions,
                                     shared_weights=False, internal_weights=False)
        self.radial = FullyConnectedNet([n_radial, radial_hidden, radial_hidden,
                                         self.conv.weight_numel], nn.functional.silu)
        self.to_a = o3.Linear(mid, irreps_a)
        self.product = ProductBasis(irreps_a, correlation, n_species)
        self.mix = nn.ModuleList(o3.Linear(irreps_a, irreps_out) for _ in range(correlation))
        self.self_connection = o3.Linear(irreps_in, irreps_out)

    def forward(self, h, species, sh, radial, edge_index, inv_neighbours):
        i, j = edge_index[0], edge_index[1]
        messages = self.conv(self.up(h)[j], sh, self.radial(radial))
        pooled = messages.new_zeros(h.shape[0], messages.shape[1]).index_add(0, i, messages)
        a = self.to_a(pooled * inv_neighbours)
        basis = self.product(a, species)
        out = self.self_connection(h)
        for mix, b in zip(self.mix, basis):
            out = out + mix(b)
        return {"A": a, "B": basis, "h": out}


class ReferenceEquivariant(nn.Module):
    """Built from a new model's config; ``load(model)`` copies its state dict."""

    def __init__(self, model):
        super().__init__()
        from e3nn import o3

        from pesforge.nn.equivariant import natural_irreps

        self.__dict__["model"] = model  # species index, head and settings (not a submodule)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            c, t_max = model.channels, model.interactions
            self.irreps_sh = o3.Irreps.spherical_harmonics(model.lmax)
            self.embedding = nn.Parameter(torch.randn(len(model.elements), c))
            irreps = ([o3.Irreps(f"{c}x0e")] + [natural_irreps(c, model.lmax)] * (t_max - 1)
                      + [o3.Irreps(f"{c}x0e")])
            self.blocks = nn.ModuleList(
                Interaction(irreps[t], irreps[t + 1], model.lmax, c, model.n_radial,
                            model.radial_hidden, model.correlation, len(model.elements))
                for t in range(t_max))
            self.readouts = nn.ModuleList(o3.Linear(irreps[t + 1], "1x0e")
                                          for t in range(t_max - 1))
            self.last_readout = mlp(c, [model.readout_hidden], 1, "silu")
            self.register_buffer("avg_neighbours", torch.ones(()))
        finally:
            torch.set_default_dtype(previous)
        own = self.state_dict()
        state = {k: v for k, v in model.state_dict().items() if not k.startswith("head.")}
        missing = set(own) - set(state)
        assert all(k.endswith(".output_mask") or "_w3j_" in k or own[k].numel() == 0
               for k in missing), missing
        self.load_state_dict(state, strict=False)

    def representation(self, batch):
        from e3nn import o3

        m = self.model
        species = m.species(batch[K.ATOMIC_NUMBERS])
        vec = edge_vectors(batch)
        r = torch.linalg.vector_norm(vec, dim=1)
        sh = o3.spherical_harmonics(self.irreps_sh, vec, normalize=True,
                                    normalization="component")
        radial = radial_embedding(r, m.cutoff, m.n_radial, m.envelope_p, m.radial_basis,
                                  m.envelope)
        h = self.embedding[species]
        inv = self.avg_neighbours ** -0.5
        rep = {"sh": [sh], "A": [], "B": [], "h": [h]}
        for block in self.blocks:
            out = block(h, species, sh, radial, batch[K.EDGE_INDEX], inv)
            h = out["h"]
            rep["A"].append(out["A"])
            rep["B"].extend(out["B"])
            rep["h"].append(h)
        return rep, species

    def forward(self, batch):
        rep, species = self.representation(batch)
        hs = rep["h"][1:]
        y = self.last_readout(hs[-1]).squeeze(1)
        for readout, h in zip(self.readouts, hs[:-1]):
            y = y + readout(h).squeeze(1)
        return self.model.head(y, species)
