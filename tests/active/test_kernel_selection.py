"""Batch selection in a learned feature space: ``lcmd``, ``max_determinant`` and the models'
last-layer gradient features they run on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pesforge.active.select import farthest_point, lcmd, max_determinant, readout_descriptor, select
from pesforge.data import keys as K
from pesforge.data import rmd17
from pesforge.data.batch import collate
from pesforge.models.equivariant import EquivariantPotential
from pesforge.models.painn import PaiNN
from pesforge.testing.fixtures import small_bpnn
from pesforge.uncertainty import Ensemble

ELEMENTS = (1, 6, 8)


def test_lcmd_by_hand():
    x = np.array([[0.0], [1.0], [2.0], [10.0]])
    # one cluster around the labelled point at 0: its farthest member, then the next, ...
    assert lcmd(x, 3, reference=np.array([[0.0]])) == [3, 2, 1]
    # ... and nothing that coincides with a centre
    assert lcmd(x, 4, reference=np.array([[0.0]])) == [3, 2, 1]
    # no labelled data: the row nearest the mean starts
    assert lcmd(x, 1) == [2]
    assert lcmd(x, 0) == [] and lcmd(np.zeros((0, 1)), 2) == []


def test_lcmd_weighs_clusters_by_their_squared_distances():
    """A dense region of 50 rows, a far row and a nearer lone row, labelled data at 0."""
    rng = np.random.default_rng(0)
    dense = rng.normal(0.0, 0.3, (50, 2)) + [3.0, 0.0]
    x = np.vstack([dense, [[0.0, 5.0], [0.0, -2.2]]])
    reference = np.zeros((1, 2))
    picks = lcmd(x, 4, reference)
    # one cluster at first: its farthest member, then the farthest of the dense region ...
    assert picks[0] == 50 and picks[1] < 50
    # ... then the dense region again, whose spread outweighs the lone row at 2.2 from the
    # data, which farthest-point sampling takes next
    assert picks[2] < 50 and 51 not in picks
    assert farthest_point(x, 3, first=50, reference=reference)[2] == 51


def test_max_determinant_is_greedy_determinant_maximisation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 5))
    reference = rng.normal(size=(4, 5))
    ridge = 1e-3
    picks = max_determinant(x, 6, reference, ridge=ridge)
    lam = ridge * (np.vstack([x, reference]) ** 2).sum(1).mean()
    chosen: list[int] = []
    for _ in range(6):  # brute force: the row that maximises det(R^T R + lam I) when added
        rows = np.vstack([reference, x[chosen]])
        logdet = [np.linalg.slogdet(np.vstack([rows, x[i]]).T @ np.vstack([rows, x[i]])
                                    + lam * np.eye(5))[1] if i not in chosen else -np.inf
                  for i in range(len(x))]
        chosen.append(int(np.argmax(logdet)))
    assert picks == chosen


def test_max_determinant_prefers_directions_the_data_lacks():
    reference = np.array([[1.0, 0.0]] * 5)
    x = np.array([[3.0, 0.0], [0.0, 0.5], [2.0, 0.1]])
    assert max_determinant(x, 1, reference)[0] == 1
    assert max_determinant(np.zeros((3, 2)), 2) == []


def _models():
    torch.manual_seed(0)
    painn = PaiNN(ELEMENTS, cutoff=4.0, features=8, interactions=2, n_radial=6).double()
    equivariant = EquivariantPotential(ELEMENTS, cutoff=4.0, channels=4, lmax=1,
                                       interactions=2, correlation=2, n_radial=6,
                                       radial_hidden=8).double()
    for m in (painn, equivariant):
        m.fit_statistics([], reference_energies=np.array([-13.6, -1030.0, -2040.0]),
                         energy_scale=0.5)
    return {"bpnn": small_bpnn(hidden=(8, 8)), "painn": painn, "equivariant": equivariant}


@pytest.mark.parametrize("name", ["bpnn", "painn", "equivariant"])
def test_readout_features_span_the_per_atom_energies(name):
    """Each atom's energy is its features times fixed weights plus a per-element constant:
    a least-squares fit over 90 atoms reproduces every per-atom energy to round-off."""
    model = _models()[name]
    frames = rmd17("ethanol", "train")[:10]
    batch = collate(frames, model.cutoff)
    with torch.no_grad():
        features = model.readout_features(batch)
        energies = model(batch)
    species = torch.as_tensor(np.searchsorted(ELEMENTS, batch[K.ATOMIC_NUMBERS].numpy()))
    design = torch.cat([features, torch.nn.functional.one_hot(species, 3).double()], dim=1)
    assert design.shape[0] > design.shape[1]
    fit = torch.linalg.lstsq(design, energies.unsqueeze(1)).solution
    residual = (design @ fit).squeeze(1) - energies
    assert residual.abs().max() < 1e-8 * energies.abs().max()
    # a feature set missing the last layer's input would not fit
    assert features.std(0).max() > 1e-3


def test_bpnn_readout_features_are_the_last_layer_gradient():
    model = small_bpnn(hidden=(8, 8))
    frames = rmd17("ethanol", "train")[:3]
    batch = collate(frames, model.cutoff)
    model(batch).sum().backward()
    summed = readout_descriptor(model)(frames).sum(0).reshape(3, 8)
    for s, net in enumerate(model.networks.nets):
        np.testing.assert_allclose(summed[s], net[-1].weight.grad.reshape(-1).numpy(),
                                   rtol=1e-10, atol=1e-12)


def test_select_in_the_committee_feature_space():
    committee = Ensemble([small_bpnn(hidden=(8,), seed=s) for s in range(2)])
    frames = rmd17("ethanol", "train")[:40]
    describe = readout_descriptor(committee)
    features = describe(frames)
    assert features.shape == (40, 2 * 3 * 8)
    # the committee's rows are the members' side by side, scaled by 1/sqrt(2)
    first = readout_descriptor(committee.members[0])(frames)
    np.testing.assert_allclose(features[:, :24], first / np.sqrt(2), rtol=1e-12)
    unc = np.linspace(0.0, 1.0, 30)
    for strategy in ("lcmd", "max_determinant", "farthest_point", "cluster_maxima"):
        picked = select(frames[10:], unc, threshold=0.2, batch_size=5, cutoff=4.0,
                        labelled=frames[:10], strategy=strategy, describe=describe)
        assert len(set(picked)) == 5 and all(unc[p] > 0.2 for p in picked), strategy
    # a candidate identical to a labelled frame is never an lcmd pick
    twins = [frames[0], *frames[10:20]]
    assert 0 not in select(twins, np.ones(11), threshold=0.0, batch_size=10, cutoff=4.0,
                           labelled=frames[:10], strategy="lcmd", describe=describe)


def test_errors_report_the_force_error_tail():
    from pesforge.active.committee import errors
    from pesforge.models.autograd import compute

    model = small_bpnn(hidden=(8,))
    frames = rmd17("ethanol", "train")[:6]
    batch = collate(frames, model.cutoff)
    error = (compute(model, batch, forces=True)[K.FORCES].detach() - batch[K.REF_FORCES]).numpy()
    worst = np.linalg.norm(error, axis=1).reshape(6, 9).max(1)
    stats = errors(model, frames)
    assert stats["forces_p99"] == pytest.approx(np.quantile(np.abs(error), 0.99), rel=1e-10)
    assert stats["forces_max_error_mean"] == pytest.approx(worst.mean(), rel=1e-10)
    assert stats["forces_max_error"] == pytest.approx(worst.max(), rel=1e-10)
