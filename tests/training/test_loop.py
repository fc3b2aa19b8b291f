import json
import math

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.io import write

from pesforge.data.readers import read
from pesforge.data.statistics import force_rms
from pesforge.data.validate import LevelOfTheoryError
from pesforge.models.io import load_model
from pesforge.training import loop
from pesforge.training.config import ConfigError, load_config
from pesforge.training.metrics import METRIC_KEYS, evaluate
from pesforge.training.prepare import load_training_data

PNG = b"\x89PNG\r\n\x1a\n"
# torch's forward-mode autograd (used by the descriptor cache) warns about its own internals.


@pytest.fixture(scope="module")
def straight(ethanol_files, tiny, tmp_path_factory):
    """An uninterrupted 4-epoch run: (config, result)."""
    train_file, test_file = ethanol_files
    output = tmp_path_factory.mktemp("straight") / "run"
    config = load_config(None, tiny(train_file, test_file, output=str(output)))
    return config, loop.train(config, progress=False)


def test_run_decreases_the_loss_and_writes_every_output(straight, ethanol_files):
    config, result = straight
    out = result.output
    history = result.history
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["train_loss"] < 0.7 * history[0]["train_loss"]
    assert min(h["val_loss"] for h in history) < history[0]["val_loss"]
    assert result.stop_reason == "max_epochs"
    for name in ("model.safetensors", "metrics.json", "config.yaml", "resolved.json",
                 "checkpoint/last.safetensors"):
        assert (out / name).is_file(), name
    for name in ("training_curve.png", "parity_energy.png", "parity_forces.png"):
        assert (out / name).read_bytes()[:8] == PNG
    assert load_config(out / "config.yaml") == config


def test_resolved_record(straight):
    config, result = straight
    resolved = json.loads((result.output / "resolved.json").read_text())
    train_idx = resolved["split"]["train_indices"]
    val_idx = resolved["split"]["validation_indices"]
    assert len(val_idx) == 6 and sorted(train_idx + val_idx) == list(range(30))
    assert resolved["split"]["seed"] == config.seed
    frames = read(config.data.train_file)
    assert resolved["energy_scale_eV"] == pytest.approx(force_rms([frames[i] for i in train_idx]),
                                                        rel=1e-12)
    assert resolved["energy_scale_source"] == "force_rms"
    assert set(resolved["reference_energies_eV"]) == {"1", "6", "8"}
    assert resolved["n_frames"] == {"train": 24, "validation": 6, "test": 8}
    best = int(np.argmin([h["val_loss"] for h in result.history])) + 1
    assert resolved["training"]["best_epoch"] == best
    assert resolved["training"]["loss_weights"] == {"energy": 1.0, "forces": 100.0, "stress": 1.0}


def test_saved_model_is_the_best_ema_model_with_provenance(straight):
    config, result = straight
    model = load_model(result.output / "model.safetensors")
    assert model.dtype == torch.float64
    extra = model.extra
    assert extra["level_of_theory"] == {"method": "PBE", "basis": "def2-SVP", "code": "ORCA"}
    assert extra["elements"] == [1, 6, 8]
    metrics = json.loads((result.output / "metrics.json").read_text())
    assert set(metrics) == {"train", "validation", "test"}
    for split in metrics.values():
        assert tuple(split) == METRIC_KEYS
    assert extra["metrics"] == metrics
    test_frames = read(config.data.test_file)
    again = evaluate(model, test_frames)
    for key in METRIC_KEYS:
        assert again[key] == pytest.approx(metrics["test"][key], rel=1e-10)


