"""Running the learned functional inside PySCF: a Python ``eval_xc`` whose potential
(v_rho, v_sigma) comes from torch autograd, installed with ``pyscf.dft.libxc.define_xc_``.

Works for RKS and UKS (and PySCF's nuclear gradients, which need only v_rho and v_sigma).
"""

from __future__ import annotations

import numpy as np
import torch

from pesforge.xc.features import base_correlation, spin_variables
from pesforge.xc.functional import NeuralXC


def _leaves(rho: np.ndarray, spin: int):
    """Leaf tensors in PySCF's variables and the spin variables built from them."""
    t = lambda a: torch.tensor(np.ascontiguousarray(a), dtype=torch.float64, requires_grad=True)
    if spin == 0:
        n, sigma = t(rho[0]), t(np.einsum("xg,xg->g", rho[1:4], rho[1:4]))
        quarter = sigma / 4.0
        return [n, sigma], (n / 2, n / 2, quarter, quarter, quarter)
    v = spin_variables(rho)
    leaves = [t(v[k]) for k in ("n_a", "n_b", "sigma_aa", "sigma_ab", "sigma_bb")]
    return leaves, tuple(leaves)


def eval_xc_torch(model: NeuralXC, rho: np.ndarray, spin: int = 0):
    """``(exc, vrho, vsigma)`` of ``model`` at PySCF's GGA density ``rho`` in libxc layout:
    exc (N,) Ha per electron, vrho (N,) or (N, 2), vsigma (N,) or (N, 3)."""
    rho = np.asarray(rho, dtype=float)
    if spin == 1 and rho.ndim == 2:
        raise ValueError("spin-polarised evaluation needs a (2, 4, N) density array")
    ec0, vrho_c, vsigma_c = base_correlation(rho)
    leaves, (n_a, n_b, s_aa, s_ab, s_bb) = _leaves(rho, spin)
    # The base correlation enters linearised about the current point, so autograd gives
    # d e_c/d leaf = libxc's v (exact first derivatives at this point).
    ec = torch.as_tensor(ec0)
    vr = torch.as_tensor(np.asarray(vrho_c).reshape(len(ec0), -1))
    vs = torch.as_tensor(np.asarray(vsigma_c).reshape(len(ec0), -1))
    rho_leaves = torch.stack(leaves[: vr.shape[1]], dim=1)
    sig_leaves = torch.stack(leaves[vr.shape[1]:], dim=1)
    ec_lin = (ec + ((rho_leaves - rho_leaves.detach()) * vr).sum(1)
              + ((sig_leaves - sig_leaves.detach()) * vs).sum(1))
    e = model.energy_density(n_a, n_b, s_aa, s_ab, s_bb, ec_lin)
    grads = torch.autograd.grad(e.sum(), leaves)
    n = (n_a + n_b).detach().numpy()
    exc = np.where(n > 1e-300, e.detach().numpy() / np.where(n > 1e-300, n, 1.0), 0.0)
    if spin == 0:
        return exc, grads[0].numpy(), grads[1].numpy()
    return (exc, torch.stack(grads[:2], 1).numpy(), torch.stack(grads[2:], 1).numpy())


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
            exc, vrho, vsigma = eval_xc_torch(model, rho, spin)
        return exc, (vrho, vsigma, None, None), None, None

    return eval_xc


def attach(mf, model: NeuralXC):
    """Make the (R/U)KS object ``mf`` use ``model`` for exchange-correlation; returns ``mf``."""
    from pyscf.dft import libxc

    mf._numint = libxc.define_xc_(mf._numint.copy(), make_eval_xc(model), xctype="GGA")
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
