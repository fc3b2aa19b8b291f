"""The equivariant potential: every irreps intermediate (edge spherical harmonics, atomic
basis, product basis of each order, node features) transforms with its Wigner matrices under
rotations and reflections; forces rotate, energies are invariant; physics checks; model files;
the fast per-l implementation reproduces the e3nn-module one (``e3nn_reference``) exactly."""

import numpy as np
import pytest
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.models import EquivariantPotential, compute, load_model, save_model

from model_helpers import (ELEMENTS, assert_close_relative, perturb, rotation_and_wigner,
                           systems_batch, transformed)

pytest.importorskip("e3nn")


def small_model(lmax: int = 2, interactions: int = 2, correlation: int = 3,
                seed: int = 0, radial: tuple[str, str] = ("bessel", "polynomial"),
                ) -> EquivariantPotential:
    torch.manual_seed(seed)
    m = EquivariantPotential(ELEMENTS, cutoff=4.0, channels=4, lmax=lmax,
                             interactions=interactions, correlation=correlation, n_radial=6,
                             radial_hidden=8, radial_basis=radial[0],
                             envelope=radial[1]).double()
    perturb(m)
    m.fit_statistics([systems_batch(4.0)], reference_energies=np.array([-13.6, -1030.0, -2040.0]),
                     energy_scale=0.5)
    return m


@pytest.fixture(scope="module", params=[(1, "bessel", "polynomial"), (2, "bessel", "polynomial"),
                                        (1, "gaussian", "cosine")],
                ids=["L1", "L2", "L1-gaussian-cosine"])
def model(request):
    lmax, basis, envelope = request.param
    return small_model(lmax=lmax, radial=(basis, envelope))


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


@pytest.mark.parametrize("lmax, interactions, correlation",
                         [(1, 2, 3), (2, 2, 3), (2, 3, 2), (0, 2, 2), (3, 2, 3), (1, 1, 3)])
def test_matches_the_e3nn_module_implementation(lmax, interactions, correlation):
    """Same state dict, same numbers: every intermediate, energies, forces (float64)."""
    from e3nn_reference import ReferenceEquivariant

    model = small_model(lmax, interactions, correlation)
    reference = ReferenceEquivariant(model)
    batch = systems_batch(model.cutoff)
    rep = model.representation(batch)
    expected, _ = reference.representation(batch)
    for name in ("sh", "A", "B", "h"):
        assert len(rep[name]) == len(expected[name])
        for t, ((_, x), y) in enumerate(zip(rep[name], expected[name])):
            assert_close_relative(x, y, rtol=1e-12, what=f"{name}[{t}]")
    positions = batch[K.POSITIONS].clone().requires_grad_(True)
    energies = reference({**batch, K.POSITIONS: positions})
    forces = -torch.autograd.grad(energies.sum(), positions)[0]
    out = compute(model, batch, forces=True)
    assert_close_relative(out[K.ATOMIC_ENERGIES], energies.detach(), rtol=1e-12, what="E_i")
    assert_close_relative(out[K.FORCES], forces, rtol=1e-12, what="forces")


def test_force_training_gradients_match_the_e3nn_implementation():
    """The double backward of force training: d(force loss)/d(parameters) agree per tensor."""
    from e3nn_reference import ReferenceEquivariant

    model = small_model(lmax=1)
    reference = ReferenceEquivariant(model)
    batch = systems_batch(model.cutoff)
    target = torch.randn(batch[K.POSITIONS].shape, dtype=torch.float64)
    loss = ((compute(model, batch, forces=True, training=True)[K.FORCES] - target) ** 2).sum()
    grads = dict(zip([n for n, _ in model.named_parameters()],
                     torch.autograd.grad(loss, list(model.parameters()), allow_unused=True)))
    positions = batch[K.POSITIONS].clone().requires_grad_(True)
    energy = reference({**batch, K.POSITIONS: positions}).sum()
    forces = -torch.autograd.grad(energy, positions, create_graph=True)[0]
    names, params = zip(*[(n, p) for n, p in reference.named_parameters() if p.numel()])
    expected = torch.autograd.grad(((forces - target) ** 2).sum(), params, allow_unused=True)
    checked = 0
    for name, g in zip(names, expected):
        if g is not None and g.abs().max() > 0:
            assert_close_relative(grads[name], g, rtol=1e-10, what=name)
            checked += 1
    assert checked >= 20


