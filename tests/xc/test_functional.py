"""The learned XC functional: exact constraints, potential = functional derivative, PBE limit,
self-consistency in PySCF (RKS and UKS), file round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pyscf")

from pesforge.xc import kernels  # noqa: E402
from pesforge.xc.features import density_on_grid, spin_variables, to_torch  # noqa: E402
from pesforge.xc.functional import NeuralXC, load_functional, save_functional  # noqa: E402
from pesforge.xc.pyscf_hook import make_ks  # noqa: E402


def test_zeroed_network_is_pbe_at_fixed_density(water, hydroxyl, perturbed):
    for mf, nr in ((water, "nr_rks"), (hydroxyl, "nr_uks")):
        dm = mf.make_rdm1()
        e_ref = getattr(mf._numint, nr)(mf.mol, mf.grids, "PBE,PBE", dm)[1]
        ml = make_ks(mf.mol, perturbed().zero_())
        e_ml = getattr(ml._numint, nr)(mf.mol, mf.grids, "PBE,PBE", dm)[1]
        assert abs(e_ml - e_ref) < 1e-10


def test_zeroed_network_scf_equals_pbe(water):
    ml = make_ks(water.mol, NeuralXC(), grid_level=1).run(conv_tol=1e-10)
    assert ml.converged
    assert abs(ml.e_tot - water.e_tot) < 1e-9


@pytest.mark.parametrize("system", ["water", "hydroxyl"])
def test_scf_converges_with_learned_functional(system, request, perturbed):
    base = request.getfixturevalue(system)
    ml = make_ks(base.mol, perturbed(0.2), grid_level=1).run(conv_tol=1e-9)
    assert ml.converged
    assert abs(ml.e_tot - base.e_tot) > 1e-5  # the correction does something
    assert abs(ml.e_tot - base.e_tot) < 0.5


def test_exact_spin_scaling_of_exchange(hydroxyl, perturbed):
    v = to_torch(spin_variables(density_on_grid(hydroxyl.mol, hydroxyl.grids,
                                                hydroxyl.make_rdm1())))
    model = perturbed(0.5)
    w = torch.as_tensor(hydroxyl.grids.weights)
    with torch.no_grad():
        ex = (w * model.exchange_density(v["n_a"], v["n_b"], v["sigma_aa"], v["sigma_bb"])).sum()
        # E_x of the closed-shell densities 2 n_a and 2 n_b (n_up = n_down = n_s)
        ex_a = (w * model.exchange_density(v["n_a"], v["n_a"], v["sigma_aa"], v["sigma_aa"])).sum()
        ex_b = (w * model.exchange_density(v["n_b"], v["n_b"], v["sigma_bb"], v["sigma_bb"])).sum()
    assert float(ex_a) != pytest.approx(float(ex_b), rel=1e-3)  # really spin-polarised
    assert float(ex) == pytest.approx(0.5 * float(ex_a + ex_b), rel=1e-14, abs=1e-14)


def test_uniform_gas_limit_and_lieb_oxford(perturbed):
    model = perturbed(2.0)
    n = torch.logspace(-6, 2, 50, dtype=torch.float64)
    zero = torch.zeros_like(n)
    ec_base = -0.05 * n
    with torch.no_grad():
        ex = model.exchange_density(n / 2, n / 2, zero, zero)
        ec = model.correlation_density(0.3 * n, 0.7 * n, zero, zero, zero, ec_base)
        assert torch.equal(ex, kernels.lda_exchange(n))
        assert torch.equal(ec, ec_base)
        s2 = torch.logspace(-8, 8, 200, dtype=torch.float64)
        for g in (model.g(s2), torch.full_like(s2, 50.0)):
            f = kernels.bounded_exchange_factor(s2, g)
            assert torch.all(f <= kernels.LIEB_OXFORD) and torch.all(f >= 1.0)


def test_exchange_coordinate_scaling(water, perturbed):
    v = to_torch(spin_variables(density_on_grid(water.mol, water.grids, water.make_rdm1())))
    w = torch.as_tensor(water.grids.weights)
    model = perturbed(0.5)
    lam = 1.7  # n_lam(r) = lam^3 n(lam r): n -> lam^3 n, sigma -> lam^8 sigma, w -> w / lam^3
    with torch.no_grad():
        ex = (w * model.exchange_density(v["n_a"], v["n_b"], v["sigma_aa"], v["sigma_bb"])).sum()
        ex_lam = (w / lam**3 * model.exchange_density(
            lam**3 * v["n_a"], lam**3 * v["n_b"], lam**8 * v["sigma_aa"],
            lam**8 * v["sigma_bb"])).sum()
    assert float(ex_lam) == pytest.approx(lam * float(ex), rel=1e-12)


@pytest.mark.parametrize("system,nr", [("water", "nr_rks"), ("hydroxyl", "nr_uks")])
def test_potential_is_functional_derivative(system, nr, request, perturbed):
    """d E_xc[D + eps dD]/d eps = tr(V_xc dD) by central differences."""
    mf = request.getfixturevalue(system)
    ni = make_ks(mf.mol, perturbed(0.3))._numint
    dm = mf.make_rdm1()
    rng = np.random.default_rng(1)
    d = rng.normal(size=dm.shape) * 0.01
    d = d + np.swapaxes(d, -1, -2)
    _, _, vmat = getattr(ni, nr)(mf.mol, mf.grids, "PBE,PBE", dm)
    eps = 1e-4
    ep = getattr(ni, nr)(mf.mol, mf.grids, "PBE,PBE", dm + eps * d)[1]
    em = getattr(ni, nr)(mf.mol, mf.grids, "PBE,PBE", dm - eps * d)[1]
    numerical = (ep - em) / (2 * eps)
    analytic = float((np.asarray(vmat) * d).sum())
    assert numerical == pytest.approx(analytic, rel=1e-6, abs=1e-9)


def test_save_load_round_trip(tmp_path, perturbed):
    model = perturbed(0.3)
    path = save_functional(model, tmp_path / "xc.safetensors", extra={"note": "test"})
    back = load_functional(path)
    s2 = torch.linspace(0, 10, 7, dtype=torch.float64)
    assert torch.equal(model.g(s2), back.g(s2))
    (tmp_path / "bad.safetensors").write_bytes(b"not a file")
    with pytest.raises(ValueError, match="bad.safetensors"):
        load_functional(tmp_path / "bad.safetensors")
