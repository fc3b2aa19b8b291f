import numpy as np
import pytest
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.models import compute, load_model, save_model
from pesforge.physics.dispersion import D3, functional_of, subtract_d3
from pesforge.testing.core import evaluate_one
from pesforge.testing.derivatives import (check_forces_finite_difference,
                                          check_stress_finite_difference)


def reference(atoms, method="pbe", damping="d3bj"):
    """Energy, forces and stress of dftd3's own ASE calculator (no pesforge code)."""
    from dftd3.ase import DFTD3

    atoms = atoms.copy()
    atoms.calc = DFTD3(method=method, damping=damping)
    stress = atoms.get_stress(voigt=False) if atoms.pbc.all() else None
    return atoms.get_potential_energy(), atoms.get_forces(), stress


@pytest.mark.parametrize("method", ["pbe", "b3lyp"])
def test_d3_matches_the_dftd3_reference(method, water, small_cell):
    term = D3(method, cutoff_width=0.0)  # dftd3's own (sharp) real-space cutoffs
    for atoms in (water, small_cell):
        got = evaluate_one(term, atoms, stress=bool(atoms.pbc.all()))
        energy, forces, stress = reference(atoms, method)
        assert got.energy == pytest.approx(energy, abs=1e-12)
        assert abs(energy) > 1e-3
        np.testing.assert_allclose(got.forces, forces, atol=1e-12)
        assert got.atomic_energies.sum() == pytest.approx(energy, abs=1e-12)
        if stress is not None:
            np.testing.assert_allclose(got.stress, stress, atol=1e-12)


def test_smoothed_cutoffs_change_periodic_energies_negligibly(small_cell):
    sharp = evaluate_one(D3("pbe", cutoff_width=0.0), small_cell, forces=False).energy
    smooth = evaluate_one(D3("pbe"), small_cell, forces=False).energy
    assert smooth == pytest.approx(sharp, abs=1e-3 * abs(sharp))


def test_forces_and_stress_match_finite_differences(water, small_cell):
    # D3's coordination-number counting function never drops below e^-16 ~ 1e-7 per pair, so
    # dftd3's sharp CN cutoff (40 bohr) leaves energy steps of ~1e-9 eV as images cross it:
    # displacements of 1e-3 Å (strain 1e-3) keep the five-point stencil above that noise.
    term = D3("pbe")
    check_forces_finite_difference(term, [water, small_cell], step=1e-3)
    check_stress_finite_difference(term, small_cell, step=1e-3, rtol=1e-4)


def test_functional_from_level_of_theory():
    assert functional_of("PBE/def2-SVP (ORCA)") == "pbe"
    assert functional_of("PBE-D3(BJ)/def2-TZVP") == "pbe"
    assert D3.from_level_of_theory("B3LYP-D3BJ/def2-SVP").method == "b3lyp"
    with pytest.raises(ValueError, match="no D3"):
        evaluate_one(D3("not-a-functional"), _h2())


def _h2():
    from ase import Atoms

    return Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])


def test_subtracting_d3_then_adding_the_term_restores_the_labels(water, tmp_path):
    from pesforge.models import BPNN

    frame = Frame.from_atoms(water, energy=-10.0, forces=np.ones((3, 3)),
                             level_of_theory="PBE-D3(BJ)/def2-SVP")
    (residual,) = subtract_d3([frame])
    batch = collate([frame], 0.0)
    d3 = compute(D3("pbe"), batch)
    assert residual.energy == pytest.approx(-10.0 - float(d3[K.ENERGY][0]), abs=1e-12)
    np.testing.assert_allclose(residual.forces, 1.0 - d3[K.FORCES].numpy(), atol=1e-12)
    assert frame.energy == -10.0  # input untouched
    # D3 travels in the model file with the network.
    torch.manual_seed(0)
    model = (D3("pbe") + BPNN([1, 8], cutoff=3.0, hidden=[4]).double()).eval()  # as loaded
    again = load_model(save_model(model, tmp_path / "m.safetensors"))
    b = collate([frame], model.cutoff)
    assert torch.equal(compute(model, b)[K.FORCES], compute(again, b)[K.FORCES])
