"""The shipped physics checks on BPNN (both angular kinds), on a correct toy pair potential, and
on deliberately broken potentials, one per check, to prove every check can fail."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters
from pesforge.models.bpnn import BPNN
from pesforge.models.potential import Potential
from pesforge.neighbors import edge_vectors
from pesforge.physics.cutoffs import cosine_cutoff

ELEMENTS = (1, 6, 8)


def make_bpnn(kind: str, seed: int = 0) -> BPNN:
    """A float64 BPNN with fitted feature statistics, large reference energies and weights
    perturbed by normal noise, so that energies and forces are far from constant."""
    torch.manual_seed(seed)
    parameters = SymmetryFunctionParameters.default(5.2, angular_kind=kind, n_radial=8,
                                                    n_angular_shells=3)
    model = BPNN(ELEMENTS, parameters, hidden=(16, 16)).double()
    systems = T.fixtures.default_systems(ELEMENTS)
    rattled = [a.copy() for a in systems]
    for n, atoms in enumerate(rattled):
        atoms.rattle(0.1, seed=n)
    batch = collate([Frame.from_atoms(a) for a in systems + rattled], model.cutoff)
    model.fit_statistics([batch], reference_energies=np.array([-13.6, -1030.0, -2040.0]),
                         energy_scale=0.5)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model


@pytest.fixture(scope="module", params=["g4", "g5"])
def bpnn(request):
    return make_bpnn(request.param)


def test_bpnn_is_not_trivial(bpnn):
    """The checks would pass vacuously on a constant function: make sure it is not one."""
    molecule = T.molecule(ELEMENTS)
    a, b = molecule.copy(), molecule.copy()
    b.rattle(0.05, seed=1)
    ea, eb = T.evaluate(bpnn, [a, b])
    assert abs(ea.energy - eb.energy) > 1e-3
    assert np.abs(ea.forces).max() > 1e-2
    assert np.std(ea.atomic_energies[molecule.numbers == 1]) > 1e-4


def test_bpnn_handles_systems_without_angular_triplets(bpnn):
    """A lone atom and a dimer have no (j, k) pairs around any centre."""
    from ase import Atoms

    dimer = Atoms("CO", positions=[[0.0, 0.0, 0.0], [1.2, 0.0, 0.0]])
    lone, pair = T.evaluate(bpnn, [T.isolated_atom(8), dimer])
    assert np.isfinite(lone.energy) and np.isfinite(pair.energy)
    np.testing.assert_allclose(lone.forces, 0.0, atol=1e-12)
    np.testing.assert_allclose(pair.forces[0], -pair.forces[1], atol=1e-10)


def test_bpnn_passes_every_check(bpnn):
    kind = bpnn.descriptor.parameters_.angular_kind
    radii = [bpnn.descriptor.parameters_.angular_cutoff, bpnn.cutoff]
    results = T.run_all(bpnn, radii=radii)
    assert set(results) == set(T.CHECKS), kind
    for result in results.values():
        for quantity, error in result.errors.items():
            assert error <= result.tolerances[quantity], (kind, str(result))
    assert results["forces"].errors["forces"] < 1e-5


def test_checks_require_float64():
    with pytest.raises(ValueError, match="float64"):
        T.check_rotation_invariance(BPNN(ELEMENTS, hidden=(4,)))


# --- a correct toy potential and broken variants of it -------------------------------------


class GaussianPair(Potential):
    """E_i = 1/2 sum_j A exp(-(r_ij - 1.5)^2) f_c(r_ij): smooth, local, element-blind."""

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, cutoff: float = 4.0):
        super().__init__()
        self.cutoff = cutoff
        self.register_buffer("strength", torch.tensor(0.7, dtype=torch.float64))

    def pair(self, r):
        return self.strength * torch.exp(-((r - 1.5) ** 2)) * cosine_cutoff(r, self.cutoff)

    def vectors(self, batch):
        return edge_vectors(batch)

    def forward(self, batch):
        r = torch.linalg.norm(self.vectors(batch), dim=1)
        out = torch.zeros(len(batch[K.POSITIONS]), dtype=torch.float64)
        return out.index_add(0, batch[K.EDGE_INDEX][0], 0.5 * self.pair(r))


class DependsOnAbsolutePosition(GaussianPair):
    def forward(self, batch):
        return super().forward(batch) + 0.01 * batch[K.POSITIONS][:, 0]


class HardCutoff(GaussianPair):
    def pair(self, r):
        return self.strength * torch.exp(-((r - 1.5) ** 2)) * (r < self.cutoff)


class LinearTaper(GaussianPair):
    """Energy continuous at the cutoff, forces not."""

    def pair(self, r):
        return self.strength * torch.exp(-((r - 1.5) ** 2)) * torch.clamp(1 - r / self.cutoff, 0)


class IgnoresCellShifts(GaussianPair):
    def vectors(self, batch):
        i, j = batch[K.EDGE_INDEX]
        return batch[K.POSITIONS][j] - batch[K.POSITIONS][i]


class DetachedForces(GaussianPair):
    def vectors(self, batch):
        vectors = edge_vectors(batch)
        return 0.5 * (vectors + vectors.detach())


class DetachedCell(GaussianPair):
    def vectors(self, batch):
        return edge_vectors({**batch, K.CELL: batch[K.CELL].detach()})


class DependsOnAtomIndex(GaussianPair):
    def forward(self, batch):
        index = torch.arange(len(batch[K.POSITIONS]), dtype=torch.float64)
        return super().forward(batch) * (1.0 + 0.1 * index)


class NonLocal(GaussianPair):
    def forward(self, batch):
        positions, system = batch[K.POSITIONS], batch[K.SYSTEM]
        same = system[:, None] == system[None, :]
        spread = ((positions[:, None] - positions[None]) ** 2).sum(-1) * same
        return super().forward(batch) + 1e-3 * spread.sum(1)


class DependsOnBatchSize(GaussianPair):
    def forward(self, batch):
        return super().forward(batch) + 1e-3 * len(batch[K.POSITIONS])


def test_toy_pair_potential_passes_every_check():
    results = T.run_all(GaussianPair())
    assert set(results) == set(T.CHECKS)


BROKEN = [
    (DependsOnAbsolutePosition, T.check_translation_invariance, "translation invariance"),
    (DependsOnAbsolutePosition, T.check_rotation_invariance, "rotation invariance"),
    (HardCutoff, T.check_smoothness, "smoothness check failed: energy jumps"),
    (LinearTaper, T.check_smoothness, "smoothness check failed: a force component jumps"),
    (IgnoresCellShifts, T.check_periodic_images, "periodic images"),
    (DetachedForces, T.check_forces_finite_difference, "finite-difference forces"),
    (DetachedCell, T.check_stress_finite_difference, "finite-difference stress"),
    (DependsOnAtomIndex, T.check_permutation_invariance, "permutation invariance"),
    (NonLocal, T.check_locality, "locality"),
    (NonLocal, T.check_extensivity, "extensivity"),
    (DependsOnBatchSize, T.check_batch_consistency, "batch consistency"),
]


@pytest.mark.parametrize("potential_type, check, message", BROKEN,
                         ids=[f"{p.__name__}-{c.__name__}" for p, c, _ in BROKEN])
def test_check_catches_broken_potential(potential_type, check, message):
    with pytest.raises(AssertionError, match=message) as failure:
        check(potential_type())
    assert "max error" in str(failure.value) or "jumps by" in str(failure.value)


def test_run_all_reports_every_failed_check():
    with pytest.raises(AssertionError) as failure:
        T.run_all(DependsOnAbsolutePosition(), skip=("smoothness",))
    text = str(failure.value)
    assert "[rotation]" in text and "[translation]" in text
    assert "[permutation]" not in text


def test_run_all_rejects_unknown_skip():
    with pytest.raises(ValueError, match="unknown checks"):
        T.run_all(GaussianPair(), skip=("rotations",))
