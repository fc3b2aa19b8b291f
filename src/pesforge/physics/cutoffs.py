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


def polynomial_cutoff(r: torch.Tensor, r_cut: float, p: int = 6) -> torch.Tensor:
    """The smooth polynomial envelope of DimeNet (Klicpera et al., ICLR 2020), order ``p``.

    Continuous with its first p-1 derivatives at r_c... to order 2 for the default p = 6.
    """
    x = r / r_cut
    value = (1.0 - 0.5 * (p + 1) * (p + 2) * x**p + p * (p + 2) * x ** (p + 1)
             - 0.5 * p * (p + 1) * x ** (p + 2))
    return torch.where(x < 1.0, value, torch.zeros_like(r))
