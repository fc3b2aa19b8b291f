"""Locality checks: an atom's energy ignores atoms beyond its receptive field, and energies and
forces stay continuous as a neighbour crosses a cutoff radius."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pesforge.models.potential import Potential
from pesforge.testing.core import (UNITS, CheckResult, Recorder, describe_system, evaluate,
                                   receptive_field, require_float64)
from pesforge.testing.fixtures import known_elements, molecule


def check_locality(potential: Potential, system=None, *, center: int = 0,
                   element: int | None = None, seed: int = 0, margin: float = 0.25,
                   atol: float = 1e-10, rtol: float = 1e-12) -> CheckResult:
    """Adding an atom k, or moving it around, anywhere beyond the receptive field of atom
    ``center`` leaves that atom's energy E_i unchanged (other atoms' energies may change).

    The receptive field is ``potential.receptive_field`` if defined, else ``potential.cutoff``;
    k is placed at random directions, between ``margin`` and ``margin + 1.5`` Å beyond it.

    Args:
        potential: float64 potential with a finite receptive field.
        system: non-periodic ASE Atoms; default the molecule fixture.
        center: index of atom i.
        element: atomic number of atom k; default the last known element.
        atol, rtol: tolerance on E_i in eV.
    """
    require_float64(potential)
    reach = receptive_field(potential)
    if not np.isfinite(reach):
        raise ValueError(f"{type(potential).__name__} has an infinite receptive field; "
                         "the locality check does not apply")
    elements = known_elements(potential)
    atoms = molecule(elements) if system is None else system
    if atoms.pbc.any():
        raise ValueError(f"locality check needs a non-periodic system, got "
                         f"{describe_system(atoms)}")
    element = elements[-1] if element is None else element
    rng = np.random.default_rng(seed)
    origin = atoms.positions[center]
    variants = [atoms.copy()]
    for _ in range(3):
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        distance = reach + margin + 1.5 * rng.random()
        extended = atoms.copy()
        extended.append(int(element))
        extended.positions[-1] = origin + distance * direction
        variants.append(extended)
    results = evaluate(potential, variants, forces=False)
    rec = Recorder("locality")
    for n, result in enumerate(results[1:], start=1):
        distance = np.linalg.norm(variants[n].positions[-1] - origin)
        rec.compare("atomic_energies", result.atomic_energies[center],
                    results[0].atomic_energies[center], atol=atol, rtol=rtol,
                    context=f"for atom {center} of {describe_system(atoms)} when atom of "
                            f"element {element} is {distance:.2f} Å away (receptive field "
                            f"{reach:.2f} Å)")
    return rec.result()


def _spikes(values: np.ndarray, spike: float, tol: float) -> tuple[int, float, float]:
    """The step whose change most exceeds ``spike`` times its neighbouring steps' changes.

    ``values`` is (M, ...) along a scan; returns (step k, |change at k|, allowed change at k).
    """
    change = np.abs(np.diff(values, axis=0)).reshape(len(values) - 1, -1).max(axis=1)
    padded = np.concatenate([[0.0], change, [0.0]])
    neighbours = np.maximum(padded[:-2], padded[2:])
    allowed = spike * neighbours + tol
    k = int(np.argmax(change - allowed))
    return k, float(change[k]), float(allowed[k])


def scan_systems(radius: float, centre: int, moving: int, helper: int, step: float,
                 n_steps: int) -> tuple[list, np.ndarray]:
    """Three-atom systems where ``moving`` crosses ``radius`` (Å) from ``centre`` at the origin,
    with a ``helper`` atom 1.05 Å from the centre so angular terms are active.

    Returns the systems and the scanned distances, (2 n_steps + 1,) Å.
    """
    from ase import Atoms

    direction = np.array([1.0, 0.3, 0.2]) / np.linalg.norm([1.0, 0.3, 0.2])
    distances = radius + step * (np.arange(-n_steps, n_steps + 1) + 0.5)
    systems = [Atoms(numbers=[centre, helper, moving],
                     positions=[[0.0, 0.0, 0.0], [0.0, 1.05, 0.0], r * direction])
               for r in distances]
    return systems, distances


def check_smoothness(potential: Potential, radii: Sequence[float] | None = None, *,
                     elements: Sequence[int] | None = None, step: float = 1e-5,
                     n_steps: int = 20, spike: float = 10.0, atol: float = 1e-9,
                     rtol: float = 1e-12) -> CheckResult:
    """Energy and forces are continuous as a neighbour crosses each cutoff radius.

    For every ordered pair of ``elements`` a neighbour is moved in steps of ``step`` Å across
    each radius (the grid straddles it). A discontinuity shows as one step whose change in E
    (or in any force component) exceeds ``spike`` times the changes of the steps beside it
    plus ``atol + rtol * max|value|``; a smooth function changes by nearly the same amount from
    one step to the next, so the test needs no assumption about the potential's stiffness.

    Args:
        potential: float64 potential.
        radii: distances to scan across, Å; default ``[potential.cutoff]``. Pass every cutoff a
            model has (e.g. a BPNN's angular cutoff too).
        elements: atomic numbers to pair up; default the potential's known elements.
        step, n_steps: grid spacing (Å) and number of steps on each side of a radius.
        spike: allowed ratio of a step's change to its neighbours'.
    """
    require_float64(potential)
    radii = [potential.cutoff] if radii is None else [float(r) for r in radii]
    if any(r <= 0 for r in radii):
        raise ValueError(f"smoothness radii must be positive, got {radii}")
    elements = list(known_elements(potential) if elements is None else elements)
    rec = Recorder("smoothness")
    for radius in radii:
        for centre in elements:
            for moving in elements:
                systems, distances = scan_systems(radius, centre, moving, elements[0], step,
                                                  n_steps)
                results = evaluate(potential, systems)
                scans = (("energy", np.array([r.energy for r in results])),
                         ("forces", np.stack([r.forces for r in results])))
                for quantity, values in scans:
                    _check_scan(rec, quantity, values, distances, spike, atol, rtol,
                                f"as an atom of element {moving} crosses {radius} Å from an "
                                f"atom of element {centre}")
    return rec.result()


def _check_scan(rec: Recorder, quantity: str, values: np.ndarray, distances: np.ndarray,
                spike: float, atol: float, rtol: float, context: str) -> None:
    tol = atol + rtol * float(np.abs(values).max())
    k, change, allowed = _spikes(values, spike, tol)
    rec.record(quantity, change, allowed)
    if change > allowed:
        what = "energy" if quantity == "energy" else "a force component"
        raise AssertionError(
            f"smoothness check failed: {what} jumps by {change:.3e} {UNITS[quantity]} between "
            f"r = {distances[k]:.6f} and {distances[k + 1]:.6f} Å (allowed {allowed:.1e}: "
            f"{spike:g} x the neighbouring steps' change + tolerance) {context}")
