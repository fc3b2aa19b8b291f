"""Where the terms of the symmetry-function sums go: :class:`Rows`, the layouts of a row sum.

Item t (an edge, an angle triplet) is summed into row ``slot[t]`` (a centre atom and a
neighbour element or element pair). With many items the sums are products with the constant
sparse (CSR) matrix of that assignment, which MKL computes threaded and without the per-item
temporaries of ``index_add``; with few, plain ``index_add`` and gathers. The autograd rules
built on these layouts are in :mod:`pesforge.descriptors.kernels`.
"""

from __future__ import annotations

import warnings

import torch

CHUNK = 32768  # items per chunk of the dense outer-product sums
MAX_WIDTH = 1024  # largest number of columns of the terms (shells, angular terms) summed
SPARSE_MIN_ITEMS = 32768  # fewer items are summed with index_add (see Rows)


class Rows:
    """Item t is summed into row ``slot[t]`` of ``n_rows``: the layouts of that sum.

    Built once per descriptor call and shared by the forward, backward and forward-mode
    rules of :mod:`pesforge.descriptors.kernels`. With at least :data:`SPARSE_MIN_ITEMS` items the sums are CSR products
    (one stable argsort of the slots, index tensors int32 when every index fits: items and
    rows times the widths of the summed terms, at most :data:`MAX_WIDTH`, below 2^31);
    fewer items use ``index_add`` and gathers, which PyTorch runs on one thread below its
    parallel grain size, where MKL's sparse products would start the whole thread team.
    """

    def __init__(self, slot: torch.Tensor, n_rows: int, *, sparse: bool | None = None,
                 index_dtype: torch.dtype | None = None):
        self.slot = slot
        self.n_rows = int(n_rows)
        self.n_items = int(slot.shape[0])
        self.sparse = self.n_items >= SPARSE_MIN_ITEMS if sparse is None else bool(sparse)
        big = max(self.n_items, self.n_rows) * MAX_WIDTH >= 2**31
        self.itype = index_dtype or (torch.int64 if big else torch.int32)
        self._cache: dict = {}
        self.mirror: tuple[torch.Tensor, torch.Tensor] | None = None

    @classmethod
    def with_mirrors(cls, slot: torch.Tensor, mirrored: torch.Tensor, mirror_slot: torch.Tensor,
                     n_rows: int) -> Rows:
        """Rows of items that count twice: item t goes to ``slot[t]`` and the items
        ``mirrored`` (distinct indices) also to ``mirror_slot`` (for a pair term r_ij = r_ji
        computed once and summed into both atoms' rows). Only ``row_sum`` takes these."""
        rows = cls(torch.cat([slot, mirror_slot]), n_rows)
        rows.n_sources = int(slot.shape[0])
        rows.mirror = (mirrored, mirror_slot)
        return rows

    def _sources(self) -> torch.Tensor:
        """(K,) the item each summed term comes from (mirrored items twice)."""
        return self._memo("sources", lambda: torch.cat([
            torch.arange(self.n_sources, device=self.slot.device), self.mirror[0]]))

    def _memo(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @property
    def order(self) -> torch.Tensor:
        """(T,) items grouped by row, in their order within a row."""
        def build():
            slot = self.slot
            if len(slot) < 2 or bool((slot[1:] >= slot[:-1]).all()):  # already grouped
                return torch.arange(len(slot), device=slot.device)
            # narrow keys sort faster (int16: ~3x, a radix sort), and the order is the same
            key = slot.to(torch.int16 if self.n_rows <= 2**15 else
                          torch.int32 if self.n_rows <= 2**31 else torch.int64)
            return torch.argsort(key, stable=True)
        return self._memo("order", build)

    @property
    def crow(self) -> torch.Tensor:
        """(n_rows + 1,) CSR row pointers of the rows' sums."""
        def build():
            counts = torch.bincount(self.slot, minlength=self.n_rows)
            return torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)]).to(self.itype)
        return self._memo("crow", build)

    def _slot(self) -> torch.Tensor:
        return self._memo("slot", lambda: self.slot.to(self.itype))

    def _arange(self, n: int) -> torch.Tensor:
        return torch.arange(n, dtype=self.itype, device=self.slot.device)

    def _csr(self, crow, col, values, shape) -> torch.Tensor:
        with warnings.catch_warnings():  # "sparse CSR support is in beta": we test what we use
            warnings.simplefilter("ignore")
            return torch.sparse_csr_tensor(crow, col, values, shape, check_invariants=False)

    def sum(self, x: torch.Tensor) -> torch.Tensor:
        """(T, K) -> (n_rows, K): the rows' sums of items (no autograd; see row_sum)."""
        if not self.sparse:
            return self.dense_sum(x)
        ones = self._memo(("ones", x.dtype),
                          lambda: torch.ones(self.n_items, dtype=x.dtype, device=x.device))
        col = self._memo("col", lambda: (self.order if self.mirror is None else
                                         self._sources().index_select(0, self.order)
                                         ).to(self.itype))
        return self._csr(self.crow, col, ones, (self.n_rows, x.shape[0])) @ x

    def adjoint(self, g: torch.Tensor) -> torch.Tensor:
        """The transpose of :meth:`sum`: (n_rows, K) -> (items, K), g[slot] (plus g[mirror
        slot] on mirrored items)."""
        if self.mirror is None:
            return g.index_select(0, self.slot)
        mirrored, mirror_slot = self.mirror
        out = g.index_select(0, self.slot[:self.n_sources])
        # mirrored items are distinct: a gather, an add and a copy, no accumulating scatter
        return out.index_copy(0, mirrored, out.index_select(0, mirrored)
                              + g.index_select(0, mirror_slot))

    def outer_sum(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """(T, N), (T, Q) -> (n_rows, N * Q): rows' sums of the outer products s_t a_t^T."""
        n, q, t, r = s.shape[1], a.shape[1], self.n_items, self.n_rows
        if max(n, q) > MAX_WIDTH:
            raise ValueError(f"terms of width {max(n, q)} > MAX_WIDTH = {MAX_WIDTH}")
        if not self.sparse:
            return self.dense_outer_sum(s, a)
        crow, col = self._memo(("outer", n), lambda: (
            torch.cat([self.crow[:-1] + k * t for k in range(n)]
                      + [self.crow.new_tensor([n * t])]),
            self.order.to(self.itype).repeat(n)))
        values = s.index_select(0, self.order).t().reshape(-1)  # row (k, r): s[items of r, k]
        out = self._csr(crow, col, values, (n * r, t)) @ a
        return out.view(n, r, q).transpose(0, 1).reshape(r, n * q)

    def dot_a(self, g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """(n_rows, N * Q), (T, Q) -> (T, N): sum_q g[slot_t, n, q] a[t, q]."""
        if not self.sparse:
            return self.dense_dot_a(g, a)
        q, r, t = a.shape[1], self.n_rows, self.n_items
        n = g.shape[1] // q
        col = self._memo(("dot_a", q), lambda: torch.add(
            self._arange(q), self._slot()[:, None], alpha=q).reshape(-1))
        crow = self._memo(("uniform", q), lambda: torch.arange(
            0, q * t + 1, q, dtype=self.itype, device=a.device))
        rhs = g.reshape(r, n, q).transpose(1, 2).reshape(r * q, n)
        return self._csr(crow, col, a.reshape(-1), (t, r * q)) @ rhs

    def dot_s(self, g: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """(n_rows, N * Q), (T, N) -> (T, Q): sum_n g[slot_t, n, q] s[t, n]."""
        if not self.sparse:
            return self.dense_dot_s(g, s)
        n, r, t = s.shape[1], self.n_rows, self.n_items
        q = g.shape[1] // n
        col = self._memo(("dot_s", n), lambda: torch.add(
            self._slot()[:, None], self._arange(n), alpha=r).reshape(-1))
        crow = self._memo(("uniform", n), lambda: torch.arange(
            0, n * t + 1, n, dtype=self.itype, device=s.device))
        rhs = g.reshape(r, n, q).transpose(0, 1).reshape(n * r, q)
        return self._csr(crow, col, s.reshape(-1), (t, n * r)) @ rhs

    # Dense forms of the same sums: for few items, and for the forward-mode rules
    # (torch.func's wrapped tensors cannot enter sparse products).

    def dense_sum(self, x: torch.Tensor) -> torch.Tensor:
        terms = x if self.mirror is None else x.index_select(0, self._sources())
        return x.new_zeros(self.n_rows, x.shape[1]).index_add(0, self.slot, terms)

    def dense_outer_sum(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        out = s.new_zeros(self.n_rows, s.shape[1] * a.shape[1])
        for lo in range(0, self.n_items, CHUNK):
            products = s[lo:lo + CHUNK, :, None] * a[lo:lo + CHUNK, None, :]
            out = out.index_add(0, self.slot[lo:lo + CHUNK], products.flatten(1))
        return out

    def dense_dot_a(self, g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        gathered = g.index_select(0, self.slot).view(self.n_items, -1, a.shape[1])
        return (gathered * a[:, None, :]).sum(2)

    def dense_dot_s(self, g: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        gathered = g.index_select(0, self.slot).view(self.n_items, s.shape[1], -1)
        return (gathered * s[:, :, None]).sum(1)
