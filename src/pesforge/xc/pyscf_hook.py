"""Running the learned functional inside PySCF: a Python ``eval_xc`` whose potential
(v_rho, v_sigma and, for a meta-GGA, v_tau) comes from torch autograd, installed with
``pyscf.dft.libxc.define_xc_`` (xctype 'GGA' or 'MGGA').

Works for RKS and UKS (and PySCF's nuclear gradients, which need only first derivatives).
"""

from __future__ import annotations

import numpy as np
import torch

from pesforge.xc.features import base_correlation, spin_variables
from pesforge.xc.functional import NeuralXC


def _leaves(rho: np.ndarray, spin: int):
    """Leaf tensors in PySCF's variables (n, sigma[, tau] closed shell; n_a, n_b, sigma_aa,
    sigma_ab, sigma_bb[, tau_a, tau_b] open shell) and the spin variables built from them."""
    t = lambda a: torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=True)
    meta = rho.shape[-2] >= 5
    if spin == 0:
        n, sigma = t(rho[0]), t(np.einsum("xg,xg->g", rho[1:4], rho[1:4]))
        quarter = sigma / 4.0
        if not meta:
            return [n, sigma], (n / 2, n / 2, quarter, quarter, quarter, None, None)
        tau = t(rho[-1])
        return [n, sigma, tau], (n / 2, n / 2, quarter, quarter, quarter, tau / 2, tau / 2)
    v = spin_variables(rho)
    names = ("n_a", "n_b", "sigma_aa", "sigma_ab", "sigma_bb") + (("tau_a", "tau_b") if meta
                                                                   else ())
    leaves = [t(v[k]) for k in names]
    return leaves, tuple(leaves) + (() if meta else (None, None))


def eval_xc_torch(model: NeuralXC, rho: np.ndarray, spin: int = 0):
    """``(exc, vrho, vsigma, vtau)`` of ``model`` at PySCF's density ``rho`` ((4|5, N) or
    (2, 4|5, N); tau last) in libxc layout: exc (N,) Ha per electron, vrho (N,) or (N, 2),
    vsigma (N,) or (N, 3), vtau (N,) or (N, 2) for a meta-GGA ``model``, else None."""
    rho = np.asarray(rho, dtype=float)
    if spin == 1 and rho.ndim == 2:
        raise ValueError("spin-polarised evaluation needs a (2, 4|5, N) density array")
    if model.xctype == "MGGA" and rho.shape[-2] < 5:
        raise ValueError("a meta-GGA functional needs a density array with tau (5 rows)")
    if model.xctype == "GGA":
        rho = rho[..., :4, :]
    ec0, vrho_c, vsigma_c = base_correlation(rho)
    leaves, (n_a, n_b, s_aa, s_ab, s_bb, tau_a, tau_b) = _leaves(rho, spin)
    # The base correlation enters linearised about the current point, so autograd gives
    # d e_c/d leaf = libxc's v (exact first derivatives at this point).
    ec = torch.as_tensor(ec0)
    vr = torch.as_tensor(np.asarray(vrho_c).reshape(len(ec0), -1))
    vs = torch.as_tensor(np.asarray(vsigma_c).reshape(len(ec0), -1))
    nr, ns = vr.shape[1], vs.shape[1]
    rho_leaves = torch.stack(leaves[:nr], dim=1)
    sig_leaves = torch.stack(leaves[nr:nr + ns], dim=1)
    ec_lin = (ec + ((rho_leaves - rho_leaves.detach()) * vr).sum(1)
              + ((sig_leaves - sig_leaves.detach()) * vs).sum(1))
    e = model.energy_density(n_a, n_b, s_aa, s_ab, s_bb, ec_lin, tau_a, tau_b)
    grads = torch.autograd.grad(e.sum(), leaves)
    n = (n_a + n_b).detach().numpy()
    exc = np.where(n > 1e-300, e.detach().numpy() / np.where(n > 1e-300, n, 1.0), 0.0)
    stack = lambda g: g[0].numpy() if spin == 0 else torch.stack(g, 1).numpy()  # noqa: E731
    vtau = stack(grads[nr + ns:]) if tau_a is not None else None
    return exc, stack(grads[:nr]), stack(grads[nr:nr + ns]), vtau


def make_eval_xc(model: NeuralXC):
    """A PySCF ``eval_xc(xc_code, rho, spin, relativity, deriv, omega, verbose)`` for
    ``model`` (first derivatives only)."""

    def eval_xc(xc_code, rho, spin=0, relativity=0, deriv=1, omega=None, verbose=None):
        if deriv > 1:
            raise NotImplementedError("the learned functional provides only first derivatives "
                                      "(no fxc: no TDDFT/response/analytic Hessians)")
        if isinstance(rho, (tuple, list)):
            rho = np.stack(rho)
        with torch.enable_grad():
            exc, vrho, vsigma, vtau = eval_xc_torch(model, rho, spin)
        return exc, (vrho, vsigma, None, vtau), None, None

    return eval_xc


def attach(mf, model: NeuralXC):
    """Make the (R/U)KS object ``mf`` use ``model`` for exchange-correlation; returns ``mf``."""
    from pyscf.dft import libxc

    mf._numint = libxc.define_xc_(mf._numint.copy(), make_eval_xc(model), xctype=model.xctype)
    mf.xc = "PBE,PBE"  # parsed by PySCF only for flags (no NLC, no HF); the numint above works
    return mf


def make_ks(mol, model: NeuralXC | None = None, grid_level: int = 3, **kwargs):
    """An RKS (closed shell) or UKS (open shell) object with ``model`` (None: plain PBE)."""
    from pyscf import dft

    mf = dft.RKS(mol) if mol.spin == 0 else dft.UKS(mol)
    mf.xc = "PBE,PBE"
    mf.grids.level = grid_level
    for k, v in kwargs.items():
        setattr(mf, k, v)
    return mf if model is None else attach(mf, model)
