"""Pure torch kernels of the exchange-correlation functional, in atomic units (Hartree, Bohr).

Exchange of a spin-unpolarised density: e_x = e_x^unif(n) F_x(s) with
e_x^unif(n) = -(3/4)(3/pi)^(1/3) n^(4/3) and the reduced gradient
s = |grad n| / (2 (3 pi^2)^(1/3) n^(4/3)) (Perdew, Burke, Ernzerhof, PRL 77, 3865 (1996)).
"""

from __future__ import annotations

import math

import torch

#: PBE exchange constants and the Lieb–Oxford bound F_x <= 1 + KAPPA = 1.804.
KAPPA = 0.804
MU = 0.2195149727645171
LIEB_OXFORD = 1.0 + KAPPA
#: Densities (Bohr^-3) below this contribute nothing (as libxc's thresholds).
DENSITY_FLOOR = 1e-12

_CX = -0.75 * (3.0 / math.pi) ** (1.0 / 3.0)
_S_PREFACTOR = 2.0 * (3.0 * math.pi**2) ** (1.0 / 3.0)


def safe_density(n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(mask, n_safe)``: mask of points above :data:`DENSITY_FLOOR` and the density with
    the others replaced by 1, so no NaN reaches a gradient through ``torch.where``."""
    mask = n > DENSITY_FLOOR
    return mask, torch.where(mask, n, torch.ones_like(n))


def lda_exchange(n: torch.Tensor) -> torch.Tensor:
    """Uniform-gas exchange energy per volume e_x^unif(n) (Ha/Bohr^3) of a density n > 0."""
    return _CX * n ** (4.0 / 3.0)


def reduced_gradient_squared(n: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """s^2 = |grad n|^2 / (2 (3 pi^2)^(1/3) n^(4/3))^2, dimensionless; ``sigma`` = |grad n|^2."""
    return sigma / (_S_PREFACTOR**2 * n ** (8.0 / 3.0))


def pbe_exchange_factor(s2: torch.Tensor) -> torch.Tensor:
    """F_x^PBE(s) = 1 + kappa - kappa / (1 + mu s^2 / kappa)."""
    return 1.0 + KAPPA - KAPPA / (1.0 + MU * s2 / KAPPA)


def bounded_exchange_factor(s2: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Learned enhancement F_x = 1 + kappa * u with u = x e^g / (1 + x e^g), x = mu s^2 / kappa.

    g = 0 gives F_x^PBE exactly; for any g, F_x(0) = 1 (uniform gas) and 1 <= F_x < 1.804
    (Lieb–Oxford), since u lies in [0, 1).
    """
    xg = (MU / KAPPA) * s2 * torch.exp(g)
    return 1.0 + KAPPA * (xg / (1.0 + xg))  # parenthesised: u <= 1 exactly in floating point


def unpolarised_exchange(n: torch.Tensor, sigma: torch.Tensor, enhancement_net) -> torch.Tensor:
    """Exchange energy per volume (Ha/Bohr^3) of an unpolarised density n with |grad n|^2 =
    ``sigma``; ``enhancement_net(s2) -> g`` (same shape) is the learned correction (None: PBE).
    Depends on n only through e_x^unif and s, so E_x[n_lambda] = lambda E_x[n]."""
    mask, n_safe = safe_density(n)
    s2 = reduced_gradient_squared(n_safe, torch.where(mask, sigma, torch.zeros_like(sigma)))
    f = pbe_exchange_factor(s2) if enhancement_net is None else \
        bounded_exchange_factor(s2, enhancement_net(s2))
    return torch.where(mask, lda_exchange(n_safe) * f, torch.zeros_like(n))


def spin_scaled_exchange(n_a, n_b, sigma_aa, sigma_bb, enhancement_net) -> torch.Tensor:
    """E_x[n_a, n_b] = 1/2 E_x[2 n_a] + 1/2 E_x[2 n_b] per volume (exact spin scaling by
    construction); |grad 2n|^2 = 4 sigma."""
    return 0.5 * (unpolarised_exchange(2.0 * n_a, 4.0 * sigma_aa, enhancement_net)
                  + unpolarised_exchange(2.0 * n_b, 4.0 * sigma_bb, enhancement_net))


def correlation_features(n_a, n_b, sigma_aa, sigma_ab, sigma_bb) -> tuple[torch.Tensor, ...]:
    """``(mask, features (N, 3), s2)`` for the correlation correction: r_s/(1+r_s),
    zeta^2 and s^2/(1+s^2) of the total density (all in [0, 1]); s2 is the total s^2."""
    n = n_a + n_b
    mask, n_safe = safe_density(n)
    sigma = torch.where(mask, sigma_aa + 2.0 * sigma_ab + sigma_bb, torch.zeros_like(n))
    rs = (3.0 / (4.0 * math.pi * n_safe)) ** (1.0 / 3.0)
    zeta = torch.where(mask, (n_a - n_b) / n_safe, torch.zeros_like(n)).clamp(-1.0, 1.0)
    s2 = reduced_gradient_squared(n_safe, sigma)
    feats = torch.stack([rs / (1.0 + rs), zeta**2, s2 / (1.0 + s2)], dim=-1)
    return mask, feats, s2


def corrected_correlation(ec_base: torch.Tensor, s2: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """e_c = e_c^base (1 + s^2/(1+s^2) tanh h): equals the base at s = 0 (uniform gas) and for
    h = 0, and keeps the sign of e_c^base (E_c <= 0) since the factor lies in (0, 2)."""
    return ec_base * (1.0 + s2 / (1.0 + s2) * torch.tanh(h))
