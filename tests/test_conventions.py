"""One test per convention of docs/conventions.md."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ase import Atoms, units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones
from ase.neighborlist import neighbor_list as ase_neighbor_list
from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress

from pesforge import units as pu
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame, voigt_to_matrix
from pesforge.models import BPNN, compute
from pesforge.models.potential import Potential
from pesforge.neighbors import edge_vectors


class LennardJonesPotential(Potential):
    """ASE's shifted Lennard-Jones (``smooth=False``): per pair 4 eps ((s/r)^12 - (s/r)^6) - e0,
    half to each atom. Only for comparing conventions with ASE's calculator."""

    reads = (K.POSITIONS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, sigma: float, epsilon: float, cutoff: float):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("sigma", torch.tensor(sigma, dtype=torch.float64))
        self.register_buffer("epsilon", torch.tensor(epsilon, dtype=torch.float64))

    def pair(self, r):
        c6 = (self.sigma / r) ** 6
        return 4 * self.epsilon * (c6**2 - c6)

    def forward(self, batch):
        r = torch.linalg.norm(edge_vectors(batch), dim=1)
        shift = self.pair(torch.tensor(self.cutoff, dtype=torch.float64))
        energies = torch.zeros(len(batch[K.POSITIONS]), dtype=torch.float64)
        return energies.index_add(0, batch[K.EDGE_INDEX][0], 0.5 * (self.pair(r) - shift))


def native(potential, atoms, stress=True):
    batch = collate([Frame.from_atoms(atoms)], potential.cutoff, dtype=torch.float64)
    return {k: v.numpy() for k, v in compute(potential, batch, stress=stress).items()}


def strained_copper(scale: float) -> Atoms:
    atoms = bulk("Cu", "fcc", a=3.61 * scale, cubic=True).repeat((2, 1, 1))
    atoms.set_cell(atoms.cell.array @ np.array([[1, 0.04, 0], [0, 1, 0.02], [0.03, 0, 1]]),
                   scale_atoms=True)
    atoms.rattle(0.03, seed=1)
    return atoms


# --- units --------------------------------------------------------------------------------------


def test_units_kcal_per_mol():
    assert f"{pu.KCAL_PER_MOL:.7f}" == "0.0433641"
    assert pu.KJ_PER_MOL == pytest.approx(pu.KCAL_PER_MOL / 4.184, rel=1e-12)


def test_units_are_ase_units():
    assert pu.HARTREE == pytest.approx(27.211386, abs=1e-6)
    assert pu.BOHR == pytest.approx(0.52917721, abs=1e-8)
    assert 1 / pu.GPA == pytest.approx(160.21766, abs=1e-5)  # 1 eV/Å³ in GPa
    assert pu.FS_TO_ASE_TIME == units.fs
    assert 1 / pu.FS_TO_ASE_TIME == pytest.approx(10.1805, abs=1e-4)  # ASE time unit in fs
    assert Atoms("H").get_masses()[0] == pytest.approx(1.008, abs=1e-3)  # amu


def test_units_kcal_per_mol_converted_by_the_reader():
    """rMD17 stores kcal/mol and kcal/mol/Å; frames hold eV and eV/Å."""
    from importlib.resources import files

    from pesforge.data.readers import read

    path = files("pesforge") / "resources" / "rmd17_ethanol_test_01.npz"
    with np.load(path) as raw:
        energy, forces = raw["energies"][0], raw["forces"][0]
    frame = read(path, index=0)[0]
    assert frame.energy == pytest.approx(energy * 0.0433641, rel=1e-6)
    np.testing.assert_allclose(frame.forces, forces * pu.KCAL_PER_MOL, rtol=1e-12)


# --- cells, edges -------------------------------------------------------------------------------


def test_cell_vectors_are_rows():
    cell = np.array([[4.0, 0.0, 0.0], [1.0, 3.0, 0.0], [0.5, 0.7, 5.0]])
    fractional = np.array([[0.1, 0.2, 0.3], [0.6, 0.5, 0.9]])
    atoms = Atoms("HO", scaled_positions=fractional, cell=cell, pbc=True)
    frame = Frame.from_atoms(atoms)
    np.testing.assert_array_equal(frame.cell, cell)
    np.testing.assert_allclose(frame.positions, fractional @ cell)
    batch = collate([frame], 5.0)
    np.testing.assert_array_equal(batch[K.CELL][0].numpy(), cell)
    # Shifts combine cell rows: r_ij = r_j - r_i + S @ cell (not cell @ S, as for columns).
    i, j = batch[K.EDGE_INDEX].numpy()
    shifts = batch[K.EDGE_SHIFTS].numpy()
    vectors = edge_vectors(batch).numpy()
    base = atoms.positions[j] - atoms.positions[i]
    np.testing.assert_allclose(vectors, base + shifts @ cell, atol=1e-12)
    columns = base + shifts @ cell.T
    assert np.abs(vectors - columns).max() > 0.1


