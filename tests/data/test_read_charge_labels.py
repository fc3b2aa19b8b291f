"""Reference charges, dipoles and net charges: read from extxyz and NPZ, written back, batched."""

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from pesforge.data import DataError, Frame, read, write_extxyz, write_npz
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.units import KCAL_PER_MOL

WATER = np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]])


def frames(n=3, seed=0):
    """Water frames with energies, forces, charges, dipoles and alternating net charges."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        positions = WATER + rng.normal(scale=0.05, size=(3, 3))
        total = float(k % 2)
        charges = np.array([-0.8, 0.4, 0.4]) + total / 3 + rng.normal(scale=0.01, size=3)
        charges += (total - charges.sum()) / 3
        out.append(Frame(numbers=[8, 1, 1], positions=positions, energy=-10.0 - k,
                         forces=rng.normal(size=(3, 3)), charges=charges,
                         dipole=charges @ positions, total_charge=total))
    return out


def assert_same_labels(got, expected, atol):
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a.charges, b.charges, rtol=0, atol=atol)
        np.testing.assert_allclose(a.dipole, b.dipole, rtol=0, atol=1e-12)
        assert a.total_charge == b.total_charge
        assert a.energy == pytest.approx(b.energy, abs=1e-10)


def test_extxyz_round_trip_of_charges_dipole_and_total_charge(tmp_path):
    original = frames()
    path = write_extxyz(tmp_path / "w.xyz", original)
    again = read(path, energy_key="REF_energy", forces_key="REF_forces",
                 charges_key="REF_charges", dipole_key="REF_dipole")
    assert_same_labels(again, original, atol=1e-8)  # per-atom columns: 8 decimals
    assert all("total_charge" not in f.info and "REF_dipole" not in f.info for f in again)
    # and back again: nothing lost or duplicated on a second pass
    twice = read(write_extxyz(tmp_path / "w2.xyz", again), energy_key="REF_energy",
                 forces_key="REF_forces", charges_key="REF_charges", dipole_key="REF_dipole")
    assert_same_labels(twice, again, atol=0)


def test_npz_round_trip(tmp_path):
    original = frames(4)
    path = write_npz(tmp_path / "w.npz", original)
    with np.load(path) as data:
        assert data["charges"].shape == (4, 3) and data["dipole"].shape == (4, 3)
        assert data["energies"][0] == pytest.approx(-10.0 / KCAL_PER_MOL)
    again = read(path)
    assert_same_labels(again, original, atol=0)
    np.testing.assert_allclose(again[2].forces, original[2].forces, rtol=1e-14)


@pytest.mark.filterwarnings("error")
def test_ase_native_names_and_fallbacks(tmp_path):
    """ASE's own names: calculator ``charges``/``dipole``, ``initial_charges``, info
    ``charge``; the defaults find them, and they never stay in ``Frame.info``."""
    a = Atoms("OH2", positions=WATER)
    a.calc = SinglePointCalculator(a, energy=-1.0, charges=[-0.6, 0.3, 0.3],
                                   dipole=[0.1, 0.2, 0.3])
    b = Atoms("OH2", positions=WATER, charges=[-1.2, 0.1, 0.1])  # initial_charges
    b.info.update(energy=-2.0, charge=-1)
    path = tmp_path / "native.xyz"
    write(path, [a, b], format="extxyz")
    fa, fb = read(path)
    np.testing.assert_allclose(fa.charges, [-0.6, 0.3, 0.3], atol=1e-8)
    np.testing.assert_allclose(fa.dipole, [0.1, 0.2, 0.3])
    assert fa.total_charge is None and fb.dipole is None
    np.testing.assert_allclose(fb.charges, [-1.2, 0.1, 0.1], atol=1e-8)
    assert fb.total_charge == -1.0 and "charge" not in fb.info


def test_total_charge_reaches_the_batch(tmp_path):
    original = frames(3)
    original[2] = Frame(numbers=[8, 1, 1], positions=WATER)  # unlabelled, no net charge
    batch = collate(original, 2.0)
    assert batch[K.TOTAL_CHARGE].tolist() == [0.0, 1.0, 0.0]
    assert batch[K.HAS_CHARGES].tolist() == [True, True, False]
    assert batch[K.HAS_DIPOLE].tolist() == [True, True, False]
    assert batch[K.REF_CHARGES].shape == (9,) and batch[K.REF_DIPOLE].shape == (3, 3)
    np.testing.assert_array_equal(batch[K.REF_CHARGES][3:6].numpy(), original[1].charges)


def test_net_charge_of_an_atoms_object_reaches_the_frame():
    """A calculator builds frames with from_atoms: the net charge must not be dropped."""
    ion = Frame(numbers=[8, 1, 1, 1], positions=np.vstack([WATER, [[0.3, -0.9, 0.0]]]),
                total_charge=1.0)
    assert Frame.from_atoms(ion.to_atoms()).total_charge == 1.0
    atoms = Atoms("OH", positions=[[0, 0, 0], [0.97, 0, 0]])
    assert Frame.from_atoms(atoms).total_charge is None
    atoms.info["charge"] = -1  # ASE's convention (xtb, tblite, FAIRChem calculators)
    assert Frame.from_atoms(atoms).total_charge == -1.0
    assert Frame.from_atoms(atoms, total_charge=0.0).total_charge == 0.0


def test_bad_shapes_name_file_frame_and_field(tmp_path):
    path = tmp_path / "bad.npz"
    good = frames(2)
    np.savez(path, nuclear_charges=[8, 1, 1], coords=np.stack([f.positions for f in good]),
             energies=np.zeros(2), forces=np.zeros((2, 3, 3)), charges=np.zeros((2, 2)))
    with pytest.raises(DataError) as info:
        read(path)
    assert str(info.value) == f"{path}: frame 0: charges: shape (2,) does not match 3 atoms"
    np.savez(path, nuclear_charges=[8, 1, 1], coords=np.stack([f.positions for f in good]),
             energies=np.zeros(2), forces=np.zeros((2, 3, 3)), dipole=np.zeros((3, 3)))
    with pytest.raises(DataError, match="dipole: 3 entries but coords has 2 frames"):
        read(path)
    atoms = [Atoms("OH2", positions=WATER) for _ in range(2)]
    atoms[1].info["REF_dipole"] = np.array([0.1, 0.2])
    atoms[0].info["REF_dipole"] = np.array([0.1, 0.2, 0.3])
    write(tmp_path / "bad.xyz", atoms, format="extxyz")
    with pytest.raises(DataError) as info:
        read(tmp_path / "bad.xyz", dipole_key="REF_dipole")
    assert (info.value.frame, info.value.field) == (1, "dipole")
    assert str(info.value).startswith(f"{tmp_path / 'bad.xyz'}: frame 1: dipole: shape (2,)")


def test_mistyped_keys_and_inconsistent_sums(tmp_path):
    path = write_extxyz(tmp_path / "w.xyz", frames(2))
    with pytest.raises(DataError, match="REF_charge: no frame has this charges label"):
        read(path, charges_key="REF_charge")
    with pytest.raises(DataError, match="Q: no such array"):
        read(write_npz(tmp_path / "w.npz", frames(2)), total_charge_key="Q")
    ion = frames(2)[1]  # net charge +1; drop it and the charges no longer add up
    ion.total_charge = None
    with pytest.warns(UserWarning, match=r"frame 0: 1 e vs 0 e \(absent: neutral\)"):
        read(write_extxyz(tmp_path / "ion.xyz", [ion]), charges_key="REF_charges")
