"""Pure kernels of the equivariant layers on per-l feature lists (e3nn only at build time).

A feature list ``x`` holds one tensor per angular momentum l = 0..L: ``x[l]`` of shape
(N, 2l+1, C), component-major so that a channel-mixing linear layer is one matmul. Every
feature has parity (-1)^l ("natural" irreps; products of them that keep this parity are the
only couplings the model uses). :func:`to_e3nn` gives e3nn's flat layout (N, sum_l C (2l+1)),
channel-major, on which ``o3.Irreps.D_from_matrix`` acts; the l = 1 components are (x, y, z).

A coupling path (l1, l2, l3) multiplies an l1 and an l2 feature into an l3 feature with the
coefficients sqrt(2 l3 + 1) x Wigner 3j (e3nn's "component" normalisation). The common special
cases (a scalar factor, or a dot product into a scalar) are done as elementwise products; the
rest (only for L >= 2) as a small matmul with the coefficient tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Path:
    """One coupling l1 x l2 -> l3.

    ``kind``: "x" (l2 = 0: out = x), "y" (l1 = 0: out = x0 * y), "dot" (l3 = 0:
    out = sum_m x_m y_m) or "general" (uses the coefficient tensor). ``scale`` is the constant the
    special kinds are multiplied by (the caller folds it into the path's weights).
    """

    l1: int
    l2: int
    l3: int
    kind: str
    scale: float


def natural_paths(lmax1: int, lmax2: int, lmax_out: int) -> list[tuple[int, int, int]]:
    """Every (l1, l2, l3), l1 <= lmax1, l2 <= lmax2, |l1 - l2| <= l3 <= min(l1 + l2, lmax_out),
    l1 + l2 + l3 even, in e3nn's instruction order (by l1, then l2, then l3)."""
    return [(l1, l2, l3) for l1 in range(lmax1 + 1) for l2 in range(lmax2 + 1)
            for l3 in range(abs(l1 - l2), min(l1 + l2, lmax_out) + 1) if (l1 + l2 + l3) % 2 == 0]


def coupling(l1: int, l2: int, l3: int) -> torch.Tensor:
    """(2 l1 + 1, 2 l2 + 1, 2 l3 + 1) float64 coefficients sqrt(2 l3 + 1) x e3nn's Wigner 3j."""
    from e3nn import o3

    return math.sqrt(2 * l3 + 1) * o3.wigner_3j(l1, l2, l3, dtype=torch.float64)


def classify(l1: int, l2: int, l3: int) -> Path:
    """The :class:`Path` of a coupling, checked against its coefficient tensor."""
    coeff = coupling(l1, l2, l3)
    if l2 == 0:
        kind, scale, eye = "x", 1.0, coeff[:, 0, :]
    elif l1 == 0:
        kind, scale, eye = "y", 1.0, coeff[0]
    elif l3 == 0:
        kind, scale, eye = "dot", 1.0 / math.sqrt(2 * l1 + 1), coeff[:, :, 0]
    else:
        return Path(l1, l2, l3, "general", 1.0)
    if not torch.allclose(eye, scale * torch.eye(eye.shape[0], dtype=eye.dtype), atol=1e-12):
        raise AssertionError(f"unexpected Wigner 3j for {(l1, l2, l3)}")  # pragma: no cover
    return Path(l1, l2, l3, kind, scale)


def sorted_by_output(paths: list[Path]) -> list[int]:
    """Indices of ``paths`` sorted by l3, ties in their order (e3nn's ``Irreps.sort``)."""
    return sorted(range(len(paths)), key=lambda k: (paths[k].l3, k))


def spherical_harmonics(vec: torch.Tensor, lmax: int) -> list[torch.Tensor]:
    """Real spherical harmonics of the directions of ``vec`` (E, 3), e3nn's "component"
    normalisation (|Y^l|^2 = 2l + 1) and basis: a list of (E, 2l+1) for l = 0..lmax.

    Explicit polynomials for l <= 2 (identical to e3nn's); e3nn computes higher l.
    """
    unit = vec / torch.linalg.vector_norm(vec, dim=1, keepdim=True).clamp_min(1e-12)
    out = [torch.ones_like(vec[:, :1])]
    if lmax >= 1:
        out.append(math.sqrt(3.0) * unit)
    if lmax >= 2:
        x, y, z = unit.unbind(1)
        s15 = math.sqrt(15.0)
        out.append(torch.stack([s15 * x * z, s15 * x * y,
                                math.sqrt(5.0) * (y * y - 0.5 * (x * x + z * z)),
                                s15 * y * z, 0.5 * s15 * (z * z - x * x)], dim=1))
    if lmax >= 3:
        from e3nn import o3

        sh = o3.spherical_harmonics(list(range(3, lmax + 1)), unit, normalize=False,
                                    normalization="component")
        start = 0
        for l in range(3, lmax + 1):
            out.append(sh[:, start:start + 2 * l + 1])
            start += 2 * l + 1
    return out


def couple_edge(path: Path, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
                coeff: torch.Tensor | None) -> torch.Tensor:
    """One weighted path of an l1 feature with an edge's spherical harmonic ("uvu").

    x (E, 2 l1 + 1, C), y (E, 2 l2 + 1) (one value per edge, no channels), w (E, C) the path
    weights (``path.scale`` already folded in), ``coeff`` the :func:`coupling` tensor for
    "general" paths -> (E, 2 l3 + 1, C).
    """
    w = w[:, None, :]
    if path.kind == "x":  # Y^0 = 1
        return x * w
    if path.kind == "y":
        return (x * w) * y[:, :, None]
    if path.kind == "dot":
        return (x * y[:, :, None]).sum(1, keepdim=True) * w
    t = torch.einsum("ijk,ej->eki", coeff, y)  # (E, 2 l3 + 1, 2 l1 + 1)
    return torch.bmm(t, x) * w


def couple_channelwise(path: Path, x: torch.Tensor, y: torch.Tensor,
                       coeff: torch.Tensor | None) -> torch.Tensor:
    """One path of two per-channel features ("uuu"), without ``path.scale``.

    x (N, 2 l1 + 1, C), y (N, 2 l2 + 1, C), ``coeff`` the :func:`coupling` tensor for
    "general" paths -> (N, 2 l3 + 1, C).
    """
    if path.kind in ("x", "y"):
        return x * y
    if path.kind == "dot":
        return (x * y).sum(1, keepdim=True)
    outer = (x[:, :, None, :] * y[:, None, :, :]).flatten(1, 2)
    return torch.matmul(coeff.flatten(0, 1).T, outer)


def to_e3nn(x: list[torch.Tensor]) -> torch.Tensor:
    """Per-l list [(N, 2l+1, C)] -> e3nn's flat (N, sum_l C (2l+1)) layout."""
    return torch.cat([t.transpose(1, 2).reshape(t.shape[0], -1) for t in x], dim=1)


def from_e3nn(flat: torch.Tensor, channels: int, lmax: int) -> list[torch.Tensor]:
    """Inverse of :func:`to_e3nn` for ``channels x (0e + 1o + ...)`` up to ``lmax``."""
    out, start = [], 0
    for l in range(lmax + 1):
        d = 2 * l + 1
        out.append(flat[:, start:start + channels * d].reshape(-1, channels, d).transpose(1, 2))
        start += channels * d
    return out
