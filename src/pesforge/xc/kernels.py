"""Pure torch kernels of the exchange-correlation functional, in atomic units (Hartree, Bohr).

Exchange of a spin-unpolarised density: e_x = e_x^unif(n) F_x(s) with
e_x^unif(n) = -(3/4)(3/pi)^(1/3) n^(4/3) and the reduced gradient
s = |grad n| / (2 (3 pi^2)^(1/3) n^(4/3)) (Perdew, Burke, Ernzerhof, PRL 77, 3865 (1996)).
Meta-GGA input: the iso-orbital indicator alpha = (tau - tau_W) / tau_unif (Sun et al.,
PRL 111, 106401 (2013)), with tau = 1/2 sum_i |grad phi_i|^2 (PySCF's convention), which is 1 in
the uniform gas, 0 for one orbital (one-electron and paired-electron regions) and invariant under
uniform coordinate scaling.
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
_CTAU = 0.3 * (3.0 * math.pi**2) ** (2.0 / 3.0)


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


def iso_orbital_indicator(n: torch.Tensor, sigma: torch.Tensor, tau: torch.Tensor,
                          zeta: torch.Tensor | None = None) -> torch.Tensor:
    """alpha = (tau - |grad n|^2/(8 n)) / tau_unif(n, zeta), dimensionless, of densities n > 0
    (Bohr^-3) with ``sigma`` = |grad n|^2 and ``tau`` (Ha Bohr^-3, PySCF's 1/2 sum |grad phi|^2);
    tau_unif = (3/10)(3 pi^2)^(2/3) n^(5/3) d_s(zeta), d_s = ((1+zeta)^(5/3)+(1-zeta)^(5/3))/2
    (d_s = 1 when ``zeta`` is None). alpha >= 0 exactly; rounding on a grid can make it
    slightly negative, which :func:`alpha_feature` (even in alpha) absorbs smoothly."""
    tau_unif = _CTAU * n ** (5.0 / 3.0)
    if zeta is not None:
        tau_unif = tau_unif * 0.5 * ((1.0 + zeta) ** (5.0 / 3.0) + (1.0 - zeta) ** (5.0 / 3.0))
    return (tau - sigma / (8.0 * n)) / tau_unif


def alpha_feature(alpha: torch.Tensor) -> torch.Tensor:
    """t = (1 - alpha^2)/(1 + alpha^2) in (-1, 1]: 0 in the uniform gas (alpha = 1), 1 for one
    orbital (alpha = 0), -1 as alpha -> infinity. Even in alpha, so smooth (no clamp) where
    alpha ~ 0 is rounded below zero."""
    a2 = alpha * alpha
    return (1.0 - a2) / (1.0 + a2)


def uniform_gas_departure(s2: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
    """d in [0, 1], zero exactly in the uniform gas: s^2/(1+s^2) (GGA), or
    1 - (1 - t^2)/(1 + s^2) with t = :func:`alpha_feature` (meta-GGA; d = 1 for one orbital)."""
    if t is None:
        return s2 / (1.0 + s2)
    return 1.0 - (1.0 - t * t) / (1.0 + s2)


def unpolarised_exchange(n: torch.Tensor, sigma: torch.Tensor, enhancement_net,
                         tau: torch.Tensor | None = None) -> torch.Tensor:
    """Exchange energy per volume (Ha/Bohr^3) of an unpolarised density n with |grad n|^2 =
    ``sigma`` (and kinetic energy density ``tau`` for a meta-GGA); ``enhancement_net(s2) -> g``
    or ``enhancement_net(s2, t)`` (same shape) is the learned correction (None: PBE).
    Depends on n only through e_x^unif, s and alpha, so E_x[n_lambda] = lambda E_x[n]."""
    mask, n_safe = safe_density(n)
    sigma = torch.where(mask, sigma, torch.zeros_like(sigma))
    s2 = reduced_gradient_squared(n_safe, sigma)
    if enhancement_net is None:
        f = pbe_exchange_factor(s2)
    elif tau is None:
        f = bounded_exchange_factor(s2, enhancement_net(s2))
    else:
        t = alpha_feature(iso_orbital_indicator(n_safe, sigma, torch.where(mask, tau, n_safe)))
        f = bounded_exchange_factor(s2, enhancement_net(s2, t))
    return torch.where(mask, lda_exchange(n_safe) * f, torch.zeros_like(n))


def spin_scaled_exchange(n_a, n_b, sigma_aa, sigma_bb, enhancement_net, tau_a=None,
                         tau_b=None) -> torch.Tensor:
    """E_x[n_a, n_b] = 1/2 E_x[2 n_a] + 1/2 E_x[2 n_b] per volume (exact spin scaling by
    construction); |grad 2n|^2 = 4 sigma, tau[2 n_s] = 2 tau_s."""
    two = (lambda x: None) if tau_a is None else (lambda x: 2.0 * x)
    return 0.5 * (unpolarised_exchange(2.0 * n_a, 4.0 * sigma_aa, enhancement_net, two(tau_a))
                  + unpolarised_exchange(2.0 * n_b, 4.0 * sigma_bb, enhancement_net, two(tau_b)))


def correlation_features(n_a, n_b, sigma_aa, sigma_ab, sigma_bb, tau_a=None, tau_b=None
                         ) -> tuple[torch.Tensor, ...]:
    """``(mask, features (N, 3) or (N, 4), departure (N,))`` for the correlation correction:
    r_s/(1+r_s), zeta^2, s^2/(1+s^2) of the total density (and, with tau, the alpha feature t
    of the total density); ``departure`` is :func:`uniform_gas_departure`."""
    n = n_a + n_b
    mask, n_safe = safe_density(n)
    sigma = torch.where(mask, sigma_aa + 2.0 * sigma_ab + sigma_bb, torch.zeros_like(n))
    rs = (3.0 / (4.0 * math.pi * n_safe)) ** (1.0 / 3.0)
    zeta = torch.where(mask, (n_a - n_b) / n_safe, torch.zeros_like(n)).clamp(-1.0, 1.0)
    s2 = reduced_gradient_squared(n_safe, sigma)
    feats = [rs / (1.0 + rs), zeta**2, s2 / (1.0 + s2)]
    t = None
    if tau_a is not None:
        tau = torch.where(mask, tau_a + tau_b, n_safe)
        t = alpha_feature(iso_orbital_indicator(n_safe, sigma, tau, zeta))
        feats.append(t)
    return mask, torch.stack(feats, dim=-1), uniform_gas_departure(s2, t)


def corrected_correlation(ec_base: torch.Tensor, departure: torch.Tensor, h: torch.Tensor
                          ) -> torch.Tensor:
    """e_c = e_c^base (1 + d tanh h) with d = :func:`uniform_gas_departure` in [0, 1]: equals
    the base in the uniform gas (d = 0) and for h = 0, and keeps the sign of e_c^base
    (E_c <= 0) since the factor lies in [0, 2)."""
    return ec_base * (1.0 + departure * torch.tanh(h))
