"""Rattle and strains: requested amplitudes and stress-free, rotation-free cell deformations."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from scipy.optimize import brentq

from pesforge.data import Frame
from pesforge.sampling import (
    apply_strain,
    hydrostatic_strains,
    provenance,
    random_strains,
    rattle,
    shear_strains,
    thermal_rattle_sigma,
    thermal_strain_sigma,
)
from pesforge.units import GPA, KB


def emt_stress(frame):
    atoms = frame.to_atoms()
    atoms.calc = EMT()
    return atoms.get_stress(voigt=False)


def relaxed_copper():
    """Cubic Cu (4 atoms) at the EMT lattice constant, where the stress vanishes."""
    def pressure(a):
        return np.trace(emt_stress(Frame.from_atoms(bulk("Cu", "fcc", a=a, cubic=True))))
    a0 = brentq(pressure, 3.4, 3.8, xtol=1e-10)
    return Frame.from_atoms(bulk("Cu", "fcc", a=a0, cubic=True), source="cu.xyz:0")


def test_strains_are_the_requested_deformations_of_a_stress_free_cell():
    cu = relaxed_copper()
    assert np.abs(emt_stress(cu)).max() < 1e-8
    frac = cu.to_atoms().get_scaled_positions()
    for e, f in zip([-0.01, 0.0, 0.02], hydrostatic_strains(cu, [-0.01, 0.0, 0.02])):
        assert np.allclose(f.cell, cu.cell * (1 + e))
        assert np.allclose(f.to_atoms().get_scaled_positions(), frac)
        stress = emt_stress(f)
        assert np.allclose(stress, np.eye(3) * stress[0, 0], atol=1e-9)  # isotropic
        assert stress[0, 0] * e >= 0 and (e == 0) == (abs(stress[0, 0]) < 1e-8)  # ASE sign
        assert provenance(f)["parameters"]["strain"] == (e * np.eye(3)).tolist()
    sheared = shear_strains(cu, [0.001], components=("xy",))[0]
    deformation = np.linalg.solve(cu.cell, sheared.cell)
    assert np.allclose(deformation, deformation.T)  # pure strain, no rotation
    assert np.allclose(deformation - np.eye(3), [[0, 1e-3, 0], [1e-3, 0, 0], [0, 0, 0]])
    stress = emt_stress(sheared)
    off = stress.copy()
    off[0, 1] = off[1, 0] = 0.0
    # to first order in the strain only sigma_xy (cubic symmetry); the rest is O(strain^2)
    assert stress[0, 1] > 1e-4 and np.abs(off).max() < 0.01 * stress[0, 1]
    eps = np.linalg.solve(cu.cell, random_strains(cu, 1, hydrostatic=0.02, shear=0.01)[0].cell)
    assert np.allclose(eps, eps.T) and np.abs(eps - np.eye(3)).max() <= 0.03 + 1e-12


def test_strain_errors_and_thermal_amplitude():
    molecule = Frame(numbers=[1, 1], positions=[[0, 0, 0], [0, 0, 0.74]], source="h2.xyz:0")
    with pytest.raises(ValueError, match="h2.xyz:0: strains need a periodic cell"):
        apply_strain(molecule, np.eye(3) * 0.01)
    cu = Frame.from_atoms(bulk("Cu", "fcc", a=3.6, cubic=True))
    with pytest.raises(ValueError, match="symmetric"):
        apply_strain(cu, np.array([[0, 0.01, 0], [0, 0, 0], [0, 0, 0]]))
    # equipartition of the elastic energy of a hydrostatic strain: (9/2) V B <e^2> = kT/2
    volume, modulus, temperature = 47.0, 140 * GPA, 600.0
    sigma = thermal_strain_sigma(temperature, volume, modulus)
    assert 4.5 * volume * modulus * sigma**2 == pytest.approx(0.5 * KB * temperature)


def test_rattle_amplitudes_and_provenance():
    cu = Frame.from_atoms(bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2), source="cu:0")
    samples = rattle(cu, 50, 0.05, seed=1)
    u = np.stack([s.positions - cu.positions for s in samples])
    assert u.std() == pytest.approx(0.05, rel=0.05)
    assert provenance(samples[3])["generator"] == "rattle" and samples[3].source == "cu:0|rattle:3"
    hot = rattle(cu, 50, temperature=300.0, frequency_cm1=150.0, seed=2)
    expected = thermal_rattle_sigma(300.0, cu.to_atoms().get_masses(), 150.0)[0]
    u = np.stack([s.positions - cu.positions for s in hot])
    assert u.std() == pytest.approx(expected, rel=0.05)
    assert 0.05 < expected < 0.2  # Å: Cu near room temperature
    with pytest.raises(ValueError, match="exactly one"):
        rattle(cu, 1)
