"""Composition checks: systems far apart add up, and batching systems changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pesforge.models.potential import Potential
from pesforge.testing.core import (CheckResult, Evaluation, Recorder, as_systems, describe_system,
                                   evaluate, evaluate_one, receptive_field, require_float64)
from pesforge.testing.fixtures import default_systems, isolated_atom, known_elements, molecule


def check_extensivity(potential: Potential, system=None, *, separation: float = 50.0,
                      atol: float = 1e-8, rtol: float = 1e-10) -> CheckResult:
    """Two copies of a non-periodic system ``separation`` Å apart (at least twice the receptive
    field plus 10 Å) have twice the energy, with per-atom energies and forces repeated; and a
    batch of the system and a rattled copy equals the two evaluated separately.

    Args:
        potential: float64 potential.
        system: non-periodic ASE Atoms; default the molecule fixture.
        separation: gap in Å between the two copies' bounding boxes.
        atol, rtol: tolerance ``atol + rtol * max|expected|`` per quantity.
    """
    require_float64(potential)
    atoms = molecule(known_elements(potential)) if system is None else system
    if atoms.pbc.any():
        raise ValueError(f"extensivity check needs a non-periodic system, got "
                         f"{describe_system(atoms)}")
    rec = Recorder("extensivity")
    gap = max(separation, 2 * receptive_field(potential) + 10.0)
    extent = np.ptp(atoms.positions[:, 0]) if len(atoms) else 0.0
    far = atoms.copy()
    far.positions += [extent + gap, 0.0, 0.0]
    pair = atoms + far
    single = evaluate_one(potential, atoms)
    want = Evaluation(2 * single.energy, np.concatenate([single.atomic_energies] * 2),
                      np.concatenate([single.forces] * 2))
    rec.compare_evaluations(evaluate_one(potential, pair), want,
                            f"for two copies of {describe_system(atoms)} {gap:.0f} Å apart",
                            atol, rtol)
    other = atoms.copy()
    other.rattle(0.05, seed=11)
    together = evaluate(potential, [atoms, other])
    for n, part in enumerate((atoms, other)):
        rec.compare_evaluations(together[n], evaluate_one(potential, part),
                                f"for system {n} of a batch of two {describe_system(part)}",
                                atol, rtol)
    return rec.result()


def check_batch_consistency(potential: Potential, systems: Sequence | None = None, *,
                            atol: float = 1e-9, rtol: float = 1e-11) -> CheckResult:
    """A batch of several systems gives the same E, per-atom energies, F and sigma as each
    system evaluated alone.

    Default systems: molecule, periodic cell, a rattled copy of the cell periodic in two
    directions only, and a lone atom (a system without edges).
    """
    require_float64(potential)
    if systems is None:
        elements = known_elements(potential)
        molecule_, cell = default_systems(elements)
        partial = cell.copy()
        partial.pbc = [True, True, False]
        partial.rattle(0.05, seed=3)
        systems = [molecule_, cell, partial, isolated_atom(elements[-1])]
    systems = as_systems(systems)
    rec = Recorder("batch consistency")
    together = evaluate(potential, systems, stress=True)
    for n, atoms in enumerate(systems):
        alone = evaluate_one(potential, atoms, stress=True)
        rec.compare_evaluations(together[n], alone, f"for system {n} of {len(systems)} in the "
                                f"batch, {describe_system(atoms)}", atol, rtol)
    return rec.result()
