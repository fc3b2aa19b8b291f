"""Reading ASE databases and the rMD17 NPZ layout."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.db import connect

from pesforge.data import RMD17_LEVEL_OF_THEORY, DataError, LevelOfTheory, read
from pesforge.data.datasets import bundled_path
from pesforge.units import KCAL_PER_MOL


def molecule(shift=0.0):
    return Atoms("CO", positions=[[0.0, 0.0, shift], [0.0, 0.0, 1.13 + shift]])


def test_db_calculator_results(tmp_path):
    path = tmp_path / "co.db"
    forces = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, -0.5]])
    with connect(path) as db:
        for k in range(3):
            atoms = molecule(0.1 * k)
            atoms.calc = SinglePointCalculator(atoms, energy=-5.0 - k, forces=forces * k)
            db.write(atoms, config_type="md", level_of_theory="PBE/def2-SVP (ORCA)")
    frames = read(path)
    assert [f.energy for f in frames] == [-5.0, -6.0, -7.0]
    np.testing.assert_allclose(frames[2].forces, 2 * forces)
    assert frames[1].source == f"{path}:1"
    assert frames[0].info["config_type"] == "md"
    assert frames[0].level_of_theory == RMD17_LEVEL_OF_THEORY


def test_db_custom_keys_from_key_value_pairs_and_data(tmp_path):
    path = tmp_path / "ref.db"
    cell = np.eye(3) * 4.0
    virial = np.diag([0.8, 1.6, 2.4])
    with connect(path) as db:
        atoms = Atoms("CO", positions=[[0, 0, 0], [0, 0, 1.13]], cell=cell, pbc=True)
        db.write(atoms, REF_energy=-2.5, data={"REF_forces": np.ones((2, 3)),
                                                "REF_virial": virial})
    (frame,) = read(path, energy_key="REF_energy", forces_key="REF_forces",
                    virial_key="REF_virial", level_of_theory="B3LYP/6-31G(d)")
    assert frame.energy == -2.5
    np.testing.assert_allclose(frame.forces, np.ones((2, 3)))
    np.testing.assert_allclose(frame.stress, -virial / 64.0)
    assert frame.level_of_theory == LevelOfTheory(text="B3LYP/6-31G(d)")


def test_db_empty_is_an_error(tmp_path):
    path = tmp_path / "empty.db"
    with connect(path) as db:
        db.write(molecule())
        del db[1]
    with pytest.raises(DataError, match="empty.db: contains no frames"):
        read(path)


def test_bundled_npz_units_and_level():
    path = bundled_path("rmd17_ethanol_train_01.npz")
    with np.load(path) as data:
        kcal = data["energies"][3]
        kcal_forces = data["forces"][3]
        coords = data["coords"][3]
    (frame,) = read(path, index=3)
    assert frame.energy == pytest.approx(kcal * 0.0433641, rel=1e-6)
    np.testing.assert_allclose(frame.forces, kcal_forces * KCAL_PER_MOL, rtol=1e-12)
    np.testing.assert_array_equal(frame.positions, coords)
    assert frame.numbers.tolist() == [6, 6, 8, 1, 1, 1, 1, 1, 1]
    assert frame.level_of_theory == LevelOfTheory(method="PBE", basis="def2-SVP", code="ORCA")
    assert frame.source == f"{path}:3"
    (frame,) = read(path, index=3, level_of_theory="CCSD(T)")
    assert str(frame.level_of_theory) == "CCSD(T)"


def test_npz_never_touches_old_arrays_nor_pickles(tmp_path):
    path = tmp_path / "mol.npz"
    coords = np.array([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.1]]])
    # an object array needs pickle to load: reading it would raise under allow_pickle=False
    np.savez(path, nuclear_charges=np.array([6, 8], np.uint8), coords=coords,
             energies=np.array([-100.0]), forces=np.zeros((1, 2, 3)),
             old_energies=np.array([{"not": "read"}], dtype=object))
    (frame,) = read(path)
    assert frame.energy == pytest.approx(-100.0 * KCAL_PER_MOL)


def test_npz_wrong_layout_and_wrong_forces(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, R=np.zeros((1, 2, 3)))
    with pytest.raises(DataError, match="not an rMD17-layout NPZ") as info:
        read(path)
    assert info.value.field == "format"
    path = tmp_path / "bad.npz"
    coords = np.random.default_rng(0).uniform(0, 4, size=(2, 9, 3))
    np.savez(path, nuclear_charges=np.full(9, 6), coords=coords, energies=np.zeros(2),
             forces=np.zeros((2, 8, 3)))
    with pytest.raises(DataError) as info:
        read(path)
    assert str(info.value) == f"{path}: frame 0: forces: shape (8, 3) does not match 9 atoms"
