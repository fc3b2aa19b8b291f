"""The shipped physics checks every potential runs, and the tiny systems they run on.

Each ``check_*`` takes a float64 :class:`~pesforge.models.Potential`, evaluates it through the
public path (:func:`~pesforge.data.batch.collate` then :func:`~pesforge.models.compute`),
returns a :class:`CheckResult` with the largest errors, and raises AssertionError naming the
quantity, the size of the error and where it occurred. :func:`run_all` runs them all::

    from pesforge.testing import run_all
    run_all(model.double(), radii=[3.5, 5.2])
"""

from pesforge.testing.composition import check_batch_consistency, check_extensivity
from pesforge.testing.core import CheckResult, Evaluation, evaluate, require_float64
from pesforge.testing.derivatives import (check_forces_finite_difference,
                                          check_stress_finite_difference,
                                          finite_difference_forces, finite_difference_stress)
from pesforge.testing.fixtures import (DEFAULT_ELEMENTS, isolated_atom, known_elements, molecule,
                                       periodic_cell)
from pesforge.testing.locality import check_locality, check_smoothness
from pesforge.testing.suite import CHECKS, run_all
from pesforge.testing.symmetry import (check_periodic_images, check_permutation_invariance,
                                       check_rotation_invariance, check_translation_invariance,
                                       random_rotation)

__all__ = [
    "CHECKS", "CheckResult", "DEFAULT_ELEMENTS", "Evaluation", "check_batch_consistency",
    "check_extensivity", "check_forces_finite_difference", "check_locality",
    "check_periodic_images", "check_permutation_invariance", "check_rotation_invariance",
    "check_smoothness", "check_stress_finite_difference", "check_translation_invariance",
    "evaluate", "finite_difference_forces", "finite_difference_stress", "isolated_atom",
    "known_elements", "molecule", "periodic_cell", "random_rotation", "require_float64",
    "run_all",
]