def test_edge_vector_direction():
    atoms = Atoms("HO", positions=[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    batch = collate([Frame.from_atoms(atoms)], 2.0)
    vectors = {tuple(e): v for e, v in zip(batch[K.EDGE_INDEX].T.tolist(),
                                           edge_vectors(batch).numpy())}
    np.testing.assert_allclose(vectors[(0, 1)], [0.0, 0.0, 1.0])  # r_1 - r_0: i -> j
    np.testing.assert_allclose(vectors[(1, 0)], [0.0, 0.0, -1.0])
    periodic = strained_copper(1.0)
    batch = collate([Frame.from_atoms(periodic)], 3.0)
    i, j, d = ase_neighbor_list("ijD", periodic, 3.0)
    ours = {(a, b, *np.round(v, 8)) for (a, b), v in zip(batch[K.EDGE_INDEX].T.tolist(),
                                                           edge_vectors(batch).numpy())}
    assert ours == {(int(a), int(b), *np.round(v, 8)) for a, b, v in zip(i, j, d)}


# --- forces and stress --------------------------------------------------------------------------


def test_forces_are_minus_gradient():
    lj = LennardJonesPotential(sigma=2.0, epsilon=0.1, cutoff=5.0)
    dimer = Atoms("Ar2", positions=[[0.0, 0.0, 0.0], [1.9, 0.0, 0.0]])  # inside the repulsive wall
    forces = native(lj, dimer, stress=False)[K.FORCES]
    assert forces[0, 0] < 0 < forces[1, 0]  # atoms pushed apart
    np.testing.assert_allclose(forces.sum(0), 0.0, atol=1e-12)


def test_stress_sign_matches_ase_emt_labels():
    """ASE's EMT stress of compressed Cu is negative; pesforge keeps that sign through frames,
    batches and back to ASE Atoms."""
    atoms = strained_copper(0.97)
    atoms.calc = EMT()
    voigt = atoms.get_stress()
    assert (voigt[:3] < 0).all()
    frame = Frame.from_atoms(atoms, energy=atoms.get_potential_energy(), stress=voigt)
    np.testing.assert_allclose(frame.stress, voigt_6_to_full_3x3_stress(voigt))
    batch = collate([frame], 3.0)
    assert batch[K.HAS_STRESS].tolist() == [True]
    np.testing.assert_allclose(batch[K.REF_STRESS][0].numpy(), frame.stress)
    back = frame.to_atoms()
    np.testing.assert_allclose(full_3x3_to_voigt_6_stress(back.info["REF_stress"]), voigt)


@pytest.mark.parametrize("scale, sign", [(0.95, -1), (1.05, 1)], ids=["compressed", "stretched"])
def test_stress_sign_and_voigt_match_ase_lennard_jones(scale, sign):
    """The same potential in pesforge and in ASE gives the same stress, energies and forces."""
    atoms = strained_copper(scale)
    atoms.calc = LennardJones(sigma=2.3, epsilon=0.4, rc=5.0, smooth=False)
    ours = native(LennardJonesPotential(sigma=2.3, epsilon=0.4, cutoff=5.0), atoms)
    np.testing.assert_allclose(full_3x3_to_voigt_6_stress(ours[K.STRESS][0]), atoms.get_stress(),
                               atol=1e-10)
    assert (np.sign(np.diag(ours[K.STRESS][0])) == sign).all()
    np.testing.assert_allclose(ours[K.FORCES], atoms.get_forces(), atol=1e-10)
    np.testing.assert_allclose(ours[K.ATOMIC_ENERGIES], atoms.get_potential_energies(),
                               atol=1e-10)
    volume = atoms.get_volume()
    np.testing.assert_allclose(ours[K.VIRIAL][0], -ours[K.STRESS][0] * volume, atol=1e-10)


def test_voigt_order():
    matrix = voigt_to_matrix(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]))  # xx yy zz yz xz xy
    np.testing.assert_array_equal(matrix, [[1, 6, 5], [6, 2, 4], [5, 4, 3]])
    random = np.random.default_rng(0).normal(size=6)
    np.testing.assert_array_equal(voigt_to_matrix(random), voigt_6_to_full_3x3_stress(random))


# --- energies and labels ------------------------------------------------------------------------


def test_per_atom_energies_sum_to_total():
    lj = LennardJonesPotential(sigma=2.3, epsilon=0.4, cutoff=5.0)
    systems = [strained_copper(1.0), Atoms("Ar3", positions=[[0, 0, 0], [2.5, 0, 0], [0, 2.6, 0]])]
    batch = collate([Frame.from_atoms(a) for a in systems], lj.cutoff)
    out = compute(lj, batch)
    sums = torch.zeros(2, dtype=torch.float64).index_add(0, batch[K.SYSTEM],
                                                          out[K.ATOMIC_ENERGIES])
    torch.testing.assert_close(out[K.ENERGY], sums, rtol=0, atol=1e-12)


def test_totals_are_float64():
    model = BPNN([1, 8], hidden=(4,)).float()
    with torch.no_grad():
        model.reference_energies.fill_(-1000.0)
    atoms = Atoms("H2O", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    out = compute(model, collate([Frame.from_atoms(atoms)], model.cutoff, dtype=torch.float32))
    assert out[K.ENERGY].dtype == torch.float64
    assert out[K.ATOMIC_ENERGIES].dtype == torch.float64
    assert out[K.FORCES].dtype == torch.float32
    assert model.reference_energies.dtype == torch.float64


def test_reference_labels_have_their_own_keys():
    for key in (K.REF_ENERGY, K.REF_FORCES, K.REF_STRESS):
        assert key.startswith("REF_") and key[4:] in K.SCHEMA
    atoms = strained_copper(1.0)
    frame = Frame.from_atoms(atoms, energy=-1.5, forces=np.ones((len(atoms), 3)),
                             stress=np.arange(6.0))
    batch = collate([frame], 3.0)
    out = compute(LennardJonesPotential(2.3, 0.4, 3.0), batch, stress=True)
    assert not set(out) & set(batch)  # predictions never overwrite batch entries or labels
    assert not any(key.startswith("REF_") for key in out)
    back = frame.to_atoms()
    assert back.info["REF_energy"] == -1.5 and "REF_forces" in back.arrays
    assert "energy" not in back.info
