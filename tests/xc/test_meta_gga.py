"""The meta-GGA rung of the learned functional: PBE when zeroed, exact constraints to machine
precision, potential (v_rho, v_sigma, v_tau) = functional derivative, self-consistent RKS/UKS."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

pytest.importorskip("pyscf")

from pesforge.xc import kernels  # noqa: E402
from pesforge.xc.features import density_on_grid, spin_variables, to_torch  # noqa: E402
from pesforge.xc.functional import (NeuralXC, NeuralXCConfig, load_functional,  # noqa: E402
                                    save_functional)
from pesforge.xc.pyscf_hook import eval_xc_torch, make_ks  # noqa: E402

NR = {"water": "nr_rks", "hydroxyl": "nr_uks"}


def grid_variables(mf):
    rho = density_on_grid(mf.mol, mf.grids, mf.make_rdm1(), xctype="MGGA")
    return to_torch(spin_variables(rho)), torch.as_tensor(mf.grids.weights)


@pytest.mark.parametrize("system", ["water", "hydroxyl"])
def test_zeroed_meta_gga_is_pbe_at_fixed_density(system, request):
    mf = request.getfixturevalue(system)
    dm = mf.make_rdm1()
    _, e_ref, v_ref = getattr(mf._numint, NR[system])(mf.mol, mf.grids, "PBE,PBE", dm)
    ni = make_ks(mf.mol, NeuralXC(NeuralXCConfig(rung="MGGA")))._numint
    _, e_ml, v_ml = getattr(ni, NR[system])(mf.mol, mf.grids, "PBE,PBE", dm)
    assert abs(e_ml - e_ref) < 1e-10
    assert np.abs(np.asarray(v_ml) - np.asarray(v_ref)).max() < 1e-10


@pytest.mark.parametrize("system", ["water", "hydroxyl"])
def test_meta_gga_scf_converges(system, request, perturbed):
    base = request.getfixturevalue(system)
    ml = make_ks(base.mol, perturbed(0.2, rung="MGGA"), grid_level=1).run(conv_tol=1e-9)
    assert ml._numint._xc_type("") == "MGGA"
    assert ml.converged
    assert 1e-5 < abs(ml.e_tot - base.e_tot) < 0.5


def test_meta_gga_exact_spin_scaling(hydroxyl, perturbed):
    v, w = grid_variables(hydroxyl)
    model = perturbed(0.5, rung="MGGA")

    def ex(n_a, n_b, s_a, s_b, t_a, t_b):
        with torch.no_grad():
            return float((w * model.exchange_density(n_a, n_b, s_a, s_b, t_a, t_b)).sum())

    full = ex(v["n_a"], v["n_b"], v["sigma_aa"], v["sigma_bb"], v["tau_a"], v["tau_b"])
    ex_a = ex(v["n_a"], v["n_a"], v["sigma_aa"], v["sigma_aa"], v["tau_a"], v["tau_a"])
    ex_b = ex(v["n_b"], v["n_b"], v["sigma_bb"], v["sigma_bb"], v["tau_b"], v["tau_b"])
    assert ex_a != pytest.approx(ex_b, rel=1e-3)
    assert full == pytest.approx(0.5 * (ex_a + ex_b), rel=1e-14, abs=1e-14)


def test_meta_gga_uniform_gas_limit_and_bounds(perturbed):
    model = perturbed(2.0, rung="MGGA")
    n = torch.logspace(-6, 2, 50, dtype=torch.float64)
    zeta = torch.linspace(-0.9, 0.9, 50, dtype=torch.float64)
    n_a, n_b, zero = n * (1 + zeta) / 2, n * (1 - zeta) / 2, torch.zeros_like(n)
    c_spin = 0.3 * (6.0 * math.pi**2) ** (2.0 / 3.0)  # tau_s of the uniform gas / n_s^(5/3)
    tau_a, tau_b = c_spin * n_a ** (5 / 3), c_spin * n_b ** (5 / 3)
    alpha = kernels.iso_orbital_indicator(n, zero, tau_a + tau_b, zeta)
    assert torch.allclose(alpha, torch.ones_like(n), atol=1e-14)
    ec_base = -0.05 * n
    with torch.no_grad():
        ex = model.exchange_density(n_a, n_b, zero, zero, tau_a, tau_b)
        ec = model.correlation_density(n_a, n_b, zero, zero, zero, ec_base, tau_a, tau_b)
        lda = 0.5 * (kernels.lda_exchange(2 * n_a) + kernels.lda_exchange(2 * n_b))
        assert torch.equal(ex, lda)
        assert torch.equal(ec, ec_base)
        s2 = torch.logspace(-8, 8, 200, dtype=torch.float64)
        for t in (-1.0, -0.3, 0.0, 0.5, 1.0):
            f = kernels.bounded_exchange_factor(s2, model.g(s2, torch.full_like(s2, t)))
            assert torch.all(f <= kernels.LIEB_OXFORD) and torch.all(f >= 1.0)
        # correlation keeps the sign of the base: the factor lies in [0, 2)
        rng = torch.Generator().manual_seed(0)
        sig = torch.rand(50, generator=rng, dtype=torch.float64) * n ** (8 / 3)
        tau = torch.rand(50, generator=rng, dtype=torch.float64) * 10 * n ** (5 / 3)
        ec = model.correlation_density(n_a, n_b, sig / 4, sig / 4, sig / 4, ec_base, tau, tau)
        assert torch.all(ec / ec_base >= 0) and torch.all(ec / ec_base < 2)


def test_one_orbital_density_has_alpha_zero():
    """tau = tau_W for a single orbital: alpha = 0, t = 1, and the correlation departure is 1."""
    r = torch.linspace(0.1, 5.0, 20, dtype=torch.float64)
    n = torch.exp(-2 * r) / math.pi  # hydrogen 1s
    sigma = (2 * n) ** 2
    tau = sigma / (8 * n)
    alpha = kernels.iso_orbital_indicator(n, sigma, tau)
    assert torch.allclose(alpha, torch.zeros_like(n), atol=1e-14)
    t = kernels.alpha_feature(alpha)
    assert torch.equal(kernels.uniform_gas_departure(torch.ones_like(n), t), torch.ones_like(n))


def test_meta_gga_coordinate_scaling(water, perturbed):
    v, w = grid_variables(water)
    model = perturbed(0.5, rung="MGGA")
    lam = 1.7  # n -> lam^3 n, sigma -> lam^8 sigma, tau -> lam^5 tau, w -> w / lam^3
    with torch.no_grad():
        ex = (w * model.exchange_density(v["n_a"], v["n_b"], v["sigma_aa"], v["sigma_bb"],
                                         v["tau_a"], v["tau_b"])).sum()
        ex_lam = (w / lam**3 * model.exchange_density(
            lam**3 * v["n_a"], lam**3 * v["n_b"], lam**8 * v["sigma_aa"], lam**8 * v["sigma_bb"],
            lam**5 * v["tau_a"], lam**5 * v["tau_b"])).sum()
    assert float(ex_lam) == pytest.approx(lam * float(ex), rel=1e-12)


@pytest.mark.parametrize("system", ["water", "hydroxyl"])
def test_meta_gga_potential_is_functional_derivative(system, request, perturbed):
    """d E_xc[D + eps dD]/d eps = tr(V_xc dD) by central differences (v_tau included)."""
    mf = request.getfixturevalue(system)
    ni = make_ks(mf.mol, perturbed(0.3, rung="MGGA"))._numint
    dm = mf.make_rdm1()
    d = np.random.default_rng(1).normal(size=dm.shape) * 0.01
    d = d + np.swapaxes(d, -1, -2)
    nr = getattr(ni, NR[system])
    _, _, vmat = nr(mf.mol, mf.grids, "PBE,PBE", dm)
    eps = 1e-4
    numerical = (nr(mf.mol, mf.grids, "PBE,PBE", dm + eps * d)[1]
                 - nr(mf.mol, mf.grids, "PBE,PBE", dm - eps * d)[1]) / (2 * eps)
    assert numerical == pytest.approx(float((np.asarray(vmat) * d).sum()), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("system,spin", [("water", 0), ("hydroxyl", 1)])
def test_tau_potential_is_pointwise_derivative(system, spin, request, perturbed):
    """v_tau = d e_xc/d tau at every grid point: sum_g w v_tau dtau = dE_xc/d eps."""
    mf = request.getfixturevalue(system)
    model = perturbed(0.3, rung="MGGA")
    rho = density_on_grid(mf.mol, mf.grids, mf.make_rdm1(), xctype="MGGA")
    w = mf.grids.weights
    tau = rho[..., -1, :]
    dtau = np.random.default_rng(2).uniform(0.0, 1.0, size=tau.shape) * tau

    def exc_total(eps):
        r = rho.copy()
        r[..., -1, :] += eps * dtau
        exc = eval_xc_torch(model, r, spin)[0]
        n = r[0] if spin == 0 else r[0, 0] + r[1, 0]
        return float((w * exc * n).sum())

    vtau = eval_xc_torch(model, rho, spin)[3]
    analytic = float((w * (vtau if spin == 0 else vtau.T) * dtau).sum())
    assert abs(analytic) > 1e-6  # tau really matters
    eps = 1e-5  # alpha varies fast in the density tails: a small step keeps O(eps^2) small
    numerical = (exc_total(eps) - exc_total(-eps)) / (2 * eps)
    assert numerical == pytest.approx(analytic, rel=1e-6)


def test_meta_gga_file_round_trip_and_needs_tau(tmp_path, perturbed):
    model = perturbed(0.3, rung="MGGA")
    back = load_functional(save_functional(model, tmp_path / "m.safetensors"))
    assert back.xctype == "MGGA"
    s2, t = torch.linspace(0, 10, 7, dtype=torch.float64), torch.linspace(-1, 1, 7,
                                                                         dtype=torch.float64)
    assert torch.equal(model.g(s2, t), back.g(s2, t))
    x = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="tau"):
        model.exchange_density(x, x, x, x)
