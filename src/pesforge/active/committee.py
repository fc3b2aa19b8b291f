"""Retraining the committee after each labelling round, warm-started from the last round.

Each member is trained by :mod:`pesforge.training`'s loop on the store's labelled frames
(written to ``data.xyz``), with seed ``seed + k`` and one validation split shared by all
members. With ``warm_start`` a member starts from the previous round's member: its energies,
re-expressed for the statistics of this round's data where the model can do that exactly
(:meth:`~pesforge.models.Potential.adopt_statistics`; a BPNN's input standardisation fitted
on the first round's few near-identical frames would otherwise stay for the whole campaign).
A round then costs a few epochs instead of a full training. The result
is a :class:`~pesforge.uncertainty.Ensemble` saved as ``ensemble.safetensors``.

A member whose ``model.safetensors`` exists is reused, so a killed round resumes where it was;
an unfinished member is retrained from its starting point (training is deterministic for a
fixed thread count, so the result does not depend on where the kill happened).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from pesforge.active.config import CommitteeConfig
from pesforge.data import keys as K
from pesforge.data.frame import Frame

ENSEMBLE_FILE = "ensemble.safetensors"


def member_config(frames_file: Path, frames: Sequence[Frame], config: CommitteeConfig, k: int,
                  folder: Path, seed: int, epochs: int, device: str):
    """The :class:`~pesforge.training.TrainConfig` of member ``k``."""
    from pesforge.training.config import DataConfig, TrainConfig

    has_stress = any(f.stress is not None for f in frames)
    data = DataConfig(train_file=str(frames_file), energy_key="REF_energy",
                      forces_key="REF_forces",
                      stress_key="REF_stress" if has_stress else "stress",
                      n_validation=min(config.n_validation, len(frames) - 1),
                      split_seed=seed, bootstrap=config.bootstrap)
    optimizer = config.optimizer.model_copy(update={"max_epochs": epochs})
    return TrainConfig(data=data, model=config.model, loss=config.loss, optimizer=optimizer,
                       seed=seed + k, output=str(folder / f"member_{k:02d}"), device=device,
                       feature_cache=not has_stress)


def train_member(train_config, initial: dict[str, torch.Tensor] | None = None):
    """Train one member (optionally from ``initial`` weights) and save ``model.safetensors``
    in its folder; returns the best (EMA) model."""
    from pesforge.models.io import save_model
    from pesforge.training import loop
    from pesforge.training.ema import EMA

    start = time.monotonic()
    run, resolved = loop._setup(train_config)
    warm = False
    if initial is not None:
        fitted = {k: v.detach().clone() for k, v in run.model.state_dict().items()}
        try:
            run.model.load_state_dict(initial)
            warm = True
        except RuntimeError:  # another element set or architecture: start cold
            pass
        else:  # the last round's energies, this round's data statistics
            run.model.adopt_statistics(fitted)
        run.ema = EMA(run.model, train_config.optimizer.ema_decay or 0.0)
    state = loop._State()
    output = Path(train_config.output)
    reason = loop._fit(run, state, output / loop.CHECKPOINT, start, progress=False)
    if state.best_weights is not None:
        run.model.load_state_dict(state.best_weights)
    save_model(run.model, output / "model.safetensors",
               extra={"warm_start": warm, "epochs": state.epoch, "stop_reason": reason,
                      "best_val_loss": state.best_val, "seed": train_config.seed})
    shutil.rmtree(output / "checkpoint", ignore_errors=True)
    return run.model


def train_committee(frames: Sequence[Frame], config: CommitteeConfig, folder: str | Path, *,
                    seed: int, previous=None, first: bool = False, device: str = "cpu"):
    """Train (or finish training) the committee of one round in ``folder``.

    Args:
        frames: the labelled frames (at least 2).
        config: committee settings.
        folder: the round's folder; ``data.xyz``, ``member_NN/`` and ``ensemble.safetensors``
            are written there.
        seed: the campaign seed (member k uses ``seed + k``; the split uses ``seed``).
        previous: the previous round's :class:`~pesforge.uncertainty.Ensemble` (warm start).
        first: the first round (uses ``first_max_epochs``).

    Returns:
        The :class:`~pesforge.uncertainty.Ensemble`.
    """
    from pesforge.data.writers import write_extxyz
    from pesforge.models.io import load_model, save_model
    from pesforge.uncertainty import Ensemble

    folder = Path(folder)
    if (folder / ENSEMBLE_FILE).is_file():
        return load_committee(folder, device)
    if len(frames) < 2:
        raise ValueError(f"{folder}: the committee needs at least 2 labelled frames, "
                         f"got {len(frames)}")
    data_file = folder / "data.xyz"
    write_extxyz(data_file, frames)
    epochs = (config.first_max_epochs or config.max_epochs) if first else config.max_epochs
    members = []
    for k in range(config.n_models):
        cfg = member_config(data_file, frames, config, k, folder, seed, epochs, device)
        model_file = Path(cfg.output) / "model.safetensors"
        if model_file.is_file():
            members.append(load_model(model_file, device=device))
            continue
        shutil.rmtree(cfg.output, ignore_errors=True)  # an interrupted member starts over
        initial = None
        if previous is not None and config.warm_start and k < len(previous.members):
            initial = {n: v.detach().clone() for n, v in previous.members[k].state_dict().items()}
        members.append(train_member(cfg, initial))
    ensemble = Ensemble(members).to(device)
    save_model(ensemble, folder / ENSEMBLE_FILE,
               extra={"n_frames": len(frames), "seed": seed, "warm_start": previous is not None})
    return ensemble


def load_committee(folder: str | Path, device: str = "cpu"):
    """The ensemble saved in a round's folder."""
    from pesforge.uncertainty import load_ensemble

    return load_ensemble(Path(folder) / ENSEMBLE_FILE, device=device)


