"""Reading extended XYZ: ASE conventions, configurable label keys, virial and stress forms."""

from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from pesforge.data import DataError, LevelOfTheory, read

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def water(shift=0.0, cell=None):
    positions = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]) + shift
    if cell is None:
        return Atoms("OH2", positions=positions)
    return Atoms("OH2", positions=positions, cell=cell, pbc=True)


def labelled(atoms, energy, forces, stress=None):
    atoms = atoms.copy()
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces, stress=stress)
    return atoms


def test_default_keys_go_through_ase_calculator(tmp_path):
    rng = np.random.default_rng(0)
    forces = [rng.normal(size=(3, 3)) for _ in range(3)]
    images = [labelled(water(0.1 * k), -10.0 - k, forces[k]) for k in range(3)]
    path = tmp_path / "water.xyz"
    write(path, images, format="extxyz")
    frames = read(path)
    assert len(frames) == 3
    for k, frame in enumerate(frames):
        assert frame.energy == pytest.approx(-10.0 - k, abs=1e-12)
        np.testing.assert_allclose(frame.forces, forces[k], atol=1e-7)
        np.testing.assert_allclose(frame.positions, images[k].positions, atol=1e-7)
        assert frame.numbers.tolist() == [8, 1, 1]
        assert frame.stress is None and frame.level_of_theory is None
        assert frame.source == f"{path}:{k}"
        assert not frame.pbc.any()


def test_ref_keys_in_info_and_arrays(tmp_path):
    atoms = water()
    atoms.info["REF_energy"] = -3.5
    atoms.arrays["REF_forces"] = np.arange(9.0).reshape(3, 3)
    atoms.info["config_type"] = "md"
    # a calculator prediction under the default names must not be taken for the label
    atoms.calc = SinglePointCalculator(atoms, energy=99.0, forces=np.zeros((3, 3)))
    path = tmp_path / "ref.extxyz"
    write(path, [atoms], format="extxyz")
    (frame,) = read(path, energy_key="REF_energy", forces_key="REF_forces")
    assert frame.energy == -3.5
    np.testing.assert_allclose(frame.forces, np.arange(9.0).reshape(3, 3))
    assert frame.info["config_type"] == "md"
    assert "REF_energy" not in frame.info


def test_mistyped_label_key_is_an_error(tmp_path):
    path = tmp_path / "w.xyz"
    write(path, [labelled(water(), -1.0, np.zeros((3, 3)))], format="extxyz")
    with pytest.raises(DataError, match="REF_energy: no frame has this energy label") as info:
        read(path, energy_key="REF_energy")
    assert info.value.field == "REF_energy" and info.value.frame is None


def test_virial_converts_to_stress(tmp_path):
    cell = np.array([[5.0, 0.0, 0.0], [0.5, 6.0, 0.0], [0.0, 0.3, 7.0]])
    virial = np.array([[1.0, 0.2, 0.3], [0.2, 2.0, 0.4], [0.3, 0.4, 3.0]])
    volume = abs(np.linalg.det(cell))
    images = []
    for form in (virial, virial.reshape(-1)):
        atoms = water(cell=cell)
        atoms.info["REF_energy"] = -1.0
        atoms.info["REF_virial"] = form
        images.append(atoms)
    path = tmp_path / "virial.xyz"
    write(path, images, format="extxyz")
    frames = read(path, energy_key="REF_energy", virial_key="REF_virial")
    for frame in frames:
        np.testing.assert_allclose(frame.stress, -virial / volume, rtol=1e-12)
        np.testing.assert_allclose(frame.cell, cell)
        assert frame.pbc.all()


