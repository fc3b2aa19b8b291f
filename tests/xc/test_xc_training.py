"""Training the learned functional: SIE penalty, Hellmann–Feynman gradient for SCF in the loop,
cached CCSD(T) references, nuclear gradients with the learned functional."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("pyscf")

from pesforge.xc.functional import NeuralXC, NeuralXCConfig, load_functional  # noqa: E402
from pesforge.xc.pyscf_hook import make_ks  # noqa: E402
from pesforge.xc.references import build_mol, load_references  # noqa: E402
from pesforge.xc.training import (XCTrainConfig, parse_reaction, prepare_sample,  # noqa: E402
                                  train_xc)


def test_cached_references_are_physical():
    refs = load_references()
    assert refs["H"] == pytest.approx(-0.4993, abs=1e-3)  # exact H in cc-pVDZ (UHF)
    assert -refs["H2"] + 2 * refs["H"] > 0.15  # H2 is bound (De ~ 0.16 Ha)
    assert refs["Li+"] > refs["Li"]


def test_sie_penalty_reduces_h_atom_error(tmp_path, single_thread):
    refs = load_references()
    errors = {}
    for weight in (0.0, 1.0):
        cfg = XCTrainConfig(reactions=["AE(H2)"], sie_weight=weight, steps=15, lr=5e-2,
                            grid_level=0, model=NeuralXCConfig(hidden=8))
        res = train_xc(cfg, refs, output=tmp_path / f"w{weight}")
        with torch.no_grad():
            errors[weight] = abs(float(res.samples["H"].energy(res.model)) - refs["H"])
        assert res.history[-1]["fit_rmse_kcal"] < res.history[0]["fit_rmse_kcal"]
    assert errors[1.0] < errors[0.0]
    back = load_functional(tmp_path / "w1.0" / "xc.safetensors")
    assert sum(p.abs().sum() for p in back.parameters()) > 0


def test_scf_energy_gradient_is_hellmann_feynman():
    """dE_SCF/dtheta (finite differences of converged energies) = dE_xc/dtheta at fixed density."""
    mol = build_mol("H2", "cc-pvdz")
    torch.manual_seed(0)
    model = NeuralXC(NeuralXCConfig(hidden=4))
    param = model.exchange_net[-1].bias
    with torch.no_grad():
        model.exchange_net[-1].weight.normal_(0, 0.3)
        param.fill_(0.2)
    sample = prepare_sample("H2", mol, model, grid_level=1)
    (grad,) = torch.autograd.grad(sample.energy(model), [param])
    h, e = 1e-3, []
    for sign in (1, -1):
        with torch.no_grad():
            param.add_(sign * h)
        e.append(make_ks(mol, model, grid_level=1, conv_tol=1e-11).kernel(dm0=sample.dm))
        with torch.no_grad():
            param.sub_(sign * h)
    assert (e[0] - e[1]) / (2 * h) == pytest.approx(float(grad), rel=1e-4)


@pytest.mark.parametrize("rung", ["GGA", "MGGA"])
@pytest.mark.parametrize("charge", [0, 1])  # H2 (RKS) and H2+ (UKS)
def test_nuclear_gradient_with_learned_functional(rung, charge, perturbed):
    """Analytic nuclear gradient (PySCF, with grid response) = finite differences of the
    self-consistent energy with the learned functional."""
    from pyscf import gto

    model = perturbed(0.3, seed=1, rung=rung, hidden=4)

    def energy(z):
        mol = gto.M(atom=f"H 0 0 0; H 0 0 {z}", basis="sto-3g", unit="Bohr", charge=charge,
                    spin=charge, verbose=0)
        mf = make_ks(mol, model, grid_level=1, conv_tol=1e-11)
        return mf, mf.kernel()

    mf, _ = energy(1.4)
    g = mf.nuc_grad_method()
    g.grid_response = True
    grad = g.kernel()
    h = 1e-3
    fd = (energy(1.4 + h)[1] - energy(1.4 - h)[1]) / (2 * h)
    assert abs(grad[1, 2]) > 1e-3
    assert grad[1, 2] == pytest.approx(fd, abs=2e-5)


def test_bad_reaction_and_species_are_named():
    with pytest.raises(ValueError, match="XX"):
        parse_reaction("XX(H2)")
    assert parse_reaction("EA(F)").terms == (("F", 1.0), ("F-", -1.0))
    with pytest.raises(KeyError, match="Zz"):
        build_mol("Zz")
    with pytest.raises(KeyError, match="H2"):
        train_xc(XCTrainConfig(reactions=["AE(H2)"], steps=0), references={"H": -0.5})
    assert np.isfinite(load_references()["N2"])
