"""Autograd Hessians equal finite differences of forces; normal modes of known cases."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import molecule
from ase.calculators.emt import EMT
from ase import units

from _analysis_pairs import HarmonicPair
from pesforge import testing as T
from pesforge.analysis.hessian import (finite_difference_hessian, model_hessian, normal_modes,
                                       rigid_body_modes)
from pesforge.data.frame import Frame
from pesforge.oracles import ASEOracle

ELEMENTS = (1, 6, 8)


@pytest.fixture(scope="module")
def bpnn():
    return T.fixtures.small_bpnn(ELEMENTS, cutoff=4.0, n_radial=5, n_angular_shells=2, seed=0)


@pytest.mark.parametrize("periodic", [False, True], ids=["molecule", "periodic"])
def test_model_hessian_equals_finite_differences(bpnn, periodic):
    atoms = T.fixtures.periodic_cell(ELEMENTS) if periodic else molecule("CH3OH")
    atoms.rattle(0.05, seed=1)
    frame = Frame.from_atoms(atoms)
    h = model_hessian(bpnn, frame)
    assert h.shape == (3 * len(atoms), 3 * len(atoms))
    fd = finite_difference_hessian(bpnn, frame, delta=1e-4)
    scale = np.abs(fd).max()
    assert scale > 1e-2  # a non-trivial Hessian
    np.testing.assert_allclose(h, fd, atol=2e-6 * scale + 1e-7)


def test_model_hessian_casts_float32_model(bpnn):
    frame = Frame.from_atoms(molecule("H2O"))
    h64 = model_hessian(bpnn, frame)
    h32 = model_hessian(bpnn.float(), frame)  # evaluated on a float64 copy
    bpnn.double()
    np.testing.assert_allclose(h32, h64, rtol=1e-5, atol=1e-6)


def test_diatomic_frequency_matches_analytic():
    k, r0 = 35.0, 1.1  # eV/Å², Å
    pot = HarmonicPair(k=k, r0=r0)
    atoms = Atoms("CO", positions=[[0, 0, 0], [0, 0, r0]])
    frame = Frame.from_atoms(atoms)
    h = model_hessian(pot, frame)
    freqs, modes = normal_modes(h, atoms.get_masses(), atoms.positions)
    assert freqs.shape == (1,)  # 3N - 5 for a linear molecule
    mu = np.prod(atoms.get_masses()) / atoms.get_masses().sum()
    # omega = sqrt(k / mu) in SI, then wavenumber = omega / (2 pi c)
    omega = np.sqrt(k * units._e / 1e-20 / (mu * units._amu))
    expected = omega / (2 * np.pi * units._c * 100)
    assert freqs[0] == pytest.approx(expected, rel=1e-9)
    # the mode stretches the bond and is mass-orthonormal
    m = atoms.get_masses()
    assert np.einsum("a,ak,ak->", m, modes[0], modes[0]) == pytest.approx(1.0)
    assert abs(modes[0, 0, 2]) > 0 and np.sign(modes[0, 0, 2]) != np.sign(modes[0, 1, 2])


def test_frequencies_agree_with_ase_vibrations_on_emt():
    from ase.optimize import BFGS
    from ase.vibrations import Vibrations

    atoms = molecule("H2O")
    atoms.calc = EMT()
    BFGS(atoms, logfile=None).run(fmax=1e-5)
    oracle = ASEOracle(EMT, {"code": "ase", "method": "EMT"})
    frame = Frame.from_atoms(atoms)
    h = finite_difference_hessian(lambda f: ((lab := oracle.compute(f)).energy, lab.forces),
                                  frame, delta=0.005)
    freqs, modes = normal_modes(h, atoms.get_masses(), atoms.positions)
    assert freqs.shape == (3,) and modes.shape == (3, 3, 3)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        vib = Vibrations(atoms, name=f"{tmp}/vib", delta=0.005, nfree=2)
        vib.run()
        ase_freqs = np.sort(np.real(vib.get_frequencies()))[-3:]
    np.testing.assert_allclose(freqs, ase_freqs, rtol=1e-3, atol=1.0)


def test_rigid_body_modes_and_zero_modes():
    atoms = molecule("CH4")
    m = atoms.get_masses()
    rigid = rigid_body_modes(atoms.positions, m)
    assert rigid.shape == (6, 15)
    np.testing.assert_allclose(rigid @ rigid.T, np.eye(6), atol=1e-12)
    linear = rigid_body_modes(np.array([[0, 0, 0], [0, 0, 1.2], [0, 0, 2.4]]), np.ones(3))
    assert linear.shape == (5, 9)
    # a zero Hessian gives 3N-6 zero frequencies; removing nothing keeps all 3N
    freqs, _ = normal_modes(np.zeros((15, 15)), m, atoms.positions)
    assert freqs.shape == (9,) and np.allclose(freqs, 0)
    assert normal_modes(np.zeros((15, 15)), m, remove="none")[0].shape == (15,)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="hessian must be"):
        normal_modes(np.zeros((6, 6)), np.ones(3))
    with pytest.raises(ValueError, match="delta"):
        finite_difference_hessian(lambda f: (0.0, np.zeros((1, 3))),
                                  Frame(numbers=[1], positions=[[0, 0, 0]]), delta=0)
