import numpy as np
import pytest
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.training.losses import LossAccumulator, LossWeights, loss, squared_errors


def frames_with_gaps():
    """Four small systems; frame 1 lacks energy, frame 2 lacks forces, only frame 3 has stress."""
    rng = np.random.default_rng(0)
    frames = []
    for k, n in enumerate((3, 4, 2, 5)):
        positions = rng.uniform(0, 4, (n, 3))
        frames.append(Frame(numbers=[1] * n, positions=positions,
                            energy=None if k == 1 else float(rng.normal()),
                            forces=None if k == 2 else rng.normal(size=(n, 3)),
                            stress=rng.normal(size=(3, 3)) if k == 3 else None))
    return frames


def fake_prediction(batch, seed=1):
    rng = np.random.default_rng(seed)
    n_sys, n_atoms = batch[K.N_ATOMS].shape[0], batch[K.POSITIONS].shape[0]
    return {K.ENERGY: torch.tensor(rng.normal(size=n_sys)),
            K.FORCES: torch.tensor(rng.normal(size=(n_atoms, 3)), requires_grad=True),
            K.STRESS: torch.tensor(rng.normal(size=(n_sys, 3, 3)))}


def manual(frames, pred, w):
    e = [((float(pred[K.ENERGY][k]) - f.energy) / len(f)) ** 2
         for k, f in enumerate(frames) if f.energy is not None]
    offsets = np.cumsum([0] + [len(f) for f in frames])
    forces = pred[K.FORCES].detach().numpy()
    f_err = np.concatenate([(forces[offsets[k]:offsets[k + 1]] - f.forces).ravel()
                            for k, f in enumerate(frames) if f.forces is not None])
    s_err = np.concatenate([(pred[K.STRESS][k].numpy() - f.stress).ravel()
                            for k, f in enumerate(frames) if f.stress is not None])
    mse = {"energy": np.mean(e), "forces": np.mean(f_err**2), "stress": np.mean(s_err**2)}
    return w.energy * mse["energy"] + w.forces * mse["forces"] + w.stress * mse["stress"], mse


def test_loss_matches_manual_masked_mse():
    frames = frames_with_gaps()
    batch = collate(frames, cutoff=2.0)
    pred = fake_prediction(batch)
    weights = LossWeights(energy=2.0, forces=3.0, stress=0.5)
    total, components = loss(pred, batch, weights)
    expected, mse = manual(frames, pred, weights)
    assert float(total.detach()) == pytest.approx(expected, rel=1e-12)
    for name in ("energy", "forces", "stress"):
        assert components[name] == pytest.approx(mse[name], rel=1e-12)


def test_missing_labels_contribute_nothing():
    frames = frames_with_gaps()
    batch = collate(frames, cutoff=2.0)
    pred = fake_prediction(batch)
    total, _ = loss(pred, batch, LossWeights())
    # Garbage in the zero-filled slots of missing labels must not change the loss.
    poisoned = dict(batch)
    poisoned[K.REF_ENERGY] = torch.where(batch[K.HAS_ENERGY], batch[K.REF_ENERGY],
                                         torch.tensor(1e6, dtype=torch.float64))
    atom_has_f = batch[K.HAS_FORCES][batch[K.SYSTEM]]
    poisoned[K.REF_FORCES] = torch.where(atom_has_f[:, None], batch[K.REF_FORCES],
                                         torch.tensor(1e6, dtype=torch.float64))
    poisoned[K.REF_STRESS] = torch.where(batch[K.HAS_STRESS][:, None, None],
                                         batch[K.REF_STRESS], torch.tensor(-1e6,
                                                                           dtype=torch.float64))
    assert float(loss(pred, poisoned, LossWeights())[0].detach()) == float(total.detach())


def test_term_without_labels_is_zero_not_nan():
    frames = [f for f in frames_with_gaps() if f.stress is None]
    batch = collate(frames, cutoff=2.0)
    total, components = loss(fake_prediction(batch), batch, LossWeights(stress=100.0))
    assert components["stress"] == 0.0
    assert torch.isfinite(total)
    sums = squared_errors(fake_prediction(batch), batch)
    assert int(sums["stress"][1]) == 0


def test_gradient_reaches_predictions():
    frames = frames_with_gaps()
    batch = collate(frames, cutoff=2.0)
    pred = fake_prediction(batch)
    total, _ = loss(pred, batch, LossWeights(energy=0.0, forces=1.0, stress=0.0))
    total.backward()
    grad = pred[K.FORCES].grad
    atom_has_f = batch[K.HAS_FORCES][batch[K.SYSTEM]]
    assert grad[~atom_has_f].abs().max() == 0.0
    assert grad[atom_has_f].abs().max() > 0.0


def test_accumulator_equals_loss_of_whole_set():
    frames = frames_with_gaps()
    whole = collate(frames, cutoff=2.0)
    pred = fake_prediction(whole)
    expected, components = loss(pred, whole, LossWeights())
    acc = LossAccumulator()
    atom_split = sum(len(f) for f in frames[:2])
    for systems, atoms, part in ((slice(0, 2), slice(0, atom_split), frames[:2]),
                                 (slice(2, 4), slice(atom_split, None), frames[2:])):
        sub = {K.ENERGY: pred[K.ENERGY][systems], K.FORCES: pred[K.FORCES][atoms].detach(),
               K.STRESS: pred[K.STRESS][systems]}
        acc.add(sub, collate(part, cutoff=2.0))
    total, parts = acc.result(LossWeights())
    assert total == pytest.approx(float(expected.detach()), rel=1e-12)
    assert parts == pytest.approx(components, rel=1e-12)
