"""The numba path of the BPNN (the G5 angular sums in one compiled loop, forward, backward and
forward-mode; on by default in eval mode) gives the eager energies, forces, stress, Hessian
and feature Jacobians in float64, for a periodic cell, a molecule, and edges out of order."""

import copy

import pytest
import torch
from torch.autograd import forward_ad

from pesforge import testing as T
from pesforge.analysis.hessian import model_hessian
from pesforge.data import keys as K
from pesforge.data.batch import collate, from_atoms
from pesforge.data.frame import Frame
from pesforge.descriptors import numba_sums
from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters
from pesforge.models import BPNN, compute
from pesforge.training.feature_cache import FeatureCache

from model_helpers import ELEMENTS, assert_close_relative, perturb

pytestmark = pytest.mark.skipif(not numba_sums.available(), reason="numba not installed")

RTOL = 1e-10


def models():
    parameters = SymmetryFunctionParameters.default(4.0, n_radial=4, n_angular_shells=2,
                                                    zetas=[1.0, 2.0, 4.0])
    torch.manual_seed(0)
    fast = BPNN(ELEMENTS, parameters, hidden=(8,)).double().eval()
    perturb(fast)
    eager = copy.deepcopy(fast)
    eager.descriptor.numba = False
    return eager, fast


def test_numba_bpnn_matches_eager():
    eager, fast = models()
    assert fast.descriptor.numba
    cell = T.periodic_cell(ELEMENTS).repeat((2, 1, 1))
    cell.rattle(stdev=0.05, seed=1)
    for n, atoms in enumerate((cell, T.molecule(ELEMENTS))):
        batch = from_atoms(atoms, eager.cutoff)
        stress = bool(atoms.pbc.all())
        want = compute(eager, batch, forces=True, stress=stress)
        for block in (fast.descriptor.block_atoms, 7):  # one block of centres, then several
            fast.descriptor.block_atoms = block
            got = compute(fast, batch, forces=True, stress=stress)
            for key in (K.ENERGY, K.FORCES) + ((K.STRESS,) if stress else ()):
                assert_close_relative(got[key], want[key], rtol=RTOL,
                                      what=f"system {n} {key}, blocks of {block}")
    # edges in reverse order: the kernel groups them by centre itself
    batch = from_atoms(cell, eager.cutoff)
    reverse = torch.arange(batch[K.EDGE_INDEX].shape[1] - 1, -1, -1)
    batch[K.EDGE_INDEX] = batch[K.EDGE_INDEX][:, reverse]
    batch[K.EDGE_SHIFTS] = batch[K.EDGE_SHIFTS][reverse]
    got = compute(fast, batch, forces=True)
    assert_close_relative(got[K.FORCES], compute(eager, batch, forces=True)[K.FORCES],
                          rtol=RTOL, what="reversed edges")


def test_numba_bpnn_second_derivatives_are_exact():
    eager, fast = models()
    frame = Frame.from_atoms(T.molecule(ELEMENTS))
    assert_close_relative(torch.as_tensor(model_hessian(fast, frame)),
                          torch.as_tensor(model_hessian(eager, frame)), rtol=RTOL,
                          what="Hessian")


def test_numba_forward_mode_derivatives_are_exact():
    eager, fast = models()
    batch = from_atoms(T.periodic_cell(ELEMENTS), eager.cutoff)
    positions = batch[K.POSITIONS]
    tangent = torch.randn(positions.shape, dtype=positions.dtype,
                          generator=torch.Generator().manual_seed(3))

    def jvp(model):
        with forward_ad.dual_level():
            moved = {**batch, K.POSITIONS: forward_ad.make_dual(positions, tangent)}
            return forward_ad.unpack_dual(model.features(moved))

    want, got = jvp(eager), jvp(fast)
    for n, what in enumerate(("features", "jvp")):
        assert_close_relative(got[n], want[n], rtol=RTOL, what=what)


def test_numba_float32_batch_of_systems():
    """float32 in and out (float64 inside), several systems of one batch."""
    eager, fast = (model.float() for model in models())
    systems = [T.periodic_cell(ELEMENTS, seed=2), T.molecule(ELEMENTS)]
    batch = collate([Frame.from_atoms(a) for a in systems], eager.cutoff, dtype=torch.float32)
    want, got = (compute(model, batch, forces=True) for model in (eager, fast))
    assert got[K.FORCES].dtype == torch.float32
    for key in (K.ENERGY, K.FORCES):
        assert_close_relative(got[key], want[key], rtol=1e-5, what=key)


def test_feature_cache_with_and_without_numba():
    """The training cache's features and Jacobians: numba through forward_ad, eager through
    torch.func.jvp."""
    eager, fast = models()
    frames = [Frame.from_atoms(T.molecule(ELEMENTS))]
    with_numba, without = FeatureCache(fast, frames), FeatureCache(eager, frames)
    for got, want, what in ((with_numba._features, without._features, "features"),
                            (with_numba._jacobians, without._jacobians, "Jacobians")):
        assert_close_relative(got[0], want[0], rtol=RTOL, what=what)


def test_numba_backend_refuses_what_it_cannot_compute():
    parameters = SymmetryFunctionParameters.default(4.0, n_radial=4, n_angular_shells=2,
                                                    zetas=[1.0, 2.5])
    model = BPNN(ELEMENTS, parameters, hidden=(8,))
    with pytest.raises(ValueError, match="integer zetas"):
        model.compile_for_inference("numba")
    with pytest.raises(ValueError, match="backend must be"):
        model.compile_for_inference("fast")
    assert not model.descriptor.numba  # not on by default either
    model.compile_for_inference()  # auto: falls back to torch.compile
    assert model.descriptor._compiled_terms is not None
