"""Loops of the G5 symmetry-function sums, compiled with numba: the CPU inference path.

The eager descriptor evaluates the per-triplet factors of G5 as a dozen (T, k) tensor
operations, each a pass through memory; on a 1125-atom ethanol box (113 k angle triplets)
those passes, forward and backward, were most of an energy+forces call. Here one loop per
centre atom computes its G5 sums (threads over centres; no write conflicts, a centre's edges
are its own), one more their gradient with respect to the edge vectors, and one their
derivative along given edge displacements (forward mode). Arithmetic is float64. The
autograd function that calls these loops is in :mod:`pesforge.descriptors.numba_sums`.
(The radial sums were tried as a loop too: no faster than the eager half-list evaluation
with vectorised exps, so they stay eager.)

The parallel loops' shapes: ``start`` (C + 1,) the first edge of each centre (edges grouped
by centre); ``species`` (E,) the neighbour's species index; outputs indexed by centre.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; kept importable without it
    numba = None

#: The floor of the Gaussians' exponent, as in the eager descriptor (``MIN_EXPONENT``)
FLOOR = -80.0


def _njit(**options):
    if numba is None:
        return lambda function: function
    return numba.njit(cache=True, fastmath=True, **options)


@_njit(inline="always")
def _powers(base, table):
    """table[k] = base**k for k < len(table): one product each, no branches."""
    table[0] = 1.0
    for k in range(1, table.shape[0]):
        table[k] = table[k - 1] * base


@_njit(inline="always")
def _dot(x, a, y, b):
    """x[a] . y[b] of two (n, 3) arrays."""
    return x[a, 0] * y[b, 0] + x[a, 1] * y[b, 1] + x[a, 2] * y[b, 2]


@_njit(inline="always")
def _scratch(zetas, lambdas):
    """A centre's work arrays: angular terms, their derivatives, a power table."""
    n_zl = zetas.shape[0] * lambdas.shape[0]
    return np.empty(n_zl), np.empty(n_zl), np.empty(zetas.max() + 1)


@_njit(parallel=True)
def _angular_edges(vectors, eta, shift, r_cut, r, unit, shells, d_shells):
    """Per edge (inside the angular cutoff): length r, unit vector, the G5 shells
    g_s(r) = exp(-eta_s (r - r_s)^2) f_c(r) and dg_s/dr."""
    for e in numba.prange(vectors.shape[0]):
        x, y, z = vectors[e, 0], vectors[e, 1], vectors[e, 2]
        d = math.sqrt(x * x + y * y + z * z)
        r[e] = d
        unit[e, 0] = x / d
        unit[e, 1] = y / d
        unit[e, 2] = z / d
        cutoff = 0.5 * (math.cos(math.pi * d / r_cut) + 1.0)
        d_cutoff = -0.5 * math.pi / r_cut * math.sin(math.pi * d / r_cut)
        for s in range(eta.shape[0]):
            t = d - shift[s]
            gaussian = math.exp(max(-eta[s] * t * t, FLOOR))
            shells[e, s] = gaussian * cutoff
            d_shells[e, s] = gaussian * (d_cutoff - 2.0 * eta[s] * t * cutoff)


@_njit(parallel=True)
def _angular_sums(start, species, pair, unit, shells, zetas, lambdas, out):
    """out[c, pair, s, z * L + l] = 2 sum_{a<b around c} g_s(r_a) g_s(r_b) ((1 + l cos)/2)^z."""
    n_zl = zetas.shape[0] * lambdas.shape[0]
    for c in numba.prange(start.shape[0] - 1):
        angular = np.empty(n_zl)
        table = np.empty(zetas.max() + 1)
        for a in range(start[c], start[c + 1]):
            for b in range(a + 1, start[c + 1]):
                cos = _dot(unit, a, unit, b)
                for li in range(lambdas.shape[0]):
                    _powers(max(0.5 * lambdas[li] * cos + 0.5, 0.0), table)
                    for zi in range(zetas.shape[0]):
                        angular[zi * lambdas.shape[0] + li] = table[zetas[zi]]
                p = pair[species[a], species[b]]
                for s in range(shells.shape[1]):
                    w = 2.0 * shells[a, s] * shells[b, s]
                    for q in range(n_zl):
                        out[c, p, s, q] += w * angular[q]


