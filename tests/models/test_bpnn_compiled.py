"""The compiled inference path of the BPNN (``compile_for_inference``: the per-triplet factors of
the symmetry functions from one torch.compile kernel) gives the eager energies, forces and
stress in float64, for G5 and G4, for cells of two sizes from one compilation."""

import copy
import shutil

import pytest
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.data.batch import from_atoms
from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters
from pesforge.models import BPNN, compute

from model_helpers import ELEMENTS, assert_close_relative, perturb

pytestmark = pytest.mark.skipif(not (shutil.which("c++") or shutil.which("g++")),
                                reason="torch.compile on the CPU needs a C++ compiler")

RTOL = 1e-10


def graphs_compiled() -> int:
    """Graphs dynamo has compiled in this process so far."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


@pytest.mark.parametrize("kind", ["g5", pytest.param("g4", marks=pytest.mark.slow)])
@pytest.mark.timeout(900)
def test_compiled_bpnn_matches_eager_for_two_sizes(kind):
    parameters = SymmetryFunctionParameters.default(4.0, n_radial=4, n_angular_shells=2,
                                                    angular_kind=kind, zetas=[1.0, 2.0, 4.0])
    torch.manual_seed(0)
    eager = BPNN(ELEMENTS, parameters, hidden=(8,)).double().eval()
    perturb(eager)
    compiled = copy.deepcopy(eager).compile_for_inference("inductor")
    assert eager.descriptor._compiled_terms is None

    small = T.periodic_cell(ELEMENTS)
    big = small.repeat((2, 1, 1))
    big.rattle(stdev=0.05, seed=1)
    before = graphs_compiled()
    for n, atoms in enumerate((small, big, T.molecule(ELEMENTS))):
        batch = from_atoms(atoms, eager.cutoff)
        stress = bool(atoms.pbc.all())
        want = compute(eager, batch, forces=True, stress=stress)
        got = compute(compiled, batch, forces=True, stress=stress)
        for key in (K.ENERGY, K.FORCES) + ((K.STRESS,) if stress else ()):
            assert_close_relative(got[key], want[key], rtol=RTOL, what=f"system {n} {key}")
        if n == 0:
            first = graphs_compiled()
            assert first > before  # the kernel did compile
        if n == 1:
            assert graphs_compiled() == first, "the second cell size recompiled"
