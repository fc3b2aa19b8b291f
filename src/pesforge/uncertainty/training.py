"""Training a deep ensemble with one call, each member resumable, and ensemble files.

:func:`train_ensemble` runs :func:`pesforge.training.train` once per member in
``OUTPUT/member_NN/`` with seeds ``seed + k`` (initialisation and batch order) on one shared
train/validation split (``data.split_seed``), optionally on bootstrap resamples of the training
frames; then fits the recalibration factors on the shared validation frames and writes

* ``OUTPUT/ensemble.safetensors``: all members in one model file (:class:`Ensemble`, with the
  recalibration factors and provenance in its header),
* ``OUTPUT/ensemble_metrics.json``: error and calibration figures per split,
* ``OUTPUT/calibration.png``: calibration curves on the test (else validation) frames,
* ``OUTPUT/ensemble.json``: the plan (config and size), checked on resume; each finished
  member leaves ``member_NN/member_finished.json``.

Killed at any point, ``resume=True`` keeps finished members, resumes the interrupted one from
its checkpoint and trains the rest. Members can also be trained by separate processes at the
same time (``members=[k]``) and assembled by a last call.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pesforge.fileio import write_json
from pesforge.models.potential import Potential
from pesforge.training.config import ConfigError, TrainConfig
from pesforge.uncertainty.ensemble import Ensemble

ENSEMBLE_FILE = "ensemble.safetensors"
RECORD_FILE = "ensemble.json"
#: Written into a member's folder once it is trained.
FINISHED_FILE = "member_finished.json"


@dataclass
class EnsembleResult:
    """What :func:`train_ensemble` returns."""

    ensemble: Ensemble
    metrics: dict[str, Any]
    output: Path
    member_outputs: list[Path]
    scales: tuple[float | None, float | None]


def member_config(config: TrainConfig, k: int, output: Path, bootstrap: bool) -> TrainConfig:
    """The config of member ``k``: seed ``config.seed + k``, run folder ``output/member_kk``,
    the split of ``data.split_seed`` (default ``config.seed``) shared by all members."""
    tree = config.model_dump(mode="json")
    tree["seed"] = config.seed + k
    tree["output"] = str(output / f"member_{k:02d}")
    split_seed = config.data.split_seed
    tree["data"]["split_seed"] = config.seed if split_seed is None else split_seed
    tree["data"]["bootstrap"] = bool(bootstrap or config.data.bootstrap)
    return TrainConfig.model_validate(tree)


def train_ensemble(config: TrainConfig, n_models: int, *, output: str | os.PathLike | None = None,
                   bootstrap: bool = False, resume: bool = False, recalibrate: bool = True,
                   members: Sequence[int] | None = None,
                   progress: bool = True) -> EnsembleResult | None:
    """Train ``n_models`` members as ``config`` describes and write the ensemble folder.

    Args:
        config: the members' common config (its ``seed`` is member 0's).
        n_models: ensemble size, at least 2.
        output: the ensemble folder (default ``config.output``).
        bootstrap: train each member on a bootstrap resample of the training frames.
        resume: continue an interrupted ensemble in ``output``.
        recalibrate: fit the std scale factors on the shared validation frames.
        members: train only these member indices and return None without assembling
            the ensemble (several processes can train members of one folder at the same time;
            a last call with ``members=None, resume=True`` assembles it). The folder is
            created or checked against the config as with ``resume``.
        progress: show each member's progress.

    Raises:
        ConfigError: fewer than 2 members, an existing ensemble folder when not resuming,
            nothing to resume, a resumed ensemble with another config or size, or member
            indices out of range.
    """
    from pesforge.models.io import load_model
    from pesforge.training import train

    if n_models < 2:
        raise ConfigError(f"an ensemble needs at least 2 members, got n_models={n_models}")
    chosen = list(range(n_models)) if members is None else sorted(set(members))
    if any(not 0 <= k < n_models for k in chosen):
        raise ConfigError(f"member indices must lie in 0..{n_models - 1}, got {list(members)}")
    out = Path(output if output is not None else config.output)
    plan = {"n_models": n_models, "bootstrap": bootstrap,
            "config": config.model_dump(mode="json", exclude={"output", "max_minutes"})}
    _start_record(out / RECORD_FILE, plan, resume, create=members is not None)
    trained: list[Potential] = []
    outputs = []
    for k in chosen:
        cfg = member_config(config, k, out, bootstrap)
        folder = Path(cfg.output)
        outputs.append(folder)
        if (folder / FINISHED_FILE).is_file() and (folder / "model.safetensors").is_file():
            trained.append(load_model(folder / "model.safetensors", device=config.device))
            continue
        if progress:
            print(f"ensemble member {k + 1}/{n_models}: {folder}", flush=True)
        has_checkpoint = (folder / "checkpoint" / "last.safetensors").is_file()
        result = train(cfg, progress=progress, resume=has_checkpoint)
        trained.append(result.model)
        write_json(folder / FINISHED_FILE, {"member": k, "stop_reason": result.stop_reason,
                                            "epochs": len(result.history)})
    if members is not None:
        return None
    ensemble = Ensemble(trained).to(config.device)
    metrics, scales = _finish(ensemble, config, out, recalibrate)
    return EnsembleResult(ensemble, metrics, out, outputs, scales)


def _start_record(path: Path, plan: dict, resume: bool, create: bool = False) -> None:
    """Write the ensemble's plan, or check it when resuming (``create``: either)."""
    if path.is_file():
        if not (resume or create):
            raise ConfigError(f"{path.parent} already holds an ensemble; pass resume (--resume) "
                              f"or choose another output folder")
        if json.loads(path.read_text()).get("plan") != plan:
            raise ConfigError(f"cannot resume {path.parent}: its ensemble was started with "
                              f"another config or size")
        return
    if resume and not create:
        raise ConfigError(f"cannot resume: {path} does not exist")
    write_json(path, {"plan": plan})


