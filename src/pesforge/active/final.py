"""The production model of a campaign: one ``pesforge train`` run on every label the loop bought.

The committee is cheap so that it can be retrained every round; what a user ships is usually a
more accurate architecture trained once on the final data set. :func:`train_final` writes the
labels to ``OUTPUT/final/labels.xyz`` (REF_ keys, with their levels of theory), trains in
``OUTPUT/final/`` (resuming from its checkpoint after a kill) and records the model's
validation and test errors in ``OUTPUT/final.json``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pesforge.active.config import ActiveLearningConfig
from pesforge.fileio import write_json
from pesforge.oracles.store import LabelStore

FOLDER = "final"
RECORD = "final.json"


def train_final(config: ActiveLearningConfig, store: LabelStore, output: Path,
                progress: bool = True) -> dict[str, Any]:
    """Train ``config.final`` on all labels of ``store``; returns (and writes) its record.

    The record holds the label count, the run's epochs and stop reason, the held-out
    labels' errors as in the run's ``metrics.json`` (``validation``: named with their units,
    meV) and the errors on ``config.test_file`` as the committee's reports give them
    (``test``: :func:`pesforge.active.committee.errors`, eV/atom and eV/Å).
    """
    from pesforge.active.committee import errors
    from pesforge.data.readers import read
    from pesforge.data.writers import write_extxyz
    from pesforge.training import train
    from pesforge.training.config import DataConfig, TrainConfig
    from pesforge.training.loop import CHECKPOINT

    spec = config.final
    folder = output / FOLDER
    labels = folder / "labels.xyz"
    frames = store.labelled()
    # the reader refuses a named label that no frame has: name only those the oracle gave
    keys = {f"{label}_key": f"REF_{label}"
            for label in ("energy", "forces", "stress", "charges", "dipole")
            if any(getattr(f, label) is not None for f in frames)}
    resume = (folder / CHECKPOINT).is_file()
    if not resume:  # the store is final once the loop has stopped
        folder.mkdir(parents=True, exist_ok=True)
        write_extxyz(labels, frames)
    run = TrainConfig(
        data=DataConfig(train_file=str(labels), **keys,
                        validation_fraction=spec.validation_fraction, split_seed=config.seed),
        model=spec.model, loss=spec.loss, optimizer=spec.optimizer,
        max_minutes=spec.max_minutes, seed=config.seed, device=config.device,
        output=str(folder))
    tick = time.perf_counter()
    result = train(run, progress=progress, resume=resume)
    record = {"n_labelled": len(frames), "model": spec.model.name,
              "model_file": str(folder / "model.safetensors"),
              "epochs": len(result.history), "stop_reason": result.stop_reason,
              "train_seconds": time.perf_counter() - tick,
              "validation": result.metrics.get("validation", {})}
    if config.test_file:
        record["test"] = errors(result.model, read(config.test_file))
    write_json(output / RECORD, record)
    return record
