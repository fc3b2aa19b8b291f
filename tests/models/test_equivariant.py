"""The e3nn equivariant potential: every irreps intermediate (edge spherical harmonics, atomic
basis, product basis of each order, node features) transforms with its Wigner matrices under
rotations and reflections; forces rotate, energies are invariant; physics checks; model files."""

import numpy as np
import pytest
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.models import EquivariantPotential, compute, load_model, save_model

from model_helpers import (ELEMENTS, assert_close_relative, perturb, rotation_and_wigner,
                           systems_batch, transformed)

pytest.importorskip("e3nn")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = EquivariantPotential(ELEMENTS, cutoff=4.0, channels=4, lmax=2, interactions=2,
                             correlation=3, n_radial=6, radial_hidden=8).double()
    perturb(m)
    m.fit_statistics([systems_batch(4.0)], reference_energies=np.array([-13.6, -1030.0, -2040.0]),
                     energy_scale=0.5)
    return m


@pytest.mark.parametrize("reflect", [False, True])
def test_every_intermediate_and_forces_are_equivariant(model, reflect):
    batch = systems_batch(model.cutoff)
    rep = model.representation(batch)
    names = ("sh", "A", "B", "h")
    rotation, wigners = rotation_and_wigner(
        2, reflect, [irreps for name in names for irreps, _ in rep[name]])
    rotated = model.representation(transformed(batch, rotation))
    checked = 0
    wigners = iter(wigners)
    for name in names:
        for t, ((irreps, x), (_, x_rot)) in enumerate(zip(rep[name], rotated[name])):
            assert_close_relative(x_rot, x @ next(wigners).T, what=f"{name}[{t}] {irreps}")
            checked += int(irreps.lmax > 0)
    assert checked >= 1 + 2 + 2 * 3 + 1  # sh, A and B of both blocks and the hidden h are l > 0
    out = compute(model, batch, forces=True, stress=True)
    out_rot = compute(model, transformed(batch, rotation), forces=True, stress=True)
    assert_close_relative(out_rot[K.ENERGY], out[K.ENERGY], what="energy")
    assert_close_relative(out_rot[K.ATOMIC_ENERGIES], out[K.ATOMIC_ENERGIES], what="E_i")
    assert_close_relative(out_rot[K.FORCES], out[K.FORCES] @ rotation.T, what="forces")
    assert_close_relative(out_rot[K.STRESS][1], rotation @ out[K.STRESS][1] @ rotation.T,
                          what="stress")


def test_odd_features_change_sign_under_inversion(model):
    """A reflection test that cannot pass by accident: l = 1 (odd parity) parts flip sign."""
    batch = systems_batch(model.cutoff)
    inversion = -torch.eye(3, dtype=torch.float64)
    irreps, h = model.representation(batch)["h"][1]
    _, h_inv = model.representation(transformed(batch, inversion))["h"][1]
    odd = torch.cat([torch.ones(mul * ir.dim) * (ir.p < 0) for mul, ir in irreps]).bool()
    assert h[:, odd].abs().max() > 1e-3
    assert torch.allclose(h_inv[:, odd], -h[:, odd], atol=1e-12)
    assert torch.allclose(h_inv[:, ~odd], h[:, ~odd], atol=1e-12)


def test_physics_checks_pass():
    """The shipped checks, on the smallest model with l = 1 features and a product basis (the
    checks evaluate the model a few hundred times)."""
    torch.manual_seed(1)
    small = EquivariantPotential(ELEMENTS, cutoff=4.0, channels=2, lmax=1, interactions=2,
                                 correlation=2, n_radial=4, radial_hidden=4).double()
    perturb(small)
    small.fit_statistics([systems_batch(4.0)], energy_scale=0.5)
    results = T.run_all(small)
    assert set(results) == set(T.suite.CHECKS)


def test_float32_and_save_load(model, tmp_path):
    path = save_model(model, tmp_path / "eq.safetensors")
    loaded = load_model(path)
    assert isinstance(loaded, EquivariantPotential) and loaded.config() == model.config()
    batch = systems_batch(model.cutoff)
    a, b = compute(model, batch, forces=True), compute(loaded, batch, forces=True)
    assert torch.equal(a[K.ENERGY], b[K.ENERGY]) and torch.equal(a[K.FORCES], b[K.FORCES])
    single = loaded.float()
    assert single.head.reference_energies.dtype == torch.float64
    c = compute(single, systems_batch(model.cutoff, torch.float32), forces=True)
    assert c[K.ENERGY].dtype == torch.float64 and c[K.FORCES].dtype == torch.float32
    assert torch.allclose(c[K.ENERGY], a[K.ENERGY], atol=1e-3)
