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

