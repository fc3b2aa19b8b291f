"""Charge and dipole loss terms: a learned charge head (beside a BPNN) trained through the
config path on reference dipoles or charges, with the net charge of ions conserved exactly."""

import json

import numpy as np
import pytest
import torch

from pesforge.data import Frame, write_extxyz
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.physics.coulomb import charges_and_dipoles
from pesforge.physics.zbl import COULOMB_CONSTANT
from pesforge.training import loop
from pesforge.training.config import ConfigError, LossConfig, load_config
from pesforge.training.losses import LossWeights, loss, squared_errors
from pesforge.training.metrics import evaluate

#: The reference charge rule: one charge per element, the excess spread equally over atoms.
RULE = {8: -0.8, 1: 0.4}


def reference_charges(numbers, total):
    q = np.array([RULE[z] for z in numbers])
    return q + (total - q.sum()) / len(q)


def molecule(kind, rng):
    """Water (neutral) or hydronium (+1): (numbers, positions Å, net charge e), randomly
    distorted, rotated and shifted (the dipole of an ion depends on the origin)."""
    if kind == "water":
        numbers, total = [8, 1, 1], 0.0
        angle = np.radians(104.5 + rng.normal(scale=5))
        bonds = 0.96 + rng.normal(scale=0.03, size=2)
        h = [[bonds[0], 0, 0], [bonds[1] * np.cos(angle), bonds[1] * np.sin(angle), 0]]
    else:
        numbers, total = [8, 1, 1, 1], 1.0
        theta = np.radians(70 + rng.normal(scale=4, size=3))
        phi = np.radians([0, 120, 240] + rng.normal(scale=5, size=3))
        r = 0.98 + rng.normal(scale=0.03, size=3)
        h = np.stack([r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi),
                      r * np.cos(theta)], axis=1)
    positions = np.vstack([[0.0, 0.0, 0.0], h])
    rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return numbers, positions @ rotation.T + rng.uniform(-0.5, 0.5, 3), total


