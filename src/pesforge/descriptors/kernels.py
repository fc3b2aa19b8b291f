"""Angular symmetry-function kernels for the triplet sums.

The angular sums run over angle triplets, O(neighbours²) per atom, and dominate the cost of a
Behler–Parrinello potential. :func:`outer_scatter` forms the per-triplet products of radial
shells and angular terms chunk by chunk and scatters them straight into the feature rows, so
autograd never keeps the (T, n_shell x n_angle) products; its backward is written with
differentiable operations (second derivatives, needed to train on forces and stress, work) and
it has a forward-mode rule (used by the training feature cache). Tested against autograd of
the plain expression in ``tests/descriptors/test_angular_kernel.py``. Measured on a 1125-atom
ethanol box (2 threads): 53 ms per energy+forces call against 83 ms for the plain expression.
"""


from __future__ import annotations

import torch

CHUNK = 32768  # triplets per chunk: the per-chunk temporaries stay within the CPU caches


def _powers(base: torch.Tensor, exponents) -> dict:
    """base**n for the requested exponents; integers by binary exponentiation with shared
    intermediate powers (a handful of multiplications instead of one pow per exponent)."""
    memo = {1: base}

    def power(n):
        if n not in memo:
            memo[n] = power(n // 2) * power(n // 2) if n % 2 == 0 else power(n - 1) * base
        return memo[n]

    return {e: (power(int(e)) if float(e).is_integer() and e >= 1 else base**e)
            for e in exponents}


def _base(cos_theta: torch.Tensor, lambdas) -> torch.Tensor:
    lam = torch.tensor(lambdas, dtype=cos_theta.dtype, device=cos_theta.device)
    return (0.5 * (1.0 + lam * cos_theta[:, None])).clamp_min(0.0)  # (T, n_lambda)


def angular_part(cos_theta: torch.Tensor, zetas, lambdas) -> torch.Tensor:
    """2^(1-zeta) (1 + lambda cos theta)^zeta: (T,) -> (T, n_zeta * n_lambda), zeta-major."""
    powers = _powers(_base(cos_theta, lambdas), [float(z) for z in zetas])
    shape = (len(cos_theta), len(zetas) * len(lambdas))
    return 2.0 * torch.stack([powers[float(z)] for z in zetas], dim=1).reshape(shape)


class _OuterScatter(torch.autograd.Function):
    """See :func:`outer_scatter`."""

    @staticmethod
    def forward(s, a, slot, n_rows):
        return _scatter_products(s, a, slot, n_rows)

    @staticmethod
    def setup_context(ctx, inputs, output):
        s, a, slot, n_rows = inputs
        ctx.save_for_backward(s, a, slot)
        ctx.save_for_forward(s, a, slot)
        ctx.n_rows = n_rows

    @staticmethod
    def backward(ctx, grad):
        s, a, slot = ctx.saved_tensors
        grad_s, grad_a = [], []
        for lo in range(0, len(s), CHUNK):
            sc, ac = s[lo:lo + CHUNK], a[lo:lo + CHUNK]
            g = grad.index_select(0, slot[lo:lo + CHUNK]).view(len(sc), s.shape[1], a.shape[1])
            grad_s.append(torch.bmm(g, ac.unsqueeze(2)).squeeze(2))
            grad_a.append(torch.bmm(sc.unsqueeze(1), g).squeeze(1))
        if not grad_s:
            return torch.zeros_like(s), torch.zeros_like(a), None, None
        return torch.cat(grad_s), torch.cat(grad_a), None, None

    @staticmethod
    def jvp(ctx, ds, da, _slot, _n_rows):
        s, a, slot = ctx.saved_tensors
        out = 0
        if ds is not None:
            out = out + _scatter_products(ds, a, slot, ctx.n_rows)
        if da is not None:
            out = out + _scatter_products(s, da, slot, ctx.n_rows)
        return out


def _scatter_products(s, a, slot, n_rows: int) -> torch.Tensor:
    out = s.new_zeros(n_rows, s.shape[1] * a.shape[1])
    for lo in range(0, len(s), CHUNK):
        products = s[lo:lo + CHUNK, :, None] * a[lo:lo + CHUNK, None, :]
        out.index_add_(0, slot[lo:lo + CHUNK], products.reshape(-1, out.shape[1]))
    return out


def outer_scatter(s: torch.Tensor, a: torch.Tensor, slot: torch.Tensor,
                  n_rows: int) -> torch.Tensor:
    """Sum of outer products per slot: (T, n_s), (T, n_a), (T,) -> (n_rows, n_s * n_a)."""
    return _OuterScatter.apply(s, a, slot, n_rows)

