"""Derivative checks: autograd forces and stress equal central finite differences of the energy.

Both use the five-point stencil (error ~h^4), so stiff models pass a 1e-5 eV/Å tolerance.

Stress follows ASE: sigma = (1/V) dE/d eps for a symmetric strain eps applied to cell rows and
positions, ``new_cell = cell @ (I + eps)``, ``new_positions = positions @ (I + eps)``; the
off-diagonal derivative moves eps_ab and eps_ba together, as
:meth:`ase.calculators.calculator.Calculator.calculate_numerical_stress` does.
"""

from __future__ import annotations

import numpy as np

from pesforge.models.potential import Potential
from pesforge.testing.core import (CheckResult, Recorder, as_systems, describe_system, evaluate,
                                   evaluate_one, periodic_3d, require_float64)
from pesforge.testing.fixtures import default_systems, known_elements


#: Displacements (in steps) of the five-point central stencil and their weights / (12 h).
OFFSETS = (1.0, -1.0, 2.0, -2.0)
WEIGHTS = np.array([8.0, -8.0, -1.0, 1.0]) / 12.0


def _energies(potential: Potential, systems: list, chunk: int) -> np.ndarray:
    out = []
    for start in range(0, len(systems), chunk):
        out += [r.energy for r in evaluate(potential, systems[start:start + chunk],
                                           forces=False)]
    return np.array(out)


def finite_difference_forces(potential: Potential, atoms, step: float = 5e-5,
                             chunk: int = 64) -> np.ndarray:
    """-dE/dR for every coordinate by the five-point central stencil, (N, 3) eV/Å:
    -[8 (E(x+h) - E(x-h)) - (E(x+2h) - E(x-2h))] / 12h, truncation error ~h^4."""
    displaced = []
    for a in range(len(atoms)):
        for c in range(3):
            for offset in OFFSETS:
                moved = atoms.copy()
                moved.positions[a, c] += offset * step
                displaced.append(moved)
    energies = _energies(potential, displaced, chunk).reshape(len(atoms), 3, len(OFFSETS))
    return -(energies @ WEIGHTS) / step


def strained(atoms, eps: np.ndarray):
    """A copy of ``atoms`` with cell rows and positions multiplied by (I + eps) on the right."""
    out = atoms.copy()
    deformation = np.eye(3) + eps
    out.cell = atoms.cell.array @ deformation
    out.positions = atoms.positions @ deformation
    return out


def finite_difference_stress(potential: Potential, atoms, step: float = 1e-5) -> np.ndarray:
    """(1/V) dE/d eps by the five-point stencil over symmetric strains: (3, 3) eV/Å³."""
    pairs = [(a, b) for a in range(3) for b in range(a, 3)]
    systems = []
    for a, b in pairs:
        for offset in OFFSETS:
            eps = np.zeros((3, 3))
            eps[a, b] = eps[b, a] = offset * step
            systems.append(strained(atoms, eps))
    energies = _energies(potential, systems, chunk=len(systems)).reshape(len(pairs), len(OFFSETS))
    derivative = energies @ WEIGHTS / step
    volume = abs(np.linalg.det(atoms.cell.array))
    stress = np.zeros((3, 3))
    for (a, b), value in zip(pairs, derivative):
        # An off-diagonal strain moves eps_ab and eps_ba together: twice dE/deps_ab.
        stress[a, b] = stress[b, a] = value / (volume * (1 if a == b else 2))
    return stress


def check_forces_finite_difference(potential: Potential, systems=None, *, step: float = 5e-5,
                                   atol: float = 1e-5, rtol: float = 1e-6) -> CheckResult:
    """Forces from :func:`~pesforge.models.autograd.compute` equal -dE/dR by five-point
    central differences with displacement ``step`` Å.

    Args:
        potential: float64 potential.
        systems: ASE Atoms or a list; default molecule and periodic cell fixtures.
        step: displacement in Å; 5e-5 balances truncation (~h^4) against round-off
            (~1e-16 |E| / h) for energies up to ~1e5 eV, even for stiff models.
        atol, rtol: tolerance ``atol + rtol * max|F|`` in eV/Å.
    """
    require_float64(potential)
    systems = default_systems(known_elements(potential)) if systems is None else systems
    rec = Recorder("finite-difference forces")
    for atoms in as_systems(systems):
        analytic = evaluate_one(potential, atoms).forces
        numeric = finite_difference_forces(potential, atoms, step)
        rec.compare("forces", analytic, numeric, atol=atol, rtol=rtol,
                    context=f"for {describe_system(atoms)} (step {step:g} Å; 'got' is autograd)")
    return rec.result()


def check_stress_finite_difference(potential: Potential, systems=None, *, step: float = 1e-5,
                                   atol: float = 1e-6, rtol: float = 1e-5) -> CheckResult:
    """Stress from :func:`~pesforge.models.autograd.compute` equals (1/V) dE/d eps by
    five-point central differences over symmetric strains of size ``step``.

    Args:
        potential: float64 potential.
        systems: periodic (3D) ASE Atoms or a list; default the triclinic cell fixture.
        atol, rtol: tolerance ``atol + rtol * max|sigma|`` in eV/Å³.
    """
    require_float64(potential)
    if systems is None:
        systems = [default_systems(known_elements(potential))[1]]
    rec = Recorder("finite-difference stress")
    for atoms in as_systems(systems):
        if not periodic_3d(atoms):
            raise ValueError(f"stress check needs a cell periodic in 3D, got "
                             f"{describe_system(atoms)}")
        analytic = evaluate_one(potential, atoms, forces=False, stress=True).stress
        numeric = finite_difference_stress(potential, atoms, step)
        rec.compare("stress", analytic, numeric, atol=atol, rtol=rtol,
                    context=f"for {describe_system(atoms)} (strain step {step:g}; 'got' is "
                            "autograd)")
    return rec.result()
