"""The symmetry functions and their forces against a plain reference implementation (direct
index_add sums over edges and triplets, float64), for both angular kinds, a periodic cell,
a molecule and a batch of both, with the descriptor split into blocks of centres."""

import math

import numpy as np
import pytest
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.descriptors.symmetry_functions import (
    SymmetryFunctionParameters,
    SymmetryFunctions,
)
from pesforge.neighbors import edge_vectors

ELEMENTS = [1, 6, 8]


def _fc(r, rc):
    return torch.where(r < rc, 0.5 * (torch.cos(math.pi * r / rc) + 1.0), torch.zeros_like(r))


def reference_features(sf: SymmetryFunctions, batch) -> torch.Tensor:
    """Behler's sums written out: one index_add per term, all pairs j < k around a centre."""
    p = sf.parameters_
    species = sf.species(batch[K.ATOMIC_NUMBERS])
    n = species.shape[0]
    v = edge_vectors(batch)
    i, j = batch[K.EDGE_INDEX]
    r = v.norm(dim=1)
    eta, rs = torch.tensor(p.radial_eta, dtype=v.dtype), torch.tensor(p.radial_shift, dtype=v.dtype)
    radial = torch.exp(-eta * (r[:, None] - rs) ** 2) * _fc(r, p.radial_cutoff)[:, None]
    g_rad = torch.zeros(n, sf.n_elements, len(eta), dtype=v.dtype).index_put(
        (i, species[j]), radial, accumulate=True)
    a_eta = torch.tensor(p.angular_eta, dtype=v.dtype)
    a_rs = torch.tensor(p.angular_shift, dtype=v.dtype)
    g_ang = torch.zeros(n, sf.n_pairs, len(a_eta), len(p.zetas), len(p.lambdas), dtype=v.dtype)
    inside = r < p.angular_cutoff
    rows = []
    for centre in range(n):
        edges = torch.nonzero((i == centre) & inside).squeeze(1).tolist()
        for x, e1 in enumerate(edges):
            for e2 in edges[x + 1:]:
                rows.append((centre, e1, e2))
    c, e1, e2 = (torch.tensor(col, dtype=torch.long) for col in zip(*rows))
    r1, r2 = r[e1], r[e2]
    cos = (v[e1] * v[e2]).sum(1) / (r1 * r2)
    if p.angular_kind == "g5":
        radial_part = (torch.exp(-a_eta * ((r1[:, None] - a_rs) ** 2 + (r2[:, None] - a_rs) ** 2))
                       * (_fc(r1, p.angular_cutoff) * _fc(r2, p.angular_cutoff))[:, None])
    else:
        r3 = (v[e2] - v[e1]).norm(dim=1)
        fc = _fc(r1, p.angular_cutoff) * _fc(r2, p.angular_cutoff) * _fc(r3, p.angular_cutoff)
        radial_part = torch.exp(-a_eta * (r1**2 + r2**2 + r3**2)[:, None]) * fc[:, None]
    zeta = torch.tensor(p.zetas, dtype=v.dtype)[:, None]
    lam = torch.tensor(p.lambdas, dtype=v.dtype)
    angle = 2.0 ** (1 - zeta) * (1 + lam * cos[:, None, None]) ** zeta  # (T, n_zeta, n_lambda)
    terms = radial_part[:, :, None, None] * angle[:, None]
    pair = sf.pair_of_species[species[j[e1]], species[j[e2]]]
    g_ang = g_ang.index_put((c, pair), terms, accumulate=True)
    blocks = [g_rad.reshape(n, -1), g_ang.reshape(n, -1)]
    return torch.cat(blocks, dim=1)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("kind", ["g5", "g4"])
def test_features_and_forces_match_the_reference(kind, sparse, monkeypatch):
    from pesforge.descriptors import rows

    monkeypatch.setattr(rows, "SPARSE_MIN_ITEMS", 0 if sparse else 10**9)
    parameters = SymmetryFunctionParameters.default(4.5, angular_cutoff=3.2, n_radial=6,
                                                    n_angular_shells=3, angular_kind=kind)
    sf = SymmetryFunctions(ELEMENTS, parameters)
    sf.block_atoms = 7  # several blocks of centres
    systems = [T.periodic_cell(ELEMENTS, seed=1), T.molecule(ELEMENTS)]
    batch = collate([Frame.from_atoms(a) for a in systems], sf.cutoff)
    weights = torch.randn(sf.n_features, dtype=torch.float64,
                          generator=torch.Generator().manual_seed(0))
    results = []
    for features_of in (sf, lambda b: reference_features(sf, b)):
        positions = batch[K.POSITIONS].clone().requires_grad_(True)
        g = features_of({**batch, K.POSITIONS: positions})
        (grad,) = torch.autograd.grad((torch.tanh(g) @ weights).sum(), positions)
        results.append((g.detach(), grad))
    (got, got_grad), (want, want_grad) = results
    assert got.shape == want.shape
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_grad.numpy(), want_grad.numpy(), rtol=1e-10, atol=1e-12)


def test_an_edge_list_without_reverse_edges_is_summed_as_given():
    """The radial sums evaluate each pair once only when every reverse edge is present."""
    sf = SymmetryFunctions(ELEMENTS, SymmetryFunctionParameters.default(4.5, n_radial=4,
                                                                        n_angular_shells=2))
    batch = collate([Frame.from_atoms(T.molecule(ELEMENTS))], sf.cutoff)
    i, j = batch[K.EDGE_INDEX]
    half = torch.nonzero(i < j).squeeze(1)
    batch = {**batch, K.EDGE_INDEX: batch[K.EDGE_INDEX][:, half],
             K.EDGE_SHIFTS: batch[K.EDGE_SHIFTS][half]}
    np.testing.assert_allclose(sf(batch).numpy(), reference_features(sf, batch).numpy(),
                               rtol=1e-12, atol=1e-12)