@_njit(inline="always")
def _angular_terms(cos, zetas, lambdas, table, angular, d_angular):
    """angular[z * L + l] = ((1 + lambda_l cos) / 2)^zeta_z and d_angular its d/dcos."""
    n_l = lambdas.shape[0]
    for li in range(n_l):
        base = 0.5 * lambdas[li] * cos + 0.5
        _powers(max(base, 0.0), table)
        slope = 0.5 * lambdas[li] if base > 0.0 else 0.0
        for zi in range(zetas.shape[0]):
            angular[zi * n_l + li] = table[zetas[zi]]
            d_angular[zi * n_l + li] = zetas[zi] * table[zetas[zi] - 1] * slope


@_njit(parallel=True)
def _angular_backward(start, species, pair, r, unit, shells, d_shells, zetas, lambdas,
                      grad_out, grad_vectors):
    """grad_vectors (E, 3): the gradient of sum(grad_out * out) with respect to the edges."""
    n_zl = zetas.shape[0] * lambdas.shape[0]
    for c in numba.prange(start.shape[0] - 1):
        e0, e1 = start[c], start[c + 1]
        d_r = np.zeros(e1 - e0)
        d_unit = np.zeros((e1 - e0, 3))
        angular, d_angular, table = _scratch(zetas, lambdas)
        for a in range(e0, e1):
            for b in range(a + 1, e1):
                cos = _dot(unit, a, unit, b)
                _angular_terms(cos, zetas, lambdas, table, angular, d_angular)
                p = pair[species[a], species[b]]
                d_cos = 0.0
                for s in range(shells.shape[1]):
                    h = 0.0
                    h_cos = 0.0
                    for q in range(n_zl):
                        h += grad_out[c, p, s, q] * angular[q]
                        h_cos += grad_out[c, p, s, q] * d_angular[q]
                    d_cos += 2.0 * shells[a, s] * shells[b, s] * h_cos
                    d_r[a - e0] += 2.0 * h * shells[b, s] * d_shells[a, s]
                    d_r[b - e0] += 2.0 * h * shells[a, s] * d_shells[b, s]
                for k in range(3):
                    d_unit[a - e0, k] += d_cos * unit[b, k]
                    d_unit[b - e0, k] += d_cos * unit[a, k]
        for a in range(e0, e1):
            i = a - e0
            radial = _dot(d_unit, i, unit, a)
            for k in range(3):
                grad_vectors[a, k] = (d_r[i] * unit[a, k]
                                      + (d_unit[i, k] - radial * unit[a, k]) / r[a])


@_njit(parallel=True)
def _angular_jvp(start, species, pair, r, unit, shells, d_shells, zetas, lambdas, tangents, out):
    """out (as :func:`_angular_sums`): the derivative of the sums along ``tangents`` (E, 3)."""
    n_zl = zetas.shape[0] * lambdas.shape[0]
    for c in numba.prange(start.shape[0] - 1):
        e0, e1 = start[c], start[c + 1]
        d_r = np.empty(e1 - e0)
        d_unit = np.empty((e1 - e0, 3))
        for a in range(e0, e1):
            i = a - e0
            d_r[i] = _dot(unit, a, tangents, a)
            for k in range(3):
                d_unit[i, k] = (tangents[a, k] - d_r[i] * unit[a, k]) / r[a]
        angular, d_angular, table = _scratch(zetas, lambdas)
        for a in range(e0, e1):
            for b in range(a + 1, e1):
                cos = _dot(unit, a, unit, b)
                d_cos = 0.0
                for k in range(3):
                    d_cos += d_unit[a - e0, k] * unit[b, k] + unit[a, k] * d_unit[b - e0, k]
                _angular_terms(cos, zetas, lambdas, table, angular, d_angular)
                p = pair[species[a], species[b]]
                for s in range(shells.shape[1]):
                    w = 2.0 * shells[a, s] * shells[b, s]
                    d_w = 2.0 * (d_shells[a, s] * d_r[a - e0] * shells[b, s]
                                 + shells[a, s] * d_shells[b, s] * d_r[b - e0])
                    for q in range(n_zl):
                        out[c, p, s, q] += d_w * angular[q] + w * d_angular[q] * d_cos
