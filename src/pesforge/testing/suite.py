"""Run every physics check on one potential and report all failures together."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pesforge.models.potential import Potential
from pesforge.testing.composition import check_batch_consistency, check_extensivity
from pesforge.testing.core import CheckResult
from pesforge.testing.derivatives import (check_forces_finite_difference,
                                          check_stress_finite_difference)
from pesforge.testing.fixtures import default_systems, known_elements, molecule
from pesforge.testing.locality import check_locality, check_smoothness
from pesforge.testing.symmetry import (check_periodic_images, check_permutation_invariance,
                                       check_rotation_invariance, check_translation_invariance)

#: Check names accepted by ``run_all(skip=...)``, in the order they run.
CHECKS = ("rotation", "translation", "permutation", "periodic_images", "forces", "stress",
          "locality", "extensivity", "smoothness", "batch")


def _plan(potential: Potential, elements: tuple[int, ...], radii,
          seed: int) -> dict[str, Callable[[], CheckResult]]:
    systems = default_systems(elements)
    cell = systems[1]
    return {
        "rotation": lambda: check_rotation_invariance(potential, systems, seed=seed),
        "translation": lambda: check_translation_invariance(potential, systems, seed=seed),
        "permutation": lambda: check_permutation_invariance(potential, systems, seed=seed),
        "periodic_images": lambda: check_periodic_images(potential, cell, seed=seed),
        "forces": lambda: check_forces_finite_difference(potential, systems),
        "stress": lambda: check_stress_finite_difference(potential, cell),
        "locality": lambda: check_locality(potential, molecule(elements), seed=seed),
        "extensivity": lambda: check_extensivity(potential, molecule(elements)),
        "smoothness": lambda: check_smoothness(potential, radii, elements=elements),
        "batch": lambda: check_batch_consistency(potential),
    }


def run_all(potential: Potential, *, elements: Sequence[int] | None = None,
            radii: Sequence[float] | None = None, skip: Sequence[str] = (),
            seed: int = 0) -> dict[str, CheckResult]:
    """Run every check of :data:`CHECKS` (except ``skip``) on a float64 potential.

    Args:
        potential: any :class:`~pesforge.models.Potential`, cast to float64 by the caller.
        elements: atomic numbers for the fixtures; default the potential's known elements.
        radii: every cutoff radius to scan for smoothness (Å); default ``[potential.cutoff]``.
        skip: names of checks that do not apply (e.g. ``"locality"`` for long-range terms).
        seed: seed of the random rotations, permutations and placements.

    Returns:
        ``{name: CheckResult}`` when every check passes. Otherwise raises one AssertionError
        listing each failed check's message.
    """
    unknown = sorted(set(skip) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown checks in skip: {unknown}; known: {list(CHECKS)}")
    elements = tuple(known_elements(potential) if elements is None else elements)
    plan = _plan(potential, elements, radii, seed)
    results: dict[str, CheckResult] = {}
    failures: list[str] = []
    for name in CHECKS:
        if name in skip:
            continue
        try:
            results[name] = plan[name]()
        except AssertionError as err:
            failures.append(f"[{name}] {err}")
    if failures:
        raise AssertionError(f"{len(failures)} physics check(s) failed for "
                             f"{type(potential).__name__}:\n" + "\n".join(failures))
    return results
