"""Local features of the spin densities on PySCF's integration grid (atomic units).

PySCF's GGA density arrays are ``rho`` (4, N) = (n, dn/dx, dn/dy, dn/dz) for a closed shell and
(2, 4, N) for (alpha, beta). From them come the spin densities n_s (Bohr^-3), the contracted
gradients sigma_ss' = grad n_s . grad n_s' (Bohr^-8), and the reduced gradient s. Meta-GGA
arrays have a fifth row, the kinetic energy density tau = 1/2 sum_i |grad phi_i|^2 (Bohr^-5,
i.e. Ha/Bohr^3), giving tau_a and tau_b.
"""

from __future__ import annotations

import numpy as np
import torch

#: Names of the spin variables, in order.
SPIN_VARIABLES = ("n_a", "n_b", "sigma_aa", "sigma_ab", "sigma_bb")
#: The extra meta-GGA variables.
TAU_VARIABLES = ("tau_a", "tau_b")


def density_on_grid(mol, grids, dm: np.ndarray, xctype: str = "GGA") -> np.ndarray:
    """Density array on ``grids`` of a density matrix: (4, N) for an (nao, nao) ``dm``,
    (2, 4, N) for (2, nao, nao) (alpha, beta); 5 rows (tau last) for ``xctype="MGGA"``."""
    from pyscf.dft import numint

    if xctype not in ("GGA", "MGGA"):
        raise ValueError(f"xctype {xctype!r}: expected 'GGA' or 'MGGA'")
    dm = np.asarray(dm)
    ao = numint.eval_ao(mol, grids.coords, deriv=1)
    rho = lambda d: numint.eval_rho(mol, ao, d, xctype=xctype, with_lapl=False)  # noqa: E731
    if dm.ndim == 2:
        return rho(dm)
    if dm.ndim == 3 and dm.shape[0] == 2:
        return np.stack([rho(d) for d in dm])
    raise ValueError(f"density matrix of shape {dm.shape}: expected (nao, nao) or (2, nao, nao)")


def spin_variables(rho: np.ndarray) -> dict[str, np.ndarray]:
    """n_a, n_b, sigma_aa, sigma_ab, sigma_bb (each (N,)) from a (4, N) or (2, 4, N) array,
    and tau_a, tau_b from a meta-GGA (5, N) or (2, 5, N) one; a closed shell has
    n_a = n_b = n/2, every sigma = |grad n|^2/4 and tau_a = tau_b = tau/2."""
    rho = np.asarray(rho)
    if rho.ndim == 2:
        if rho.shape[0] < 4:
            raise ValueError(f"GGA density needs 4 rows (n, grad n), got shape {rho.shape}")
        sigma = np.einsum("xg,xg->g", rho[1:4], rho[1:4]) / 4.0
        out = dict(n_a=rho[0] / 2, n_b=rho[0] / 2, sigma_aa=sigma, sigma_ab=sigma,
                   sigma_bb=sigma)
        if rho.shape[0] >= 5:
            out.update(tau_a=rho[-1] / 2, tau_b=rho[-1] / 2)
        return out
    if rho.ndim == 3 and rho.shape[0] == 2 and rho.shape[1] >= 4:
        ga, gb = rho[0, 1:4], rho[1, 1:4]
        out = dict(n_a=rho[0, 0], n_b=rho[1, 0], sigma_aa=np.einsum("xg,xg->g", ga, ga),
                   sigma_ab=np.einsum("xg,xg->g", ga, gb), sigma_bb=np.einsum("xg,xg->g", gb, gb))
        if rho.shape[1] >= 5:
            out.update(tau_a=rho[0, -1], tau_b=rho[1, -1])
        return out
    raise ValueError(f"density array of shape {rho.shape}: expected (4|5, N) or (2, 4|5, N)")


def reduced_gradient(n: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """s = |grad n| / (2 (3 pi^2)^(1/3) n^(4/3)) of an unpolarised density (0 where n = 0)."""
    n = np.asarray(n, dtype=float)
    out = np.zeros_like(n)
    ok = n > 1e-12
    out[ok] = np.sqrt(sigma[ok]) / (2.0 * (3.0 * np.pi**2) ** (1.0 / 3.0) * n[ok] ** (4.0 / 3.0))
    return out


def base_correlation(rho: np.ndarray, code: str = ",PBE"):
    """Base correlation from libxc: ``(e_c (N,) Ha/Bohr^3, vrho, vsigma)`` with libxc's
    layouts ((N,) and (N,) closed shell; (N, 2) and (N, 3) spin-polarised)."""
    from pyscf.dft import libxc

    rho = np.asarray(rho)
    spin = 1 if rho.ndim == 3 else 0
    rho = rho[..., :4, :]  # a GGA base: drop tau of a meta-GGA array
    exc, vxc = libxc.eval_xc(code, rho, spin=spin, deriv=1)[:2]
    n = rho[0] if spin == 0 else rho[0, 0] + rho[1, 0]
    return exc * n, vxc[0], vxc[1]


def to_torch(variables: dict[str, np.ndarray], requires_grad: bool = False
             ) -> dict[str, torch.Tensor]:
    """The spin variables (and tau_a, tau_b where present) as float64 tensors."""
    return {k: torch.tensor(np.ascontiguousarray(variables[k]), dtype=torch.float64,
                            requires_grad=requires_grad)
            for k in SPIN_VARIABLES + TAU_VARIABLES if k in variables}
