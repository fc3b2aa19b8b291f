import numpy as np
import pytest
import torch
from ase.build import bulk

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.models import BPNN, compute, load_model, save_model
from pesforge.physics.charges import equilibrate, redistribute_excess
from pesforge.physics.coulomb import Coulomb, charges_and_dipoles, direct_energies
from pesforge.physics.zbl import COULOMB_CONSTANT
from pesforge.testing.core import evaluate_one
from pesforge.testing.derivatives import (check_forces_finite_difference,
                                          check_stress_finite_difference)

#: Madelung constant of rock salt referred to the nearest-neighbour distance.
MADELUNG_NACL = 1.747564594633
NACL = {"kind": "fixed", "charges": {"11": 1.0, "17": -1.0}}


def learned(scheme="equal", **kw):
    torch.manual_seed(0)
    charges = {"kind": "learned", "elements": [1, 6, 8], "hidden": [8], "scheme": scheme,
               "cutoff": 3.0}
    return Coulomb(charges, **kw).double()


def test_nacl_reproduces_the_madelung_constant_and_is_extensive():
    a = 5.64
    prim = bulk("NaCl", "rocksalt", a=a)
    term = Coulomb(NACL, smearing=0.7, range="full").double()
    e_prim = evaluate_one(term, prim, forces=False).energy / len(prim)
    madelung = -2 * e_prim * (a / 2) / COULOMB_CONSTANT
    assert madelung == pytest.approx(MADELUNG_NACL, abs=1e-6)
    assert abs(madelung - 1.747565) < 1e-6
    sup = prim * (2, 2, 1)
    e_sup = evaluate_one(term, sup, forces=False).energy / len(sup)
    assert e_sup == pytest.approx(e_prim, abs=1e-9)
    cubic = bulk("NaCl", "rocksalt", a=a, cubic=True)  # another cell shape, 8 ions
    assert evaluate_one(term, cubic, forces=False).energy / 8 == pytest.approx(e_prim, abs=1e-9)


def test_total_charge_is_conserved_exactly(water, small_cell):
    frames = [Frame.from_atoms(water), Frame.from_atoms(small_cell), Frame.from_atoms(water)]
    batch = collate(frames, 3.0)
    batch[K.TOTAL_CHARGE] = torch.tensor([1.0, -2.0, 0.0], dtype=torch.float64)
    for scheme in ("equal", "qeq"):
        q = learned(scheme).charges(batch)
        sums = torch.zeros(3, dtype=torch.float64).index_add(0, batch[K.SYSTEM], q)
        assert torch.allclose(sums, batch[K.TOTAL_CHARGE], rtol=0, atol=1e-10)
        assert q.std() > 1e-3  # not trivially uniform
    del batch[K.TOTAL_CHARGE]  # default: neutral
    q = learned().charges(batch)
    assert torch.zeros(3, dtype=torch.float64).index_add(0, batch[K.SYSTEM], q).abs().max() < 1e-10


def test_conservation_kernels():
    system = torch.tensor([0, 0, 0, 1, 1])
    n_atoms = torch.tensor([3, 2])
    total = torch.tensor([0.5, -1.0], dtype=torch.float64)
    raw = torch.tensor([0.3, -0.1, 0.7, 2.0, 1.0], dtype=torch.float64)
    q = redistribute_excess(raw, system, n_atoms, total)
    assert torch.allclose(q - raw, torch.tensor([-0.4 / 3] * 3 + [-2.0] * 2, dtype=torch.float64))
    hard = torch.tensor([1.0, 2.0, 4.0, 1.0, 3.0], dtype=torch.float64)
    q = equilibrate(raw, hard, system, 2, total)
    assert torch.allclose(torch.zeros(2, dtype=torch.float64).index_add(0, system, q), total)
    # QEq: equal chemical potential chi + J q within each system.
    mu = raw + hard * q
    assert torch.allclose(mu[:3], mu[0].expand(3)) and torch.allclose(mu[3:], mu[3].expand(2))


def test_long_range_ewald_equals_direct_sum_plus_tinfoil_dipole_term(water):
    # Ewald with tin-foil boundary conditions differs from the isolated molecule by
    # -2 pi k mu^2 / (3 V), plus image multipole terms of order L^-5.
    q = {"1": 0.4, "8": -0.8}
    term = Coulomb({"kind": "fixed", "charges": q}, smearing=1.0).double()
    direct = evaluate_one(term, water, forces=False).energy
    charges = np.array([q[str(z)] for z in water.numbers])
    mu = charges @ water.positions
    residual = {}
    for length in (12.0, 16.0):
        boxed = water.copy()
        boxed.set_cell([length] * 3)
        boxed.pbc = True
        ewald = evaluate_one(term, boxed, forces=False).energy
        tinfoil = -2 * np.pi * COULOMB_CONSTANT * mu @ mu / (3 * length**3)
        assert abs(tinfoil) > 1e-3
        residual[length] = ewald - direct - tinfoil
    assert abs(residual[12.0]) < 3e-4
    assert abs(residual[16.0]) == pytest.approx(abs(residual[12.0]) * (12 / 16) ** 5, rel=0.1)