def validation_frames(frames: Sequence[Frame], config: CommitteeConfig,
                      seed: int) -> list[Frame]:
    """The frames the members held out (the shared split of :func:`member_config`)."""
    from pesforge.training.config import DataConfig
    from pesforge.training.prepare import split

    data = DataConfig(train_file="-", n_validation=min(config.n_validation, len(frames) - 1))
    _, val_idx = split(len(frames), data, seed)
    return [frames[i] for i in val_idx]


def errors(potential, frames: Sequence[Frame]) -> dict[str, float]:
    """Errors on labelled frames of a committee (its mean) or of one potential: energy MAE
    per atom (eV/atom), force MAE and RMSE, the 99th percentile of |force component error|,
    and the mean over frames and the maximum of each frame's largest per-atom force error
    (eV/Å); for a committee also the mean per-atom force std and the mean over frames of its
    maximum (eV/Å)."""
    from pesforge.data.batch import collate
    from pesforge.models.autograd import compute
    from pesforge.uncertainty import Ensemble, ensemble_compute

    if not frames:
        return {}
    batch = collate(list(frames), potential.cutoff, dtype=potential.dtype)
    committee = isinstance(potential, Ensemble)
    out = (ensemble_compute(potential, batch) if committee
           else compute(potential.eval(), batch, forces=True))
    n_atoms = batch[K.N_ATOMS].double()
    e_err = ((out[K.ENERGY].detach() - batch[K.REF_ENERGY]) / n_atoms).abs()
    has_f = batch[K.HAS_FORCES][batch[K.SYSTEM]]
    f_err = (out[K.FORCES].detach().double() - batch[K.REF_FORCES].double())[has_f]
    result = {"n_frames": len(frames), "energy_mae_per_atom": float(e_err.mean())}
    if len(f_err):
        worst = per_system_max(f_err.norm(dim=1), batch[K.SYSTEM][has_f], len(frames))
        worst = worst[batch[K.HAS_FORCES].cpu().numpy()]
        result.update(forces_mae=float(f_err.abs().mean()),
                      forces_rmse=float(f_err.pow(2).mean().sqrt()),
                      forces_p99=float(np.quantile(f_err.abs().cpu().numpy(), 0.99)),
                      forces_max_error_mean=float(worst.mean()),
                      forces_max_error=float(worst.max()))
    else:
        result.update(forces_mae=float("nan"), forces_rmse=float("nan"))
    if committee:
        result["forces_std_mean"] = float(out[K.FORCES_STD].mean())
        result["max_forces_std_mean"] = float(np.mean(per_system_max(
            out[K.FORCES_STD], batch[K.SYSTEM], len(frames))))
    return result


def per_system_max(values: torch.Tensor, system: torch.Tensor, n: int) -> np.ndarray:
    """(n,) the largest of ``values`` (A,) over each system's atoms (``system`` (A,) the
    system index of every atom), e.g. the max per-atom force std of each frame."""
    out = torch.full((n,), -torch.inf, dtype=values.dtype)
    return out.scatter_reduce(0, system, values, reduce="amax").numpy()