def test_old_model_files_load():
    """State dicts of the e3nn-module version (extra output masks, empty biases, Wigner 3j
    buffers) load strictly and give the same energies."""
    from e3nn_reference import ReferenceEquivariant

    model = small_model(lmax=2)
    old = {**ReferenceEquivariant(model).state_dict(),
           **{k: v for k, v in model.state_dict().items() if k.startswith("head.")}}
    assert any("output_mask" in k for k in old) and any("_w3j_" in k for k in old)
    fresh = EquivariantPotential(**model.config()).double()
    fresh.load_state_dict(old, strict=True)
    batch = systems_batch(model.cutoff)
    assert torch.equal(fresh(batch), model(batch))


def test_edge_blocks_do_not_change_results():
    model = small_model(lmax=2)
    batch = systems_batch(model.cutoff)
    whole = compute(model, batch, forces=True, stress=True)
    assert batch[K.EDGE_INDEX].shape[1] > 7 * 4
    for block in model.blocks:
        block.edge_block = 7
    blocked = compute(model, batch, forces=True, stress=True)
    for key in (K.ENERGY, K.FORCES, K.STRESS):
        assert_close_relative(blocked[key], whole[key], rtol=1e-12, what=key)


def test_recomputed_edge_blocks_give_the_same_values_and_training_gradients(monkeypatch):
    import pesforge.nn.equivariant as equivariant_blocks

    model = small_model(lmax=1)
    batch = systems_batch(model.cutoff)

    def run():
        model.zero_grad()
        out = compute(model, batch, forces=True, stress=True, training=True)
        (out[K.FORCES] ** 2).sum().backward()  # a force loss: the double backward
        return out, [p.grad.clone() for p in model.parameters() if p.grad is not None]

    whole, whole_grads = run()
    for block in model.blocks:
        block.edge_block = 7
    monkeypatch.setattr(equivariant_blocks, "RECOMPUTE_EDGES", 0)
    recomputed, recomputed_grads = run()
    for key in (K.ENERGY, K.FORCES, K.STRESS):
        assert_close_relative(recomputed[key], whole[key], rtol=1e-12, what=key)
    assert len(recomputed_grads) == len(whole_grads) > 0
    for got, want in zip(recomputed_grads, whole_grads):
        assert_close_relative(got, want, rtol=1e-10, what="parameter gradient")


def test_spherical_harmonics_and_layout_match_e3nn():
    from e3nn import o3

    from pesforge.nn.equivariant_ops import from_e3nn, spherical_harmonics, to_e3nn

    vec = torch.randn(50, 3, dtype=torch.float64)
    ours = torch.cat(spherical_harmonics(vec, 4), dim=1)
    theirs = o3.spherical_harmonics(list(range(5)), vec, normalize=True,
                                    normalization="component")
    assert torch.allclose(ours, theirs, atol=1e-13)
    flat = torch.randn(7, 3 * (1 + 3 + 5), dtype=torch.float64)
    assert torch.equal(to_e3nn(from_e3nn(flat, 3, 2)), flat)


def test_frozen_parameters_give_the_same_results_and_follow_changes():
    """Frozen (inference) models cache their derived weight matrices; the cache follows
    in-place changes of the parameters and statistics."""
    model = small_model(lmax=1)
    batch = systems_batch(model.cutoff)
    live = compute(model, batch, forces=True)
    model.requires_grad_(False)
    for _ in range(2):
        frozen = compute(model, batch, forces=True)
        assert torch.equal(frozen[K.FORCES], live[K.FORCES])
    model.fit_statistics([systems_batch(3.0)])  # only the neighbour count changes
    reference = small_model(lmax=1)
    reference.fit_statistics([systems_batch(3.0)])
    assert torch.equal(compute(model, batch, forces=True)[K.FORCES],
                       compute(reference, batch, forces=True)[K.FORCES])
    other = small_model(lmax=1, seed=1)
    model.load_state_dict(other.state_dict())
    assert torch.equal(compute(model, batch, forces=True)[K.FORCES],
                       compute(other, batch, forces=True)[K.FORCES])