def _train_killed_after_epoch_2(config, monkeypatch):
    """Train ``config`` until a simulated kill right after epoch 2's checkpoint is written."""
    real_save = loop.save_checkpoint

    def save_then_die(path, state):
        real_save(path, state)
        if state["epoch"] == 2:
            raise KeyboardInterrupt("killed after epoch 2")

    monkeypatch.setattr(loop, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        loop.train(config, progress=False)
    monkeypatch.undo()


def test_resume_after_a_kill_replays_the_uninterrupted_run(straight, ethanol_files, tiny,
                                                          tmp_path, monkeypatch):
    _, reference = straight
    train_file, test_file = ethanol_files
    config = load_config(None, tiny(train_file, test_file, output=str(tmp_path / "run")))
    _train_killed_after_epoch_2(config, monkeypatch)
    assert not (tmp_path / "run" / "model.safetensors").exists()
    resumed = loop.train(config, progress=False, resume=True)
    assert len(resumed.history) == len(reference.history)
    for a, b in zip(reference.history, resumed.history):
        for key in ("train_loss", "val_loss", "val_energy_mse", "val_forces_mse", "lr"):
            assert a[key] == b[key], (a["epoch"], key)
    straight_state = load_model(reference.output / "model.safetensors").state_dict()
    resumed_state = load_model(resumed.output / "model.safetensors").state_dict()
    for key, value in straight_state.items():
        assert torch.equal(value, resumed_state[key]), key


def test_resume_and_overwrite_guards(straight, tmp_path):
    config, result = straight
    with pytest.raises(ConfigError, match="already holds a training run"):
        loop.train(config, progress=False)
    changed = config.model_copy(update={"optimizer": config.optimizer.model_copy(
        update={"lr": 0.1})})
    with pytest.raises(ConfigError, match=r"optimizer.lr: 0.005 -> 0.1"):
        loop.train(changed, progress=False, resume=True)
    elsewhere = config.model_copy(update={"output": str(tmp_path / "none")})
    with pytest.raises(ConfigError, match="cannot resume"):
        loop.train(elsewhere, progress=False, resume=True)


def test_time_budget_and_noise_weights(ethanol_files, tiny, tmp_path):
    train_file, _ = ethanol_files
    noise = {"sigma_energy_per_atom": 0.004, "sigma_forces": 0.05, "sigma_stress": 0.01}
    config = load_config(None, tiny(train_file, output=str(tmp_path / "run"),
                                    max_minutes=1e-9, **{"loss.noise": noise}))
    result = loop.train(config, progress=False)
    assert result.stop_reason == "time_budget" and result.history == []
    resolved = json.loads((tmp_path / "run" / "resolved.json").read_text())
    weights = resolved["training"]["loss_weights"]
    assert weights["energy"] == pytest.approx(1 / 0.004**2, rel=1e-14)
    assert weights["forces"] == pytest.approx(1 / 0.05**2, rel=1e-14)
    assert weights["stress"] == pytest.approx(1 / 0.01**2, rel=1e-14)
    assert set(result.metrics) == {"train", "validation"}


def test_mixed_levels_of_theory_are_refused(ethanol_files, tmp_path):
    train_file, _ = ethanol_files
    frame = read(train_file, index="0")[0]
    atoms = Atoms(numbers=frame.numbers, positions=frame.positions)
    atoms.info.update(energy=frame.energy, level_of_theory="B3LYP/6-31G (Gaussian)")
    atoms.arrays["forces"] = frame.forces
    other = tmp_path / "other.xyz"
    write(other, atoms, format="extxyz")
    config = load_config(None, {"data.train_file": train_file, "data.test_file": str(other)})
    with pytest.raises(LevelOfTheoryError, match="different levels of theory"):
        load_training_data(config.data, seed=0)
    mixed = config.data.model_copy(update={"allow_mixed_levels": True})
    data = load_training_data(mixed, seed=0)
    assert data.level_of_theory is None and len(data.test) == 1


def test_plateau_schedule_and_early_stopping(ethanol_files, tiny, tmp_path, monkeypatch):
    train_file, _ = ethanol_files
    config = load_config(None, tiny(train_file, output=str(tmp_path / "run"), **{
        "optimizer.max_epochs": 10, "optimizer.early_stopping_patience": 2,
        "optimizer.scheduler.patience": 0, "optimizer.scheduler.factor": 0.5}))
    worsening = iter([5.0, 6.0, 7.0, 8.0, 9.0])
    monkeypatch.setattr(loop, "_validate", lambda run: (next(worsening), {"energy": 0.0}))
    result = loop.train(config, progress=False)
    assert result.stop_reason == "early_stopping"
    assert [h["val_loss"] for h in result.history] == [5.0, 6.0, 7.0]
    assert [h["lr"] for h in result.history] == [5e-3, 2.5e-3, 1.25e-3]
    resolved = json.loads((tmp_path / "run" / "resolved.json").read_text())
    assert resolved["training"]["best_epoch"] == 1


def test_cosine_schedule_anneals_to_min_lr_and_resumes(ethanol_files, tiny, tmp_path,
                                                       monkeypatch):
    train_file, _ = ethanol_files
    overrides = {"optimizer.max_epochs": 4, "optimizer.scheduler.kind": "cosine",
                 "optimizer.scheduler.min_lr": 1e-4}
    config = load_config(None, tiny(train_file, output=str(tmp_path / "run"), **overrides))
    result = loop.train(config, progress=False)
    lrs = [h["lr"] for h in result.history]  # the rate after each epoch's step
    expected = [1e-4 + (5e-3 - 1e-4) * 0.5 * (1 + math.cos(math.pi * k / 4)) for k in (1, 2, 3, 4)]
    assert lrs == pytest.approx(expected, rel=1e-12)

    killed = load_config(None, tiny(train_file, output=str(tmp_path / "killed"), **overrides))
    _train_killed_after_epoch_2(killed, monkeypatch)
    resumed = loop.train(killed, progress=False, resume=True)
    assert [(h["lr"], h["val_loss"]) for h in resumed.history] == [
        (h["lr"], h["val_loss"]) for h in result.history]


def test_stress_labels_enter_the_loss(tmp_path, capsys):
    from ase.build import bulk
    from ase.calculators.emt import EMT

    frames = []
    for k in range(10):
        atoms = bulk("Cu", "fcc", a=3.6 + 0.03 * k, cubic=True)
        atoms.rattle(0.05, seed=k)
        atoms.calc = EMT()
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        stress = atoms.get_stress()
        atoms.calc = None
        atoms.info.update(energy=energy, stress=stress)
        atoms.arrays["forces"] = forces
        frames.append(atoms)
    write(tmp_path / "cu.xyz", frames, format="extxyz")
    config = load_config(None, {
        "data.train_file": str(tmp_path / "cu.xyz"), "data.n_validation": 3,
        "model.cutoff": 4.0, "model.hidden": [8], "model.n_radial": 4,
        "model.n_angular_shells": 2, "model.dtype": "float64", "optimizer.batch_size": 4,
        "optimizer.max_epochs": 2, "loss.stress_weight": 100.0, "output": str(tmp_path / "run")})
    result = loop.train(config, progress=True)
    assert all(h["val_stress_mse"] > 0 for h in result.history)
    assert result.metrics["validation"]["stress_mae_meV_per_A3"] > 0
    assert "epoch 2:" in capsys.readouterr().out  # not a terminal: one log line per epoch


def test_feature_cache_trains_like_the_full_graph(straight, ethanol_files, tiny, tmp_path):
    _, cached = straight
    train_file, test_file = ethanol_files
    config = load_config(None, tiny(train_file, test_file, output=str(tmp_path / "run"),
                                    feature_cache=False, **{"optimizer.max_epochs": 2}))
    full = loop.train(config, progress=False)
    assert json.loads((cached.output / "resolved.json").read_text())["feature_cache"] is True
    assert json.loads((full.output / "resolved.json").read_text())["feature_cache"] is False
    for a, b in zip(cached.history[:2], full.history):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-9)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-9)
