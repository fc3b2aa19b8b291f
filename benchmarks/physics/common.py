"""Shared helpers of the physics benchmarks: train a BPNN on (residual) labels within a time
budget, and evaluate a potential on frames."""

from __future__ import annotations

from pathlib import Path

from pesforge.data.writers import write_extxyz
from pesforge.physics.terms import subtract_terms
from pesforge.training import train
from pesforge.training.config import load_config


def train_bpnn(frames, test_frames, terms, output: Path, minutes: float | None, seed: int = 0,
               hidden=(64, 32), epochs: int = 10000):
    """Train a BPNN on ``frames`` minus the fixed ``terms`` (written to an extxyz so the
    descriptor cache applies) and return ``(terms + model, train result)``. The budget is
    ``minutes`` of wall time or ``epochs`` (use an epoch budget to compare arms fairly on a
    machine whose load varies).

    Training the learned part on the residual labels is the same optimisation problem as
    training ``terms + model`` (the terms have no parameters) and runs on cached features.
    """
    output.mkdir(parents=True, exist_ok=True)
    train_file = write_extxyz(output / "train.xyz", subtract_terms(terms, frames))
    test_file = write_extxyz(output / "test.xyz", subtract_terms(terms, test_frames))
    config = load_config(None, {
        "data.train_file": str(train_file), "data.test_file": str(test_file),
        "data.energy_key": "REF_energy", "data.forces_key": "REF_forces",
        "data.n_validation": 50, "model.hidden": list(hidden), "model.dtype": "float32",
        "optimizer.batch_size": 16, "optimizer.lr": 2e-3, "optimizer.max_epochs": epochs,
        "optimizer.scheduler.patience": 5, "max_minutes": minutes, "seed": seed,
        "output": str(output / "run")})
    result = train(config, progress=False)
    model = result.model
    for term in terms:
        model = term.to(model.dtype) + model
    return model, result
