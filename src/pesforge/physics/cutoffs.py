"""Smooth cutoff functions f_c(r): 1 at r = 0, 0 with vanishing derivative at r >= r_c."""

from __future__ import annotations

import math

import torch


def cosine_cutoff(r: torch.Tensor, r_cut: float) -> torch.Tensor:
    """Behler's cosine cutoff 0.5 (cos(pi r / r_c) + 1) for r < r_c, else 0.

    J. Behler, J. Chem. Phys. 134, 074106 (2011). Continuous with its first derivative at r_c.
    """
    inside = r < r_cut
    value = 0.5 * (torch.cos(r * (math.pi / r_cut)) + 1.0)
    return torch.where(inside, value, torch.zeros_like(r))


def polynomial_envelope(r: torch.Tensor, r_cut: float, p: int = 6) -> torch.Tensor:
    """Polynomial envelope u(d), d = r / r_c, for r < r_c, else 0:

        u(d) = 1 - (p+1)(p+2)/2 d^p + p(p+2) d^(p+1) - p(p+1)/2 d^(p+2)

    u(0) = 1; the value and its first and second derivatives vanish at r_c (p >= 2).
    J. Gasteiger, J. Groß, S. Günnemann, DimeNet,
    ICLR 2020 (arXiv:2003.03123), eq. 8. Shape and dtype follow ``r`` (Å).
    """
    if p < 2:
        raise ValueError(f"polynomial_envelope needs p >= 2, got {p}")
    d = r / r_cut
    dp = d**p
    value = (1.0 - 0.5 * (p + 1) * (p + 2) * dp + p * (p + 2) * dp * d
             - 0.5 * p * (p + 1) * dp * d * d)
    return torch.where(r < r_cut, value, torch.zeros_like(r))


def smoothstep_switch(r: torch.Tensor, r_on, r_off) -> torch.Tensor:
    """Switch 1 for r <= r_on, 0 for r >= r_off, 1 - (10 x³ - 15 x⁴ + 6 x⁵) in between with
    x = (r - r_on) / (r_off - r_on): continuous with its first and second derivatives.

    ``r_on``/``r_off`` are floats or tensors broadcasting with ``r`` (Å); requires r_on < r_off.
    """
    x = ((r - r_on) / (r_off - r_on)).clamp(0.0, 1.0)
    return 1.0 - x * x * x * (10.0 + x * (-15.0 + 6.0 * x))
