"""Both models learn: a few optimiser steps on energies and forces reduce the loss; through
the ordinary training loop (``--model painn|equivariant``, slow) statistics reach the model,
epochs reduce the loss and the saved model reloads."""

import numpy as np
import pytest
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.readers import read
from pesforge.models import EquivariantPotential, PaiNN, compute, load_model
from pesforge.training import load_config, train
from pesforge.training.config import ConfigError


def _overrides(train_file, output, name, **extra):
    out = {"data.train_file": train_file, "data.n_validation": 4, "model.name": name,
           "model.cutoff": 4.0, "model.dtype": "float32", "optimizer.batch_size": 4,
           "optimizer.lr": 1e-2, "optimizer.max_epochs": 4, "optimizer.ema_decay": None,
           "output": output, "model.painn.features": 16, "model.painn.interactions": 2,
           "model.painn.n_radial": 8, "model.equivariant.channels": 8,
           "model.equivariant.lmax": 1, "model.equivariant.correlation": 2,
           "model.equivariant.radial_hidden": 16}
    out.update(extra)
    return out


def _small(name):
    torch.manual_seed(0)
    if name == "painn":
        return PaiNN([1, 6, 8], cutoff=4.0, features=16, interactions=2, n_radial=8)
    pytest.importorskip("e3nn")
    return EquivariantPotential([1, 6, 8], cutoff=4.0, channels=8, lmax=1, interactions=2,
                                correlation=2, radial_hidden=16)


@pytest.mark.parametrize("name", ["painn", "equivariant"])
def test_a_few_steps_reduce_the_force_loss(ethanol_train_file, name):
    frames = read(ethanol_train_file)[:4]
    model = _small(name).float()
    batch = collate(frames, model.cutoff, dtype=torch.float32)
    reference = np.array([-13.6, -1029.0, -2041.0])  # rough eV per atom of H, C, O
    model.fit_statistics([batch], reference_energies=reference, energy_scale=1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(10):
        out = compute(model, batch, forces=True, training=True)
        loss = ((out[K.FORCES] - batch[K.REF_FORCES]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and min(losses[-3:]) < 0.8 * losses[0], losses


@pytest.mark.slow
@pytest.mark.parametrize("name", ["painn", "equivariant"])
def test_training_reduces_the_loss(ethanol_train_file, tmp_path, name):
    if name == "equivariant":
        pytest.importorskip("e3nn")
    config = load_config(None, _overrides(ethanol_train_file, str(tmp_path / name), name))
    result = train(config, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0], losses
    model = load_model(tmp_path / name / "model.safetensors")
    assert model.name == name
    reference = model.head.reference_energies
    assert reference.dtype == torch.float64 and reference.abs().min() > 10  # eV per atom, fitted
    assert model.head.energy_scale.item() > 0.1  # force RMS of ethanol, ~1 eV/Å


def test_nested_model_config_rejects_typos(ethanol_train_file):
    with pytest.raises(ConfigError, match="model.painn.featurs"):
        load_config(None, {"data.train_file": ethanol_train_file, "model.name": "painn",
                           "model.painn.featurs": 3})
    with pytest.raises(ConfigError, match="model.equivariant.lmax"):
        load_config(None, {"data.train_file": ethanol_train_file,
                           "model.equivariant.lmax": 9})
