"""Radial bases for message-passing models: Bessel functions times a smooth envelope.

Pure kernels: (E,) distances in Å -> (E, n) basis values. The envelope
(:func:`pesforge.physics.cutoffs.polynomial_envelope`) makes every basis function and its first
two derivatives vanish at the cutoff, so energies and forces are smooth when neighbours cross it.
"""

from __future__ import annotations

import math

import torch

from pesforge.physics.cutoffs import polynomial_envelope


def bessel_basis(r: torch.Tensor, r_cut: float, n: int,
                 frequencies: torch.Tensor | None = None) -> torch.Tensor:
    """Spherical Bessel functions of order 0, sqrt(2 / r_c) sin(k pi r / r_c) / r, k = 1..n.

    Args:
        r: (E,) distances, Å (strictly positive).
        r_cut: cutoff radius, Å.
        n: number of basis functions.
        frequencies: optional (n,) values replacing k pi (trainable in DimeNet/NequIP).

    Returns:
        (E, n) basis values, 1/Å^1.5, dtype of ``r``.
        J. Gasteiger et al., DimeNet, ICLR 2020, eq. 7.
    """
    if frequencies is None:
        frequencies = torch.arange(1, n + 1, dtype=r.dtype, device=r.device) * math.pi
    x = r[:, None] / r_cut
    return math.sqrt(2.0 / r_cut) * torch.sin(frequencies * x) / r[:, None]


def radial_embedding(r: torch.Tensor, r_cut: float, n: int, p: int = 6,
                     frequencies: torch.Tensor | None = None) -> torch.Tensor:
    """Bessel basis times the polynomial envelope of order ``p``: (E,) Å -> (E, n)."""
    return bessel_basis(r, r_cut, n, frequencies) * polynomial_envelope(r, r_cut, p)[:, None]
