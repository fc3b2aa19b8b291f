"""E(3)-equivariant interaction blocks (NequIP/MACE class) on per-l feature lists.

One block: the neighbours' features are coupled with the spherical harmonics of the edge
direction, channel by channel ("uvu" paths), weighted by an MLP of the radial basis and summed
over neighbours (the atomic basis A_i); an ACE-like product basis B^(k) = B^(k-1) ⊗ A
(channel-wise "uuu" paths, species-dependent path weights) of correlation order up to
``correlation`` is formed on each atom; their linear combination plus a linear self-connection of
the input gives the new features. Features are per-l lists (:mod:`pesforge.nn.equivariant_ops`):
``x[l]`` (N, 2l+1, C), parity (-1)^l.

The arithmetic is that of e3nn's ``o3.Linear``, ``o3.TensorProduct`` and ``nn.FullyConnectedNet``
with the same parameters (names, shapes and normalisation: model files of the e3nn-module version
load unchanged), written as a few matmuls, elementwise products and scatters per path instead of
e3nn's generic per-instruction code.

I. Batatia et al., "MACE: Higher order equivariant message passing neural networks for fast
and accurate force fields", NeurIPS 2022 (arXiv:2206.07697); S. Batzner et al., NequIP,
Nat. Commun. 13, 2453 (2022). e3nn: M. Geiger & T. Smidt, arXiv:2207.09453.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from pesforge.nn.compile import compiling
from pesforge.nn.equivariant_ops import (classify, couple_channelwise, couple_edge, coupling,
                                         natural_paths, sorted_by_output)
from pesforge.nn.scatter import add_rows_


#: Edges per block in the convolution (see :meth:`EquivariantInteraction.convolve`).
EDGE_BLOCK = 8192
#: Above this many edges (~4 x 10^4 atoms at liquid density, r_c = 5 Å) the blocks' messages are
#: recomputed in the backward: slower, but the blocks' per-edge intermediates are not kept.
RECOMPUTE_EDGES = 2**21


def frozen_cache(module: nn.Module, name: str, inputs: list[torch.Tensor], compute):
    """``compute()``, remembered on ``module`` while none of ``inputs`` requires grad (frozen
    parameters, as in an ASE calculator) and all are the same tensors, unchanged (storage,
    dtype, device and in-place version); otherwise computed afresh, keeping the autograd graph
    to the inputs. Saves the per-call reshaping and scaling of weights in small systems.
    The cache holds the inputs themselves, so a new tensor can never pass for a cached one."""
    if compiling() or any(t.requires_grad for t in inputs):
        return compute()
    key = [(t, t.data_ptr(), t.dtype, t.device, t._version) for t in inputs]
    cache = module.__dict__.setdefault("_frozen", {})
    hit = cache.get(name)
    if hit is None or len(hit[0]) != len(key) or not all(
            a[0] is b[0] and a[1:] == b[1:] for a, b in zip(hit[0], key)):
        hit = cache[name] = (key, compute())
    return hit[1]


def natural_irreps(channels: int, lmax: int):
    """e3nn ``channels x (0e + 1o + 2e + ...)`` up to ``lmax`` (parity (-1)^l)."""
    from e3nn import o3

    return o3.Irreps([(channels, (l, (-1) ** l)) for l in range(lmax + 1)])


class IrrepsLinear(nn.Module):
    """Channel mixing per l: e3nn's ``o3.Linear`` (no biases, "element" path normalisation)
    from blocks ``(mul, l)`` to ``mul_out x (0e + 1o + ...)`` up to ``lmax_out``.

    Input blocks that share an l arrive concatenated along channels in block order: ``x[l]`` is
    (N, 2l+1, sum of their muls). ``weight`` is e3nn's flat parameter: a (mul_in, mul_out)
    matrix per input block with l <= ``lmax_out``, in block order.
    """

    def __init__(self, blocks_in: list[tuple[int, int]], mul_out: int, lmax_out: int):
        super().__init__()
        self.mul_out, self.lmax_out = int(mul_out), int(lmax_out)
        self.ranges: dict[int, tuple[int, int]] = {}  # l -> (first weight index, total mul_in)
        start = 0
        for mul, l in blocks_in:
            if l <= lmax_out:
                first, fan_in = self.ranges.get(l, (start, 0))
                if fan_in and first + fan_in * mul_out != start:
                    raise ValueError("input blocks of one l must be adjacent")
                self.ranges[l] = (first, fan_in + mul)
                start += mul * mul_out
        self.weight = nn.Parameter(torch.randn(start))

    def matrix(self, l: int) -> torch.Tensor | None:
        """(fan_in, mul_out) normalised weights of output l, None where no input has that l."""
        if l not in self.ranges:
            return None
        first, fan_in = self.ranges[l]
        return frozen_cache(self, f"matrix{l}", [self.weight], lambda: self.weight[
            first:first + fan_in * self.mul_out].view(fan_in, self.mul_out) * fan_in**-0.5)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        """[(N, 2l+1, fan_in)] -> [(N, 2l+1, mul_out)] for l <= ``lmax_out`` (zeros where no
        input has that l)."""
        out = []
        for l in range(self.lmax_out + 1):
            w = self.matrix(l)
            out.append(x[0].new_zeros(x[0].shape[0], 2 * l + 1, self.mul_out) if w is None
                       else torch.matmul(x[l], w))
        return out


class _Weight(nn.Module):
    def __init__(self, rows: int, cols: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(rows, cols))


class RadialMLP(nn.Module):
    """e3nn's ``FullyConnectedNet(sizes, silu)``: bias-free layers, weights / sqrt(fan_in),
    SiLU rescaled to unit second moment. Zero input (beyond the cutoff) gives zero output.

    ``forward(x (E, sizes[0]), columns, *scales)`` returns (E, len(columns)): the output
    columns ``columns`` (reordered) times the ``scales``, folded into the last weight matrix.
    """

    def __init__(self, sizes: list[int]):
        super().__init__()
        from e3nn.math import normalize2mom

        self.sizes = [int(s) for s in sizes]
        for k in range(len(sizes) - 1):
            setattr(self, f"layer{k}", _Weight(sizes[k], sizes[k + 1]))
        self.act_scale = float(normalize2mom(nn.functional.silu).cst)

    def matrices(self, columns: torch.Tensor, *scales: torch.Tensor) -> list[torch.Tensor]:
        """The layers' effective (fan_in, fan_out) matrices for :func:`radial_mlp`: the
        normalisation, the activation's constant and (last layer) the column order and the
        product of ``scales`` folded in."""
        weights = [getattr(self, f"layer{k}").weight for k in range(len(self.sizes) - 1)]

        def compute():
            out = []
            for k, w in enumerate(weights):
                w = w * ((self.act_scale if k else 1.0) * self.sizes[k] ** -0.5)
                if k == len(weights) - 1:
                    w = w[:, columns]
                    for scale in scales:
                        w = w * scale
                out.append(w)
            return out

        return frozen_cache(self, "matrices", [*weights, columns, *scales], compute)

    def forward(self, x: torch.Tensor, columns: torch.Tensor,
                *scales: torch.Tensor) -> torch.Tensor:
        """x (E, sizes[0]) -> (E, len(columns))."""
        return radial_mlp(x, self.matrices(columns, *scales))


def radial_mlp(x: torch.Tensor, matrices: list[torch.Tensor]) -> torch.Tensor:
    """x @ W_0 -> SiLU -> ... -> @ W_last (no biases): (E, fan_in) -> (E, fan_out)."""
    for w in matrices[:-1]:
        x = nn.functional.silu(x @ w)
    return x @ matrices[-1]


class ProductBasis(nn.Module):
    """ACE-like many-body basis on each atom: B^(1) = A, B^(k) = linear_k(B^(k-1) ⊗ A),
    channel-wise, every natural coupling l1 x l2 -> l3 <= lmax, path weights per species
    (as in MACE). ``forward(a, species (N,))`` -> [B^(1), ..., B^(correlation)], per-l lists.
    """

    def __init__(self, channels: int, lmax: int, correlation: int, n_species: int):
        super().__init__()
        self.channels, self.correlation = int(channels), int(correlation)
        self.paths = [classify(*p) for p in natural_paths(lmax, lmax, lmax)]
        self.order = sorted_by_output(self.paths)
        self.linears = nn.ModuleList(
            IrrepsLinear([(channels, self.paths[k].l3) for k in self.order], channels, lmax)
            for _ in range(2, self.correlation + 1))
        self.weights = nn.ParameterList(
            nn.Parameter(torch.randn(n_species, len(self.paths) * channels))
            for _ in range(2, self.correlation + 1))
        _register_path_constants(self, self.paths, self.order, channels)

    def forward(self, a: list[torch.Tensor], species: torch.Tensor) -> list[list[torch.Tensor]]:
        """a [(N, 2l+1, C)] for l <= lmax, species (N,) -> ``correlation`` per-l lists."""
        basis = [a]
        for order, (linear, weight) in enumerate(zip(self.linears, self.weights)):
            w = frozen_cache(self, f"weights{order}", [weight, self.column_scale],
                             lambda w=weight: w[:, self.columns] * self.column_scale)[species]
            prev = basis[-1]
            terms: list[list[torch.Tensor]] = [[] for _ in a]
            for k in self.order:
                path = self.paths[k]
                terms[path.l3].append(couple_channelwise(path, prev[path.l1], a[path.l2],
                                                         getattr(self, f"coeff{k}", None)))
            z, start = [], 0  # paths sorted by l3: each l3's weights are contiguous columns
            for t in terms:
                width = len(t) * self.channels
                z.append(torch.cat(t, dim=2) * w[:, None, start:start + width])
                start += width
            basis.append(linear(z))
        return basis


def _register_path_constants(module: nn.Module, paths, order, channels: int) -> None:
    """Buffers (not saved) for ``paths``: ``columns`` reorders flat per-path weights
    (instruction order) into ``order``, ``column_scale`` the paths' scales, ``coeff{k}`` the
    coupling tensors of "general" paths."""
    columns = torch.cat([torch.arange(k * channels, (k + 1) * channels) for k in order])
    scale = torch.cat([torch.full((channels,), paths[k].scale, dtype=torch.float64)
                       for k in order])
    module.register_buffer("columns", columns, persistent=False)
    module.register_buffer("column_scale", scale.to(torch.get_default_dtype()),
                           persistent=False)
    for k, path in enumerate(paths):
        if path.kind == "general":
            module.register_buffer(f"coeff{k}", coupling(path.l1, path.l2, path.l3).to(
                torch.get_default_dtype()), persistent=False)


class EquivariantInteraction(nn.Module):
    """One interaction: node features ``channels x (0e + ...)`` up to ``lmax_in`` -> up to
    ``lmax_out``; atomic and product bases up to ``lmax``.

    Args:
        lmax_in, lmax_out: largest l of the input and output node features.
        lmax: largest l of the edge spherical harmonics and of the atomic / product bases.
        channels: multiplicity of every irrep.
        n_radial: size of the radial basis fed to the radial MLP.
        radial_hidden: width of the radial MLP's two hidden layers.
        correlation: correlation order of the product basis (1 = two-body messages only).
        n_species: number of elements (species-dependent product weights).
    """

    def __init__(self, lmax_in: int, lmax_out: int, lmax: int, channels: int, n_radial: int,
                 radial_hidden: int, correlation: int, n_species: int):
        super().__init__()
        self.lmax_in, self.lmax_out, self.lmax = int(lmax_in), int(lmax_out), int(lmax)
        self.channels = c = int(channels)
        self.irreps_in, self.irreps_out = natural_irreps(c, lmax_in), natural_irreps(c, lmax_out)
        self.irreps_sh = natural_irreps(1, lmax)
        self.irreps_a = natural_irreps(c, lmax)
        self.up = IrrepsLinear([(c, l) for l in range(lmax_in + 1)], c, lmax_in)
        self.paths = [classify(*p) for p in natural_paths(lmax_in, lmax, lmax)]
        self.order = sorted_by_output(self.paths)
        # Bias-free, second-moment-normalised MLP (as in NequIP/MACE): zero input at the
        # cutoff gives zero weights there, and signals keep unit scale through the layers.
        self.radial = RadialMLP([n_radial, radial_hidden, radial_hidden, len(self.paths) * c])
        self.to_a = IrrepsLinear([(c, self.paths[k].l3) for k in self.order], c, lmax)
        self.product = ProductBasis(c, lmax, correlation, n_species)
        self.mix = nn.ModuleList(IrrepsLinear([(c, l) for l in range(lmax + 1)], c, lmax_out)
                                 for _ in range(correlation))
        self.self_connection = IrrepsLinear([(c, l) for l in range(lmax_in + 1)], c, lmax_out)
        _register_path_constants(self, self.paths, self.order, c)
        self.edge_block = EDGE_BLOCK

    def forward(self, h: list[torch.Tensor], species: torch.Tensor, sh: list[torch.Tensor],
                radial: torch.Tensor, edge_index: torch.Tensor,
                inv_neighbours: torch.Tensor) -> dict[str, list]:
        """h [(A, 2l+1, C)] for l <= lmax_in, species (A,), sh [(E, 2l+1)] for l <= lmax,
        radial (E, n_radial) (already times the envelope), ``inv_neighbours`` the factor applied
        to the neighbour sum (1 / sqrt(average neighbour count), as in NequIP).

        Returns ``{"A": [(A, 2l+1, C)], "B": [A, B^(2), ...], "h": [(A, 2l+1, C)]}`` (per-l
        lists; ``h`` up to ``lmax_out``).
        """
        a = self.to_a(self.convolve(self.up(h), sh, radial, edge_index, inv_neighbours))
        basis = self.product(a, species)
        out = []
        for l in range(self.lmax_out + 1):
            parts = [b[l] for b in basis] + ([h[l]] if l <= self.lmax_in else [])
            out.append(torch.matmul(torch.cat(parts, dim=2), self._mix_matrix(l)))
        return {"A": a, "B": basis, "h": out}

    def _mix_matrix(self, l: int) -> torch.Tensor:
        """(correlation C [+ C], C) weights of output l from [B^(1), ..., h]."""
        linears = [*self.mix] + ([self.self_connection] if l <= self.lmax_in else [])
        return frozen_cache(self, f"mix{l}", [m.weight for m in linears],
                            lambda: torch.cat([m.matrix(l) for m in linears], dim=0))

    def convolve(self, x: list[torch.Tensor], sh: list[torch.Tensor], radial: torch.Tensor,
                 edge_index: torch.Tensor, inv_neighbours: torch.Tensor) -> list[torch.Tensor]:
        """Neighbour sums of the weighted couplings of every path: x [(A, 2l+1, C)] (after
        ``up``) -> per l3, (A, 2 l3 + 1, n C), the n paths into l3 in sorted order.

        Edges go in blocks of ``self.edge_block`` (default :data:`EDGE_BLOCK`): a block's
        per-edge temporaries are small enough for the allocator to reuse, where whole-system
        ones (tens of MB for 10^3 atoms) are mapped afresh, page by page, at every call."""
        matrices = self.radial.matrices(self.columns, self.column_scale, inv_neighbours)
        n_edges, block = edge_index.shape[1], self.edge_block
        n_atoms, c = x[0].shape[0], self.channels
        if n_edges <= block:  # unsliced: under torch.compile, no guard on the edge count
            messages = self._edge_messages(x, edge_index[1], sh, radial, matrices)
            pooled = [m.new_zeros(n_atoms, m.shape[1], c).index_add(0, edge_index[0], m)
                      for m in messages]
        else:
            # Very large systems: each block's messages are recomputed in the backward instead
            # of keeping every block's per-edge intermediates (edges x channels x paths: more
            # than 24 GB for 10^5 atoms). Sums in place: an out-of-place index_add per block
            # would copy the whole sums, time quadratic in system size.
            recompute = n_edges > RECOMPUTE_EDGES and torch.is_grad_enabled()
            pooled = None
            for start in range(0, n_edges, block):
                part = slice(start, start + block)
                args = (x, edge_index[1, part], [t[part] for t in sh], radial[part], matrices)
                messages = (checkpoint(self._edge_messages, *args, use_reentrant=False)
                            if recompute else self._edge_messages(*args))
                if pooled is None:
                    pooled = [m.new_zeros(n_atoms, m.shape[1], c) for m in messages]
                for total, m in zip(pooled, messages):
                    add_rows_(total, edge_index[0, part], m)
        groups: list[list[torch.Tensor]] = [[] for _ in range(self.lmax + 1)]
        for p, k in enumerate(self.order):
            groups[self.paths[k].l3].append(pooled[p])
        return [torch.cat(g, dim=2) for g in groups]

    def _edge_messages(self, x, j, sh, radial, matrices) -> list[torch.Tensor]:
        """One block of edges' messages, per path in sorted order: (E, 2 l3 + 1, C) each,
        from neighbour features x (after ``up``) at neighbours ``j`` (E,)."""
        n_paths, c = len(self.paths), self.channels
        xj = [t.index_select(0, j) for t in x]
        w = radial_mlp(radial, matrices)
        # unbind, not slices: the backward of slices would zero-fill a copy of w per path
        w = w.view(w.shape[0], n_paths, c).unbind(1)
        return [couple_edge(self.paths[k], xj[self.paths[k].l1], sh[self.paths[k].l2], w[p],
                            getattr(self, f"coeff{k}", None)) for p, k in enumerate(self.order)]