def test_pme_agrees_with_ewald(small_cell):
    big = small_cell * (2, 2, 2)
    ewald = learned(smearing=1.0, method="ewald")
    pme = learned(smearing=1.0, method="pme")
    e1 = evaluate_one(ewald, big, forces=False).energy
    e2 = evaluate_one(pme, big, forces=False).energy
    assert e2 == pytest.approx(e1, rel=1e-3)


@pytest.mark.parametrize("term", ["learned_equal", "learned_qeq", "fixed_full", "learned_pme"])
def test_forces_and_stress_match_finite_differences(term, water, small_cell):
    # Coarse Ewald/PME settings keep this fast; the derivative identities hold at any setting.
    terms = {"learned_equal": lambda: learned(lr_wavelength=1.0),
             "learned_qeq": lambda: learned("qeq", lr_wavelength=1.0),
             "fixed_full": lambda: Coulomb({"kind": "fixed",
                                            "charges": {"1": 0.4, "6": -0.4, "8": 0.0}},
                                           smearing=0.6, range="full", real_cutoff=3.5,
                                           lr_wavelength=0.8).double(),
             "learned_pme": lambda: learned(method="pme", smearing=1.0, mesh_spacing=0.5)}
    potential = terms[term]()
    systems = [small_cell] if term in ("fixed_full", "learned_pme") else [water, small_cell]
    check_forces_finite_difference(potential, systems)
    check_stress_finite_difference(potential, small_cell)


def test_direct_kernel_matches_point_charges_for_full_range():
    positions = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]], dtype=torch.float64)
    q = torch.tensor([1.0, -1.0], dtype=torch.float64)
    assert float(direct_energies(q, positions, 1.0, True).sum()) == pytest.approx(
        -COULOMB_CONSTANT / 2.0, rel=1e-14)
    # The long-range part is finite at short range and equals 1/r far away.
    near = direct_energies(q, positions * 0.01, 1.0, False).sum()
    far = direct_energies(q, positions * 10, 1.0, False).sum()
    assert abs(float(near)) < COULOMB_CONSTANT * 0.8
    assert float(far) == pytest.approx(-COULOMB_CONSTANT / 20.0, rel=1e-12)


def test_bpnn_plus_coulomb_round_trips_and_gives_dipoles(tmp_path, water):
    torch.manual_seed(0)
    model = (BPNN([1, 6, 8], cutoff=3.0, hidden=[8]).double() + learned()).eval()  # as loaded
    path = save_model(model, tmp_path / "m.safetensors")
    again = load_model(path)
    batch = collate([Frame.from_atoms(water)], model.cutoff)
    a = compute(model, batch, forces=True)
    b = compute(again, batch, forces=True)
    assert torch.equal(a[K.ENERGY], b[K.ENERGY]) and torch.equal(a[K.FORCES], b[K.FORCES])
    out = charges_and_dipoles(again, batch)
    pos = batch[K.POSITIONS]
    assert torch.allclose(out[K.DIPOLE][0], (out[K.CHARGES][:, None] * pos).sum(0))


def test_charges_train_on_reference_dipoles(water):
    """A charge head fitted to reference dipoles through the charge loss reproduces them."""
    from pesforge.training.losses import charge_loss

    term = learned()
    frames = []
    rng = np.random.default_rng(0)
    for _ in range(3):
        w = water.copy()
        w.positions += rng.normal(scale=0.05, size=(3, 3))
        frames.append(Frame.from_atoms(w))
    batch = collate(frames, term.cutoff)
    # Reference: fixed charges O -0.8, H +0.4 (a point-charge water model).
    q_ref = torch.where(batch[K.ATOMIC_NUMBERS] == 8, -0.8, 0.4).to(torch.float64)
    mu_ref = torch.zeros(3, 3, dtype=torch.float64).index_add(
        0, batch[K.SYSTEM], q_ref[:, None] * batch[K.POSITIONS])
    batch.update({K.REF_DIPOLE: mu_ref, K.HAS_DIPOLE: torch.ones(3, dtype=torch.bool)})
    # Plain gradient descent (torch.optim's first import costs seconds).
    params = [p for p in term.parameters() if p.requires_grad]
    first = None
    for _ in range(80):
        loss, parts = charge_loss(charges_and_dipoles(term, batch), batch)
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        with torch.no_grad():
            for p, g in zip(params, grads):
                if g is not None:
                    p -= 0.1 * g
        first = first or parts["dipole"]
    assert parts["dipole"] < 0.1 * first, (first, parts)