def test_voigt_and_full_stress(tmp_path):
    voigt = np.array([1.0, 2.0, 3.0, 0.4, 0.5, 0.6])  # xx yy zz yz xz xy
    full = np.array([[1.0, 0.6, 0.5], [0.6, 2.0, 0.4], [0.5, 0.4, 3.0]])
    first, second = water(cell=np.eye(3) * 6), water(cell=np.eye(3) * 6)
    first.info["REF_stress"] = voigt
    second.info["REF_stress"] = full.reshape(-1)
    third = labelled(water(cell=np.eye(3) * 6), -2.0, np.zeros((3, 3)), stress=voigt)
    path = tmp_path / "stress.xyz"
    write(path, [first, second], format="extxyz")
    for frame in read(path, stress_key="REF_stress"):
        np.testing.assert_allclose(frame.stress, full)
    write(path, [third], format="extxyz")
    (frame,) = read(path)
    np.testing.assert_allclose(frame.stress, full)


def test_level_of_theory_from_info_and_argument(tmp_path):
    atoms = labelled(water(), -1.0, np.zeros((3, 3)))
    atoms.info["level_of_theory"] = "PBE/def2-SVP (ORCA)"
    other = labelled(water(0.5), -1.0, np.zeros((3, 3)))
    other.info["level_of_theory"] = "UHF PBE + D3, def2-SVP"
    path = tmp_path / "lot.xyz"
    write(path, [atoms], format="extxyz")
    (frame,) = read(path)
    assert frame.level_of_theory == LevelOfTheory(method="PBE", basis="def2-SVP", code="ORCA")
    (frame,) = read(path, level_of_theory="CCSD(T)/cc-pVTZ")
    assert frame.level_of_theory.fingerprint() == "text=ccsd(t)/cc-pvtz"
    write(path, [other], format="extxyz")
    (frame,) = read(path)
    assert frame.level_of_theory == LevelOfTheory(text="UHF PBE + D3, def2-SVP")


def test_index_selection_keeps_file_indices(tmp_path):
    images = [labelled(water(0.1 * k), float(k), np.zeros((3, 3))) for k in range(5)]
    path = tmp_path / "many.xyz"
    write(path, images, format="extxyz")
    assert [f.energy for f in read(path, index="1:4")] == [1.0, 2.0, 3.0]
    assert [f.source for f in read(path, index=-1)] == [f"{path}:4"]
    assert [f.energy for f in read(path, index=[4, 0])] == [4.0, 0.0]
    with pytest.raises(IndexError):
        read(path, index=7)


def test_unknown_extension_and_missing_file(tmp_path):
    path = tmp_path / "data.cif"
    path.write_text("")
    with pytest.raises(ValueError, match=r"data\.cif.*\.xyz.*\.db.*\.npz"):
        read(path)
    with pytest.raises(FileNotFoundError, match="nothere.xyz"):
        read(tmp_path / "nothere.xyz")
    with pytest.raises(ValueError, match="unknown format 'cif'"):
        read(path, format="cif")


def test_bad_stress_and_virial_without_cell(tmp_path):
    atoms = labelled(water(), -1.0, np.zeros((3, 3)))
    atoms.info["REF_stress"] = np.arange(4.0)
    path = tmp_path / "s.xyz"
    write(path, [atoms], format="extxyz")
    with pytest.raises(DataError, match=r"frame 0: REF_stress: stress must have shape"):
        read(path, stress_key="REF_stress")
    del atoms.info["REF_stress"]
    atoms.info["virial"] = np.ones(9)
    write(path, [atoms], format="extxyz")
    with pytest.raises(DataError, match="frame 0: virial: a virial needs a cell"):
        read(path)


@pytest.mark.skipif(not (SHARED / "acac" / "train_300K.xyz").is_file(),
                    reason="shared acac data not available")
def test_real_acac_file():
    frames = read(SHARED / "acac" / "train_300K.xyz", index=":50")
    assert len(frames) == 50 and len(frames[0]) == 15
    assert -9400 < frames[0].energy < -9380 and frames[0].forces.shape == (15, 3)
    assert frames[0].info["config_type"] == "300K_MD"