def labelled_frames(n, seed=0):
    """Frames labelled by point charges of :data:`RULE`: energy = Coulomb energy of those
    charges + harmonic O-H bonds; charges and dipole of the same charges."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        numbers, positions, total = molecule("water" if k % 2 else "hydronium", rng)
        q = reference_charges(numbers, total)
        d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
        i, j = np.triu_indices(len(q), 1)
        energy = COULOMB_CONSTANT * np.sum(q[i] * q[j] / d[i, j]) \
            + 20.0 * np.sum((d[0, 1:] - 0.97) ** 2)
        frames.append(Frame(numbers=numbers, positions=positions, energy=energy, charges=q,
                            dipole=q @ positions, total_charge=total))
    return frames


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return str(write_extxyz(tmp_path_factory.mktemp("ions") / "ions.xyz", labelled_frames(32)))


def overrides(data_file, output, **extra):
    out = {"data.train_file": data_file, "data.n_validation": 8,
           "data.energy_key": "REF_energy",
           "data.charges_key": "REF_charges", "data.dipole_key": "REF_dipole",
           "model.cutoff": 3.0, "model.hidden": [8], "model.n_radial": 4,
           "model.n_angular_shells": 1, "model.dtype": "float64",
           "model.terms": [{"name": "coulomb", "charges": {
               "kind": "learned", "elements": [1, 8], "hidden": [8], "cutoff": 3.0}}],
           "optimizer.batch_size": 8, "optimizer.lr": 1e-2, "optimizer.ema_decay": 0.5,
           "optimizer.max_epochs": 30, "output": str(output)}
    out.update(extra)
    return out


def train_and_compare(data_file, output, metric, **loss_weights):
    """(metric before, metric after training, result) on the validation frames."""
    config = load_config(None, overrides(data_file, output, **loss_weights))
    run, _ = loop._setup(config)  # the same initial model as train() draws (same seed)
    before = evaluate(run.model, run.data.validation)[metric]
    result = loop.train(config, progress=False)
    return before, result.metrics["validation"][metric], result


def assert_conserved(model, frames):
    batch = collate(frames, model.cutoff)
    assert batch[K.TOTAL_CHARGE].abs().max() == 1.0  # the hydronium net charge came through
    with torch.no_grad():
        q = charges_and_dipoles(model, batch)[K.CHARGES]
    sums = torch.zeros(len(frames), dtype=torch.float64).index_add(0, batch[K.SYSTEM], q)
    assert torch.allclose(sums, batch[K.TOTAL_CHARGE], rtol=0, atol=1e-10)


def test_dipole_loss_trains_the_charge_head(data_file, tmp_path):
    before, after, result = train_and_compare(data_file, tmp_path / "run", "dipole_mae_eA",
                                              **{"loss.dipole_weight": 100.0})
    assert after < 0.2 * before, (before, after)
    assert all("val_dipole_mse" in h for h in result.history)
    resolved = json.loads((result.output / "resolved.json").read_text())
    assert resolved["training"]["loss_weights"]["dipole"] == 100.0
    assert result.metrics["validation"]["charge_mae_e"] is not None
    assert_conserved(result.model, labelled_frames(6, seed=1))


def test_charge_loss_trains_the_charge_head(data_file, tmp_path):
    before, after, result = train_and_compare(data_file, tmp_path / "run", "charge_mae_e",
                                              **{"loss.charges_weight": 100.0})
    assert after < 0.2 * before, (before, after)
    assert all(h["val_charges_mse"] >= 0 for h in result.history)
    assert_conserved(result.model, labelled_frames(6, seed=2))


def test_dipole_loss_on_periodic_data_is_an_error(tmp_path):
    frames = labelled_frames(6)
    for f in frames[:2]:
        f.cell, f.pbc = np.eye(3) * 8.0, np.ones(3, dtype=bool)
    path = str(write_extxyz(tmp_path / "box.xyz", frames))
    config = load_config(None, overrides(path, tmp_path / "run", **{
        "loss.dipole_weight": 1.0, "data.n_validation": 2}))
    with pytest.raises(ConfigError, match=r"dipole_weight > 0, but 2 frame\(s\) with dipole "
                                          r"labels are periodic \(e.g. .*box.xyz:0\)"):
        loop.train(config, progress=False)
    batch = collate(frames, 3.0)
    pred = {K.ENERGY: torch.zeros(6, dtype=torch.float64),
            K.CHARGES: batch[K.REF_CHARGES], K.DIPOLE: batch[K.REF_DIPOLE] + 1.0}
    with pytest.raises(ValueError, match=r"system\(s\) \[0, 1\] of the batch are periodic"):
        loss(pred, batch, LossWeights(dipole=1.0))
    _, parts = loss(pred, batch, LossWeights(charges=1.0))  # charges are fine in a cell
    assert parts["charges"] == 0.0 and parts["dipole"] == 1.0  # molecules only


def test_charge_terms_match_manual_mse_and_need_a_charge_model(data_file, tmp_path):
    frames = labelled_frames(4)
    frames[1].charges = None  # unlabelled charges: no contribution
    batch = collate(frames, 3.0)
    rng = np.random.default_rng(0)
    q = torch.tensor(rng.normal(size=len(batch[K.SYSTEM])), requires_grad=True)
    mu = torch.tensor(rng.normal(size=(4, 3)))
    pred = {K.ENERGY: torch.zeros(4, dtype=torch.float64), K.CHARGES: q, K.DIPOLE: mu}
    sums = squared_errors(pred, batch)
    labelled = (batch[K.SYSTEM] != 1).numpy()
    q_err = q.detach().numpy()[labelled] - np.concatenate(
        [f.charges for f in frames if f.charges is not None])
    mu_err = mu.numpy() - np.stack([f.dipole for f in frames])
    total, parts = loss(pred, batch, LossWeights(energy=0, charges=2.0, dipole=3.0))
    assert parts["charges"] == pytest.approx(np.mean(q_err**2), rel=1e-12)
    assert parts["dipole"] == pytest.approx(np.mean(mu_err**2), rel=1e-12)
    assert float(total.detach()) == pytest.approx(2 * np.mean(q_err**2) + 3 * np.mean(mu_err**2))
    assert int(sums["charges"][1]) == labelled.sum() and int(sums["dipole"][1]) == 12
    total.backward()
    assert q.grad[~torch.from_numpy(labelled)].abs().max() == 0
    # Defaults: off; the YAML path accepts the weights; a model without charges is refused.
    assert LossWeights().charges == 0 and LossWeights().dipole == 0
    assert LossConfig(dipole_weight=5).dipole_weight == 5
    yaml_file = tmp_path / "config.yaml"
    yaml_file.write_text(f"data: {{train_file: {data_file}, charges_key: REF_charges}}\n"
                         "loss: {dipole_weight: 10, charges_weight: 2}\n")
    config = load_config(yaml_file)
    assert (config.loss.dipole_weight, config.loss.charges_weight) == (10.0, 2.0)
    assert config.data.charges_key == "REF_charges"
    with pytest.raises(ConfigError, match="loss.dipole_weight"):
        load_config(None, {"data.train_file": data_file, "loss.dipole_weight": -1})
    bare = overrides(data_file, tmp_path / "bare", **{"loss.charges_weight": 1.0})
    bare["model.terms"] = []
    with pytest.raises(ConfigError, match="charges_weight > 0 needs a model with a charge"):
        loop.train(load_config(None, bare), progress=False)