def _finish(ensemble: Ensemble, config: TrainConfig, out: Path,
            recalibrate: bool) -> tuple[dict, tuple]:
    """Recalibrate on the shared validation frames, evaluate every split, write the files."""
    from pesforge.models.io import save_model
    from pesforge.training.prepare import load_training_data
    from pesforge.uncertainty import calibration as cal
    from pesforge.uncertainty.evaluation import (ensemble_metrics, ensemble_predict,
                                                 recalibrate as fit)

    data_config = config.data.model_copy(update={"bootstrap": False})
    split_seed = config.seed if config.data.split_seed is None else config.data.split_seed
    data = load_training_data(data_config.model_copy(update={"split_seed": split_seed}),
                              config.seed)
    scales = fit(ensemble, data.validation, device=config.device) if recalibrate \
        else (None, None)
    metrics: dict[str, Any] = {"scales": {"energy": scales[0], "forces": scales[1]}}
    shown = None
    for name, frames in (("validation", data.validation), ("test", data.test)):
        if frames:
            predictions = ensemble_predict(ensemble, frames, device=config.device)
            metrics[name] = ensemble_metrics(predictions)
            shown = (name, predictions)
    level = data.level_of_theory
    extra = {"level_of_theory": None if level is None else level.to_dict(),
             "level_of_theory_text": None if level is None else str(level),
             "elements": data.elements, "n_members": len(ensemble),
             "seeds": [config.seed + k for k in range(len(ensemble))], "metrics": metrics}
    save_model(ensemble, out / ENSEMBLE_FILE, extra=extra)
    write_json(out / "ensemble_metrics.json", metrics)
    if shown is not None:
        name, p = shown
        e_err, f_err = p.energy_pred - p.energy_ref, p.forces_pred - p.forces_ref
        sigma_f = np.repeat(p.forces_sigma(), 3)  # per component, atom-major like f_err
        cal.plot_calibration({"energy": cal.calibration_curve(e_err, p.energy_sigma()),
                              "forces": cal.calibration_curve(f_err.reshape(-1), sigma_f)},
                             out / "calibration.png", title=f"{name} calibration")
    return metrics, scales


def load_ensemble(path: str | os.PathLike, device: str | torch.device = "cpu") -> Ensemble:
    """An ensemble from its model file or from a folder holding ``ensemble.safetensors``."""
    from pesforge.models.io import load_model

    path = Path(path)
    if path.is_dir():
        path = path / ENSEMBLE_FILE
    model = load_model(path, device=device)
    if not isinstance(model, Ensemble):
        raise ValueError(f"{path} holds a {type(model).__name__}, not an ensemble")
    return model


def ensemble_from_files(paths, device: str | torch.device = "cpu") -> Ensemble:
    """An ensemble of separately trained model files (recalibration factors 1)."""
    from pesforge.models.io import load_model

    return Ensemble([load_model(p, device=device) for p in paths])
