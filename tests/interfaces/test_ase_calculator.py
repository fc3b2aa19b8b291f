"""The ASE calculator agrees with the native path (collate + compute) and works in ASE MD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase.calculators.calculator import PropertyNotImplementedError
from ase.stress import voigt_6_to_full_3x3_stress

import pesforge
from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.interfaces.ase_calculator import Calculator
from pesforge.models import compute, save_model

ELEMENTS = (1, 6, 8)


@pytest.fixture(scope="module")
def model():
    return T.fixtures.small_bpnn(ELEMENTS, cutoff=4.5, n_radial=6, n_angular_shells=2, seed=3)


def native(model, atoms, stress):
    batch = collate([Frame.from_atoms(atoms)], model.cutoff, dtype=model.dtype)
    return compute(model, batch, forces=True, stress=stress)


@pytest.mark.parametrize("periodic", [False, True], ids=["molecule", "periodic"])
def test_calculator_equals_native_path(model, periodic):
    atoms = T.periodic_cell(ELEMENTS) if periodic else T.molecule(ELEMENTS)
    atoms.calc = Calculator(model)
    want = native(model, atoms, stress=periodic)
    energy = atoms.get_potential_energy()
    assert isinstance(energy, float)
    assert energy == pytest.approx(float(want[K.ENERGY][0]), abs=1e-10)
    assert atoms.get_potential_energy(force_consistent=True) == energy
    np.testing.assert_allclose(atoms.get_potential_energies(),
                               want[K.ATOMIC_ENERGIES].numpy(), atol=1e-10)
    assert atoms.get_potential_energies().sum() == pytest.approx(energy, abs=1e-9)
    np.testing.assert_allclose(atoms.get_forces(), want[K.FORCES].numpy(), atol=1e-10)
    if periodic:
        voigt = atoms.get_stress()
        assert voigt.shape == (6,)
        np.testing.assert_allclose(voigt_6_to_full_3x3_stress(voigt), want[K.STRESS][0].numpy(),
                                   atol=1e-12)
        full = atoms.get_stress(voigt=False)
        np.testing.assert_allclose(full, full.T, atol=1e-12)
    else:
        with pytest.raises(PropertyNotImplementedError, match="periodic"):
            atoms.get_stress()


def test_stress_needs_three_periodic_directions(model):
    atoms = T.periodic_cell(ELEMENTS)
    atoms.pbc = [True, True, False]
    atoms.calc = Calculator(model)
    atoms.get_forces()
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_stress()


def test_stress_matches_ase_numerical_stress(model):
    atoms = T.periodic_cell(ELEMENTS)
    atoms.calc = Calculator(model)
    try:
        from ase.calculators.fd import calculate_numerical_stress
    except ImportError:  # ASE < 3.23
        numeric = atoms.calc.calculate_numerical_stress(atoms, d=1e-5)
    else:
        numeric = calculate_numerical_stress(atoms, eps=1e-5)
    np.testing.assert_allclose(atoms.get_stress(), numeric, atol=1e-7)


def test_results_follow_the_atoms(model):
    atoms = T.molecule(ELEMENTS)
    atoms.calc = Calculator(model)
    before = atoms.get_potential_energy()
    atoms.positions[0] += [0.05, 0.0, 0.0]
    assert atoms.get_potential_energy() != before
    assert atoms.get_potential_energy() == pytest.approx(
        float(native(model, atoms, False)[K.ENERGY][0]), abs=1e-10)


def test_loaded_from_path_and_exported_at_top_level(model, tmp_path):
    path = save_model(model, tmp_path / "model.safetensors")
    atoms = T.periodic_cell(ELEMENTS)
    assert pesforge.Calculator is Calculator
    atoms.calc = pesforge.Calculator(path)
    assert atoms.calc.potential is not model
    expected = native(model, atoms, stress=True)
    assert atoms.get_potential_energy() == pytest.approx(float(expected[K.ENERGY][0]), abs=1e-9)
    np.testing.assert_allclose(atoms.get_forces(), expected[K.FORCES].numpy(), atol=1e-9)
    np.testing.assert_allclose(voigt_6_to_full_3x3_stress(atoms.get_stress()),
                               expected[K.STRESS][0].numpy(), atol=1e-10)
    atoms.calc = Calculator(str(path))
    assert np.isfinite(atoms.get_potential_energy())


def test_freezes_a_model_it_loads_but_not_one_it_is_given(model, tmp_path):
    path = save_model(model, tmp_path / "model.safetensors")
    assert all(p.requires_grad for p in model.parameters())
    Calculator(model)
    assert all(p.requires_grad for p in model.parameters())
    loaded = Calculator(path).potential
    assert len(list(loaded.parameters())) > 0
    assert not any(p.requires_grad for p in loaded.parameters())


def test_dtype_argument_casts_the_model(model, tmp_path):
    path = save_model(model, tmp_path / "model.safetensors")
    calc = Calculator(path, dtype=torch.float32)
    assert calc.potential.dtype == torch.float32
    atoms = T.molecule(ELEMENTS)
    atoms.calc = calc
    reference = float(native(model, atoms, False)[K.ENERGY][0])
    # float32 network, float64 reference energies: totals stay within a few meV.
    assert atoms.get_potential_energy() == pytest.approx(reference, abs=5e-3)


def test_rejects_other_inputs():
    with pytest.raises(TypeError, match="Potential or a model file path"):
        Calculator(42)


def test_velocity_verlet_runs_and_conserves_energy(model):
    from ase import units
    from ase.md.verlet import VelocityVerlet

    atoms = T.molecule(ELEMENTS)
    atoms.calc = Calculator(model)
    kT = 300 * units.kB
    velocities = np.random.default_rng(0).normal(size=(len(atoms), 3))
    atoms.set_momenta(velocities * np.sqrt(kT * atoms.get_masses())[:, None])
    start = atoms.get_total_energy()
    positions = atoms.positions.copy()
    dyn = VelocityVerlet(atoms, timestep=0.5 * units.fs)
    dyn.run(20)
    assert not np.allclose(atoms.positions, positions)
    assert abs(atoms.get_total_energy() - start) < 2e-4
