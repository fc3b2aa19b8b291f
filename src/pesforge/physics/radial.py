"""Radial bases for message-passing models: Bessel functions or Gaussians, times a smooth
envelope.

Pure kernels: (E,) distances in Å -> (E, n) basis values. The envelope
(:func:`pesforge.physics.cutoffs.polynomial_envelope`, or Behler's cosine cutoff) makes every
basis function vanish at the cutoff with its first (polynomial: and second) derivative, so
energies and forces are continuous when neighbours cross it.
"""

from __future__ import annotations

import math

import torch

from pesforge.physics.cutoffs import cosine_cutoff, polynomial_envelope


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


def gaussian_basis(r: torch.Tensor, r_cut: float, n: int) -> torch.Tensor:
    """n Gaussians exp(-(r - mu_k)^2 / (2 w^2)), centres mu_k evenly spaced on [0, r_c],
    width w their spacing (SchNet's and SchNetPack's ``GaussianRBF``).

    Args:
        r: (E,) distances, Å.
        r_cut: cutoff radius, Å.
        n: number of Gaussians (>= 2).

    Returns:
        (E, n) dimensionless basis values, dtype of ``r``.
    """
    if n < 2:
        raise ValueError(f"gaussian_basis needs n >= 2, got {n}")
    centres = torch.linspace(0.0, r_cut, n, dtype=r.dtype, device=r.device)
    width = r_cut / (n - 1)
    return torch.exp(-0.5 * ((r[:, None] - centres) / width) ** 2)


#: Radial bases by name: ``(r (E,), r_cut, n) -> (E, n)``.
RADIAL_BASES = {"bessel": bessel_basis, "gaussian": gaussian_basis}
#: Envelopes by name: ``(r (E,), r_cut, p) -> (E,)``; ``p`` is the polynomial's order (the
#: cosine cutoff has none).
ENVELOPES = {"polynomial": polynomial_envelope,
             "cosine": lambda r, r_cut, p: cosine_cutoff(r, r_cut)}


def check_radial(basis: str, envelope: str) -> None:
    """Raise a ValueError unless ``basis`` names a :data:`RADIAL_BASES` entry and ``envelope``
    an :data:`ENVELOPES` one."""
    if basis not in RADIAL_BASES or envelope not in ENVELOPES:
        raise ValueError(f"radial_basis must be one of {sorted(RADIAL_BASES)} and envelope "
                         f"one of {sorted(ENVELOPES)}, got {basis!r}, {envelope!r}")


def radial_embedding(r: torch.Tensor, r_cut: float, n: int, p: int = 6,
                     basis: str = "bessel", envelope: str = "polynomial") -> torch.Tensor:
    """A basis of :data:`RADIAL_BASES` times an envelope of :data:`ENVELOPES` (a polynomial
    one of order ``p``): (E,) Å -> (E, n)."""
    return RADIAL_BASES[basis](r, r_cut, n) * ENVELOPES[envelope](r, r_cut, p)[:, None]
