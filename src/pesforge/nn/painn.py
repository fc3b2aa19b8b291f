"""PaiNN message and update blocks: invariant scalars and equivariant vectors per atom.

Atoms carry scalars s (A, F) and vectors v (A, 3, F) (the Cartesian axis second, so that a
rotation R acts as ``einsum("xy,ayf->axf", R, v)``). Messages run over the directed edges
``i -> j`` of the batch (gathers and ``index_add`` over blocks of edges, no Python loops over
atoms or single edges).

K. T. Schütt, O. T. Unke, M. Gastegger, "Equivariant message passing for the prediction of
tensorial properties and molecular spectra", ICML 2021 (arXiv:2102.03150), eqs. 7-9.
"""

from __future__ import annotations

import torch
from torch import nn

from pesforge.nn.mlp import ACTIVATIONS
from pesforge.nn.scatter import add_rows_

#: Added under the square root of vector norms so that their gradient is finite at v = 0.
NORM_EPS = 1e-8
#: Edges per block in the messages (see :meth:`PaiNNMessage.forward`).
EDGE_BLOCK = 8192


class PaiNNMessage(nn.Module):
    """Scalar and vector messages from the neighbours j of each centre i.

    ds_i = sum_j phi_s(s_j) * W_s(r_ij);
    dv_i = sum_j v_j * phi_vv(s_j) W_vv(r_ij) + r_hat_ij * phi_vs(s_j) W_vs(r_ij),
    with W = Linear(radial basis) times the cutoff envelope.
    """

    def __init__(self, features: int, n_radial: int, activation: str = "silu"):
        super().__init__()
        self.features = features
        self.phi = nn.Sequential(nn.Linear(features, features), ACTIVATIONS[activation](),
                                 nn.Linear(features, 3 * features))
        self.filter = nn.Linear(n_radial, 3 * features)
        self.edge_block = EDGE_BLOCK

    def forward(self, s: torch.Tensor, v: torch.Tensor, radial: torch.Tensor,
                envelope: torch.Tensor, unit: torch.Tensor,
                edge_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s (A, F), v (A, 3, F), radial (E, n), envelope (E,), unit (E, 3) -> s, v updated.

        Edges go in blocks of ``self.edge_block`` (default :data:`EDGE_BLOCK`): a block's
        per-edge temporaries are small enough for the allocator to reuse, where whole-system
        ones (tens of MB for 10^3 atoms) are mapped afresh, page by page, at every call."""
        phi = self.phi(s)
        n_edges, block = edge_index.shape[1], self.edge_block
        if n_edges <= block:
            i, ds, dv = self._messages(phi, v, radial, envelope, unit, edge_index)
            return s.index_add(0, i, ds), v.index_add(0, i, dv)
        s_out, v_out = s.clone(), v.clone()  # summed in place (add_rows_)
        for start in range(0, n_edges, block):
            part = slice(start, start + block)
            i, ds, dv = self._messages(phi, v, radial[part], envelope[part], unit[part],
                                       edge_index[:, part])
            add_rows_(s_out, i, ds)
            add_rows_(v_out, i, dv)
        return s_out, v_out

    def _messages(self, phi, v, radial, envelope, unit, edge_index):
        """One block of edges' messages: (centres i (E,), scalar (E, F), vector (E, 3, F))
        from phi = self.phi(s) and the input vectors v."""
        i, j = edge_index[0], edge_index[1]
        x = phi[j] * (self.filter(radial) * envelope[:, None])
        ds, dvv, dvs = torch.split(x, self.features, dim=1)
        dv = v[j] * dvv[:, None, :] + unit[:, :, None] * dvs[:, None, :]
        return i, ds, dv


class PaiNNUpdate(nn.Module):
    """Per-atom mixing of scalars and vectors.

    dv = a_vv(s, |V v|) * U v;  ds = a_sv(s, |V v|) * <U v, V v> + a_ss(s, |V v|).
    """

    def __init__(self, features: int, activation: str = "silu"):
        super().__init__()
        self.features = features
        self.mix = nn.Linear(features, 2 * features, bias=False)
        self.mlp = nn.Sequential(nn.Linear(2 * features, features), ACTIVATIONS[activation](),
                                 nn.Linear(features, 3 * features))

    def forward(self, s: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """s (A, F), v (A, 3, F) -> s, v updated."""
        uv, vv = torch.split(self.mix(v), self.features, dim=2)
        norm = torch.sqrt((vv * vv).sum(dim=1) + NORM_EPS)
        a = self.mlp(torch.cat([s, norm], dim=1))
        a_vv, a_sv, a_ss = torch.split(a, self.features, dim=1)
        v = v + a_vv[:, None, :] * uv
        s = s + a_sv * (uv * vv).sum(dim=1) + a_ss
        return s, v
