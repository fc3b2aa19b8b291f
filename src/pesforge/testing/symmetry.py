"""Symmetry checks: energies are invariant and forces/stress equivariant under rotations,
reflections, translations, permutations of atoms and shifts of atoms by lattice vectors."""

from __future__ import annotations

import numpy as np

from pesforge.models.potential import Potential
from pesforge.testing.core import (CheckResult, Evaluation, Recorder, as_systems, describe_system,
                                   evaluate_one, periodic_3d, require_float64)
from pesforge.testing.fixtures import default_systems, known_elements


def random_rotation(rng: np.random.Generator, reflect: bool = False) -> np.ndarray:
    """A random (3, 3) orthogonal matrix, det +1, or det -1 when ``reflect``."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q = -q
    return -q if reflect else q


def _systems(potential: Potential, systems) -> list:
    if systems is None:
        return default_systems(known_elements(potential))
    return as_systems(systems)


def _references(potential: Potential, systems):
    """Yield each system, whether it is periodic in 3-D (stress checked), and its reference
    evaluation; refuses potentials that are not float64."""
    require_float64(potential)
    for atoms in systems:
        stress = periodic_3d(atoms)
        yield atoms, stress, evaluate_one(potential, atoms, stress=stress)


def check_rotation_invariance(potential: Potential, systems=None, *, reflection: bool = True,
                              seed: int = 0, atol: float = 1e-8,
                              rtol: float = 1e-10) -> CheckResult:
    """E and per-atom energies invariant, F -> F Q^T and sigma -> Q sigma Q^T under a random
    rotation Q of positions and cell rows (and, if ``reflection``, a rotation times inversion).

    Args:
        potential: float64 potential.
        systems: ASE Atoms or a list of them; default molecule and periodic cell fixtures.
        reflection: also test an improper rotation (skip for chiral potentials).
        atol, rtol: tolerance ``atol + rtol * max|expected|`` per quantity, in its own unit.

    Returns:
        The largest errors; raises AssertionError naming the quantity, atom and system.
    """
    rng = np.random.default_rng(seed)
    rec = Recorder("rotation invariance")
    for atoms, stress, reference in _references(potential, _systems(potential, systems)):
        for reflect in (False, True) if reflection else (False,):
            q = random_rotation(rng, reflect)
            moved = atoms.copy()
            moved.positions = atoms.positions @ q.T
            moved.cell = atoms.cell.array @ q.T
            want = Evaluation(reference.energy, reference.atomic_energies,
                              reference.forces @ q.T,
                              q @ reference.stress @ q.T if stress else None)
            got = evaluate_one(potential, moved, stress=stress)
            kind = "rotation with reflection" if reflect else "proper rotation"
            rec.compare_evaluations(got, want, f"for {kind} of {describe_system(atoms)}",
                                    atol, rtol)
    return rec.result()


def check_translation_invariance(potential: Potential, systems=None, *, seed: int = 0,
                                 atol: float = 1e-8, rtol: float = 1e-10) -> CheckResult:
    """E, per-atom energies, F and sigma unchanged when every atom moves by the same random
    vector (a small one and one of about 100 Å). Arguments as
    :func:`check_rotation_invariance`."""
    rng = np.random.default_rng(seed)
    rec = Recorder("translation invariance")
    for atoms, stress, reference in _references(potential, _systems(potential, systems)):
        for length in (1.7, 100.0):
            shift = rng.normal(size=3)
            shift *= length / np.linalg.norm(shift)
            moved = atoms.copy()
            moved.positions = atoms.positions + shift
            got = evaluate_one(potential, moved, stress=stress)
            rec.compare_evaluations(got, reference,
                                    f"for a translation by {np.round(shift, 3).tolist()} Å of "
                                    f"{describe_system(atoms)}", atol, rtol)
    return rec.result()


def check_permutation_invariance(potential: Potential, systems=None, *, seed: int = 0,
                                 atol: float = 1e-8, rtol: float = 1e-10) -> CheckResult:
    """Reordering atoms (each keeping its element, so like atoms exchange places) leaves E and
    sigma unchanged and permutes per-atom energies and forces the same way. Arguments as
    :func:`check_rotation_invariance`."""
    rng = np.random.default_rng(seed)
    rec = Recorder("permutation invariance")
    for atoms, stress, reference in _references(potential, _systems(potential, systems)):
        order = rng.permutation(len(atoms))
        want = Evaluation(reference.energy, reference.atomic_energies[order],
                          reference.forces[order], reference.stress)
        got = evaluate_one(potential, atoms[order], stress=stress)
        rec.compare_evaluations(got, want, f"for permutation {order.tolist()} of "
                                f"{describe_system(atoms)}", atol, rtol)
    return rec.result()


def check_periodic_images(potential: Potential, systems=None, *, seed: int = 0,
                          atol: float = 1e-8, rtol: float = 1e-10) -> CheckResult:
    """Moving atoms by whole lattice vectors (along periodic directions) changes nothing:
    E, per-atom energies, F and sigma. Default system: the periodic cell fixture.
    Arguments as :func:`check_rotation_invariance`."""
    rng = np.random.default_rng(seed)
    rec = Recorder("periodic images")
    if systems is None:
        systems = [default_systems(known_elements(potential))[1]]
    systems = _systems(potential, systems)
    for atoms in systems:
        if not atoms.pbc.any():
            raise ValueError(f"periodic-image check needs a periodic system, got "
                             f"{describe_system(atoms)}")
    for atoms, stress, reference in _references(potential, systems):
        moved = atoms.copy()
        picked = rng.choice(len(atoms), size=min(3, len(atoms)), replace=False)
        shifts = rng.integers(-2, 3, size=(len(picked), 3)) * atoms.pbc
        shifts[0] = np.where(atoms.pbc, [1, -1, 2], 0)
        moved.positions[picked] += shifts @ atoms.cell.array
        got = evaluate_one(potential, moved, stress=stress)
        moves = ", ".join(f"atom {a} by {s.tolist()}" for a, s in zip(picked, shifts))
        rec.compare_evaluations(got, reference, f"after moving {moves} (lattice vectors) in "
                                f"{describe_system(atoms)}", atol, rtol)
    return rec.result()
