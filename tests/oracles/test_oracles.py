"""PySCF and tblite oracles: units at the boundary, forces = -dE/dR, failures, presets."""

import numpy as np
import pytest
from ase.build import bulk, molecule

from pesforge import units
from pesforge.data import Frame
from pesforge.oracles import OracleFailure, PySCFOracle, TBLiteOracle


def _water(shift=None):
    atoms = molecule("H2O")
    if shift is not None:
        atoms.positions += shift
    return Frame.from_atoms(atoms, source="water")


def _fd_forces(oracle, frame, atom, h=1e-3, axes=(0, 1, 2)):
    out = []
    for axis in axes:
        energies = []
        for sign in (1, -1):
            pos = frame.positions.copy()
            pos[atom, axis] += sign * h
            energies.append(oracle.compute(Frame(frame.numbers, pos)).energy)
        out.append(-(energies[0] - energies[1]) / (2 * h))
    return np.array(out)


def test_tblite_units_and_forces():
    oracle = TBLiteOracle()
    frame = _water()
    label = oracle.compute(frame)
    # GFN2-xTB water total energy is about -5.07 Hartree
    assert label.energy / units.HARTREE == pytest.approx(-5.07, abs=0.03)
    assert label.forces.shape == (3, 3) and label.stress is None
    np.testing.assert_allclose(_fd_forces(oracle, frame, 0), label.forces[0], atol=2e-3)
    assert "gfn2-xtb" in label.level_of_theory.fingerprint()


def test_tblite_agrees_with_its_ase_calculator_on_a_periodic_cell():
    from tblite.ase import TBLite

    atoms = bulk("Si", "diamond", a=5.43, cubic=False)
    atoms.rattle(0.05, seed=1)
    label = TBLiteOracle().compute(Frame.from_atoms(atoms))
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    # the same calculation twice; agreement to the SCF convergence, not bit for bit
    assert label.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-5)
    np.testing.assert_allclose(label.forces, atoms.get_forces(), atol=1e-4)
    from ase.stress import voigt_6_to_full_3x3_stress
    np.testing.assert_allclose(label.stress, voigt_6_to_full_3x3_stress(atoms.get_stress()),
                               atol=1e-6)


def test_tblite_failure_is_an_oracle_failure():
    with pytest.raises(OracleFailure, match="SCF not converged"):
        TBLiteOracle(max_iterations=1).compute(_water())
    with pytest.raises(OracleFailure, match="not compatible"):  # 8 electrons, 1 unpaired
        TBLiteOracle(uhf=1).compute(_water())


def test_pyscf_units_forces_and_level_of_theory():
    oracle = PySCFOracle(xc="LDA", basis="sto-3g", grid_level=2, conv_tol=1e-11)
    frame = _water()
    label = oracle.compute(frame)
    from pyscf import dft, gto  # the same calculation straight through PySCF, in Hartree

    mol = gto.M(atom=[(int(z), tuple(p)) for z, p in zip(frame.numbers, frame.positions)],
                basis="sto-3g", unit="Angstrom", verbose=0)
    mf = dft.RKS(mol, xc="LDA")
    mf.grids.level, mf.conv_tol = 2, 1e-11
    assert label.energy == pytest.approx(mf.kernel() * units.HARTREE, abs=1e-6)
    np.testing.assert_allclose(_fd_forces(oracle, frame, 1, h=2e-3, axes=(1,)),
                               label.forces[1, 1:2], atol=2e-3)
    lot = label.level_of_theory.to_dict()
    assert lot["method"] == "RKS LDA" and lot["basis"] == "sto-3g"
    assert lot["code"] == "PySCF" and {"version", "auxbasis", "grid", "scf_tolerance",
                                       "charge", "spin"} <= set(lot)
    assert lot["scf_tolerance"] == "1e-11" and lot["grid"] == "level 2"


def test_pyscf_analytic_hessian_matches_finite_differences_of_its_forces():
    from pesforge.analysis.hessian import finite_difference_hessian
    from pesforge.sampling.normal_modes import hessian_of

    oracle = PySCFOracle(xc="LDA", basis="sto-3g", grid_level=3, conv_tol=1e-12)
    frame = _water(np.array([0.0, 0.02, -0.03]))
    analytic = hessian_of(oracle, frame)  # normal-mode sampling asks the oracle for it
    assert analytic.shape == (9, 9)
    np.testing.assert_allclose(analytic, analytic.T, atol=1e-6)
    numeric = finite_difference_hessian(oracle, frame, delta=0.003)
    # The DFT grid is not differentiated analytically (PySCF's default), so ~1e-2 eV/Å².
    np.testing.assert_allclose(analytic, numeric, atol=0.05)
    assert np.abs(analytic).max() > 10.0  # O-H stretch curvature: tens of eV/Å²


def test_pyscf_open_shell_uses_uks():
    oracle = PySCFOracle(xc="LDA", basis="sto-3g", spin=1, grid_level=1)
    frame = Frame(numbers=[8, 1], positions=[[0, 0, 0], [0, 0, 0.97]])
    label = oracle.compute(frame)
    assert label.level_of_theory.method == "UKS LDA" and np.isfinite(label.energy)


def test_pyscf_scf_failure_after_retries():
    oracle = PySCFOracle(xc="LDA", basis="sto-3g", grid_level=1, max_cycle=1, conv_tol=1e-12,
                         retries=[{"damp": 0.5, "max_cycle": 1},
                                  {"level_shift": 0.3, "max_cycle": 1}])
    with pytest.raises(OracleFailure, match="3 attempt"):
        oracle.compute(_water())


def test_pyscf_rmd17_preset_and_bad_preset():
    oracle = PySCFOracle.preset("rmd17")
    c = oracle.config
    assert (c.method, c.xc, c.basis, c.auxbasis, c.grid_level, c.conv_tol) == (
        "RKS", "PBE", "def2-SVP", "def2-universal-jfit", 4, 1e-10)
    with pytest.raises(ValueError, match="unknown PySCF preset"):
        PySCFOracle("nope")
    with pytest.raises(OracleFailure, match="molecules only"):
        oracle.compute(Frame.from_atoms(bulk("Cu")))


@pytest.mark.slow
def test_pyscf_rmd17_preset_reproduces_rmd17_ethanol():
    from pesforge.data import rmd17

    frame = rmd17("ethanol", "test")[0]
    labelled = PySCFOracle.preset("rmd17").label(frame)
    mae = np.abs(labelled.forces - frame.forces).mean()
    print(f"rmd17 preset vs rMD17 ethanol test frame 0: force MAE {mae * 1e3:.3f} meV/Å, "
          f"{labelled.info['oracle_seconds']:.1f} s")
    assert mae < 1e-3, f"force MAE {mae * 1e3:.3f} meV/Å"
    assert labelled.level_of_theory.method == "RKS PBE"
