"""Stress–strain elastic constants (ASE-calculator and Potential paths) and phonopy phonons."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones as AseLJ
from ase.eos import EquationOfState
from ase.units import GPa

from _analysis_pairs import LennardJones
from pesforge.analysis.elastic import elastic_constants, voigt_strain_matrix
from pesforge.analysis.hessian import finite_difference_hessian, normal_modes
from pesforge.analysis.phonons import phonon_frequencies
from pesforge.data.frame import Frame
from pesforge.interfaces import Calculator


def _energy_second_derivative(calc, atoms, eps_i, eps_j, h=2e-3):
    """(1/V) d²E/de_i de_j by central differences of energies (independent of the stress)."""
    def energy(a, b):
        strained = atoms.copy()
        deformation = np.eye(3) + voigt_strain_matrix(eps_i, a) + voigt_strain_matrix(eps_j, b)
        strained.set_cell(atoms.cell.array @ deformation, scale_atoms=True)
        strained.calc = calc
        return strained.get_potential_energy()

    d2 = (energy(h, h) - energy(h, -h) - energy(-h, h) + energy(-h, -h)) / (4 * h * h)
    return d2 / atoms.get_volume()


def _relaxed_cu():
    atoms = bulk("Cu", "fcc", a=3.6)
    volumes, energies = [], []
    for x in np.linspace(0.97, 1.03, 7):
        a = atoms.copy()
        a.set_cell(atoms.cell * x, scale_atoms=True)
        a.calc = EMT()
        volumes.append(a.get_volume())
        energies.append(a.get_potential_energy())
    eos = EquationOfState(volumes, energies)
    v0, _, b0 = eos.fit()
    atoms.set_cell(atoms.cell * (v0 / atoms.get_volume()) ** (1 / 3), scale_atoms=True)
    return atoms, b0 / GPa


def test_emt_copper_elastic_constants_match_energy_finite_differences():
    atoms, b_eos = _relaxed_cu()
    result = elastic_constants(EMT(), Frame.from_atoms(atoms))
    c = result.cubic()
    assert c["C11"] > c["C12"] > 0 and c["C44"] > 0  # a stable cubic crystal
    # cubic symmetry: zero couplings between normal and shear strains
    assert np.abs(result.gpa[:3, 3:]).max() < 1e-3 * c["C11"]
    for (i, j), name in (((0, 0), "C11"), ((0, 1), "C12"), ((3, 3), "C44")):
        ref = _energy_second_derivative(EMT(), atoms, i, j) / GPa
        assert c[name] == pytest.approx(ref, rel=2e-3), name
    assert result.bulk_modulus() == pytest.approx(b_eos, rel=1e-2)


def test_potential_and_ase_calculator_paths_agree():
    eps, sigma, rc = 0.167, 2.3, 5.0  # Lennard-Jones "copper"
    ase_lj = AseLJ(epsilon=eps, sigma=sigma, rc=rc, smooth=False)
    lo, hi = 3.0, 4.0  # lattice constant at zero pressure, by bisection on ASE's stress

    def pressure(a):
        atoms = bulk("Cu", "fcc", a=a)
        atoms.calc = ase_lj
        return -atoms.get_stress()[:3].mean()

    for _ in range(40):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if pressure(mid) > 0 else (lo, mid)
    frame = Frame.from_atoms(bulk("Cu", "fcc", a=lo))
    pot = LennardJones(epsilon=eps, sigma=sigma, cutoff=rc)
    from_potential = elastic_constants(pot, frame)
    from_wrapped = elastic_constants(Calculator(pot), frame).C
    from_ase = elastic_constants(ase_lj, frame).C
    np.testing.assert_allclose(from_potential.C, from_wrapped, atol=1e-12)
    np.testing.assert_allclose(from_potential.C, from_ase, rtol=1e-6, atol=1e-8)
    # the Cauchy relation C12 = C44 of central pair potentials at zero stress
    c = from_potential.cubic()
    assert c["C11"] > c["C12"] > 0
    assert c["C12"] == pytest.approx(c["C44"], rel=1e-3)


def test_elastic_rejects_molecules():
    with pytest.raises(ValueError, match="periodic in 3 directions"):
        elastic_constants(EMT(), Frame(numbers=[29], positions=[[0, 0, 0]]))


def test_phonopy_matches_supercell_hessian_at_commensurate_q():
    atoms, _ = _relaxed_cu()
    frame = Frame.from_atoms(atoms)
    q = np.array([[a, b, c] for a in (0, .5) for b in (0, .5) for c in (0, .5)])
    freqs = phonon_frequencies(EMT(), frame, q, supercell=(2, 2, 2), distance=0.01)
    assert freqs.shape == (8, 3)
    assert np.abs(freqs[0]).max() < 1.0  # acoustic sum rule at Gamma
    # the eigenvalues of the 2x2x2 supercell's Hessian are the phonons at these 8 q-points
    supercell = Frame.from_atoms(atoms.repeat((2, 2, 2)))
    h = finite_difference_hessian(EMT(), supercell, delta=0.01)
    ref, _ = normal_modes(h, supercell.to_atoms().get_masses(), remove="none")
    np.testing.assert_allclose(np.sort(freqs.ravel()), np.sort(ref), atol=2.0)
    assert np.sort(ref)[-1] > 150  # copper's highest phonons are ~240 cm-1
