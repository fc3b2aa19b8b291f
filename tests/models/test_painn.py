"""PaiNN: equivariance of every vector intermediate and of forces, invariance of energies,
the shipped physics checks, dtypes and model files."""

import numpy as np
import pytest
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.models import PaiNN, compute, load_model, save_model

from model_helpers import (ELEMENTS, assert_close_relative, orthogonal, perturb, systems_batch,
                       transformed)


@pytest.fixture(scope="module", params=[("bessel", "polynomial"), ("gaussian", "cosine")],
                ids=["bessel-polynomial", "gaussian-cosine"])
def painn(request):
    torch.manual_seed(0)
    basis, envelope = request.param
    model = PaiNN(ELEMENTS, cutoff=4.0, features=8, interactions=2, n_radial=6,
                  radial_basis=basis, envelope=envelope).double()
    perturb(model)
    model.fit_statistics([], reference_energies=np.array([-13.6, -1030.0, -2040.0]),
                         energy_scale=0.5)
    return model


@pytest.mark.parametrize("reflect", [False, True])
def test_vectors_and_forces_are_equivariant(painn, reflect):
    batch = systems_batch(painn.cutoff)
    rotation = orthogonal(1, reflect)
    rep = painn.representation(batch)
    rotated = painn.representation(transformed(batch, rotation))
    for t, (v, v_rot) in enumerate(zip(rep["vectors"][1:], rotated["vectors"][1:])):
        assert_close_relative(v_rot, torch.einsum("xy,ayf->axf", rotation, v), what=f"v{t + 1}")
    for t, (s, s_rot) in enumerate(zip(rep["scalars"], rotated["scalars"])):
        assert_close_relative(s_rot, s, what=f"s{t}")
    out = compute(painn, batch, forces=True, stress=True)
    out_rot = compute(painn, transformed(batch, rotation), forces=True, stress=True)
    assert_close_relative(out_rot[K.ENERGY], out[K.ENERGY], what="energy")
    assert_close_relative(out_rot[K.FORCES], out[K.FORCES] @ rotation.T, what="forces")
    assert_close_relative(out_rot[K.STRESS][1], rotation @ out[K.STRESS][1] @ rotation.T,
                          what="stress")


def test_physics_checks_pass(painn):
    results = T.run_all(painn)
    assert set(results) == set(T.suite.CHECKS)


def test_float32_agrees_with_float64_and_unknown_elements_fail(painn):
    batch64 = systems_batch(painn.cutoff)
    model32 = PaiNN(**painn.config()).float()
    model32.load_state_dict(painn.state_dict())
    assert model32.head.reference_energies.dtype == torch.float64
    e64 = compute(painn, batch64)[K.ENERGY]
    e32 = compute(model32, systems_batch(painn.cutoff, torch.float32))[K.ENERGY]
    assert e32.dtype == torch.float64
    assert torch.allclose(e32, e64, atol=1e-3)
    batch64[K.ATOMIC_NUMBERS] = batch64[K.ATOMIC_NUMBERS].clone()
    batch64[K.ATOMIC_NUMBERS][0] = 7
    with pytest.raises(ValueError, match=r"atomic numbers \[7\]"):
        painn(batch64)


def test_save_load_round_trip(painn, tmp_path):
    path = save_model(painn, tmp_path / "painn.safetensors", extra={"note": "test"})
    loaded = load_model(path)
    assert isinstance(loaded, PaiNN) and loaded.dtype == torch.float64
    assert loaded.config() == painn.config() and loaded.extra == {"note": "test"}
    batch = systems_batch(painn.cutoff)
    a, b = compute(painn, batch, forces=True), compute(loaded, batch, forces=True)
    assert torch.equal(a[K.ENERGY], b[K.ENERGY]) and torch.equal(a[K.FORCES], b[K.FORCES])


def test_edge_blocks_do_not_change_results(painn):
    batch = systems_batch(painn.cutoff)
    whole = compute(painn, batch, forces=True, stress=True)
    default = painn.messages[0].edge_block
    try:
        for message in painn.messages:
            message.edge_block = 7
        blocked = compute(painn, batch, forces=True, stress=True)
    finally:
        for message in painn.messages:
            message.edge_block = default
    for key in (K.ENERGY, K.FORCES, K.STRESS):
        assert_close_relative(blocked[key], whole[key], rtol=1e-12, what=key)
