"""The training loop: AdamW on the weighted loss, EMA weights, a plateau or cosine learning-rate
schedule, early stopping, a time budget, and a checkpoint after every epoch from which a
resumed run replays exactly.

Determinism: the model is initialised from ``torch.manual_seed(seed)``, the split is a function
of the seed, and the batch order of epoch k is ``np.random.default_rng([seed, k]).permutation``.
Everything else that changes during training (weights, EMA, optimiser and scheduler state,
best model, history) is in the checkpoint, so stopping after epoch k and resuming gives the
same losses as an uninterrupted run (bit-for-bit on the same machine and thread count).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pesforge.fileio import write_json
from pesforge.models.potential import Potential
from pesforge.training import prepare
from pesforge.training.batches import BatchSource
from pesforge.training.checkpoint import load_checkpoint, save_checkpoint
from pesforge.training.config import ConfigError, TrainConfig
from pesforge.training.ema import EMA
from pesforge.training.losses import TERMS, LossAccumulator, LossWeights, loss
from pesforge.training.outputs import write_outputs

CHECKPOINT = Path("checkpoint") / "last.safetensors"
#: Config fields a resumed run may change; anything else must match the checkpoint.
RESUMABLE_CHANGES = ("output", "max_minutes", "device", "optimizer.max_epochs",
                     "optimizer.early_stopping_patience")


@dataclass
class TrainResult:
    """What :func:`train` returns: the best (EMA) model, its metrics and the run folder."""

    model: Potential
    metrics: dict[str, Any]
    output: Path
    history: list[dict[str, Any]]
    stop_reason: str


@dataclass
class _State:
    """Everything that changes during training, besides the optimiser and scheduler."""

    epoch: int = 0
    best_val: float | None = None
    best_epoch: int = 0
    bad_epochs: int = 0
    best_weights: dict[str, torch.Tensor] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Run:
    """The fixed ingredients of one run."""

    config: TrainConfig
    model: Potential
    data: prepare.TrainingData
    train_source: BatchSource
    val_batches: list[dict[str, torch.Tensor]]
    weights: LossWeights
    forces: bool
    stress: bool
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau
    ema: EMA
    baseline: Potential | None = None
    charges: bool = False  # predict charges and dipoles for the charge/dipole loss terms


def train(config: TrainConfig, progress: bool = True, resume: bool = False) -> TrainResult:
    """Train a potential as ``config`` describes and write the run folder.

    Writes ``config.yaml``, ``resolved.json``, ``checkpoint/last.safetensors`` (every epoch),
    and at the end ``model.safetensors`` (best validation EMA weights), ``metrics.json``,
    ``training_curve.png`` and parity plots.

    Args:
        config: the run's configuration.
        progress: show a progress bar and per-epoch losses.
        resume: continue from ``output/checkpoint/last.safetensors``; the config must match
            the checkpoint's except for :data:`RESUMABLE_CHANGES`.

    Raises:
        ConfigError: resuming without a checkpoint, a checkpoint from another config, or an
            output folder that already holds a run when not resuming.
        DataError, LevelOfTheoryError, FileNotFoundError: unusable data.
    """
    start_time = time.monotonic()
    output = Path(config.output)
    checkpoint = output / CHECKPOINT
    if resume and not checkpoint.is_file():
        raise ConfigError(f"cannot resume: {checkpoint} does not exist")
    if not resume and checkpoint.exists():
        raise ConfigError(f"{output} already holds a training run; pass resume (--resume) or "
                          f"choose another output folder")
    run, resolved = _setup(config)
    state = _State()
    if resume:
        _restore(run, state, load_checkpoint(checkpoint))
    output.mkdir(parents=True, exist_ok=True)
    config.to_yaml(output / "config.yaml")  # on resume: with the new max_epochs etc.
    write_json(output / "resolved.json", resolved)
    stop_reason = _fit(run, state, checkpoint, start_time, progress)
    if state.best_weights is not None:
        run.model.load_state_dict(state.best_weights)
    else:  # the time ran out before the first epoch finished
        run.ema.copy_to(run.model)
    resolved["training"] = {"epochs": state.epoch, "best_epoch": state.best_epoch,
                            "best_val_loss": state.best_val, "stop_reason": stop_reason,
                            "loss_weights": {k: w for k, w in run.weights.as_dict().items()
                                             if k in TERMS or w > 0}}
    deployable = run.model if run.baseline is None else run.baseline + run.model
    metrics = write_outputs(output, run.model, run.data, state.history, resolved,
                            device=config.device, composite=deployable)
    return TrainResult(model=deployable, metrics=metrics, output=output, history=state.history,
                       stop_reason=stop_reason)


def _setup(config: TrainConfig) -> tuple[_Run, dict]:
    from pesforge.training.factory import build_model

    torch.manual_seed(config.seed)
    data = prepare.load_training_data(config.data, config.seed)
    baseline_model = None
    if config.baseline is not None:  # Δ-learning: the labels become label - baseline
        from pesforge.training import baseline

        data.train, data.validation, data.test, baseline_model = baseline.apply(
            data.train, data.validation, data.test, config.data, config.baseline,
            data.train_indices, data.validation_indices, config.output, device=config.device)
    model = build_model(config.model, data.elements, data.train)
    if config.loss.kind == "gaussian_nll":  # the likelihood needs predicted variances
        from pesforge.uncertainty.noise import with_noise_head

        model = with_noise_head(model, config.loss.variance_hidden, config.model.activation)
    train_graphs = prepare.graphs_of(data.train, model.cutoff)
    statistics = prepare.fit_statistics(model, data.train, train_graphs, data.elements)
    model = model.to(config.device)
    weights = LossWeights(*config.loss.weights(), kind=config.loss.kind,
                          charges=config.loss.charges_weight, dipole=config.loss.dipole_weight)
    everything = data.train + data.validation
    forces = weights.forces > 0 and any(f.forces is not None for f in everything)
    stress = weights.stress > 0 and any(f.stress is not None for f in everything)
    charges = _charge_terms(weights, model, everything)
    sources = [BatchSource(model, frames, graphs, use_cache=config.feature_cache, stress=stress,
                           device=config.device)
               for frames, graphs in ((data.train, train_graphs),
                                      (data.validation,
                                       prepare.graphs_of(data.validation, model.cutoff)))]
    val_batches = sources[1].batches(config.optimizer.batch_size)
    opt = config.optimizer
    optimizer = torch.optim.AdamW(model.parameters(), lr=opt.lr, weight_decay=opt.weight_decay)
    if opt.scheduler.kind == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=opt.max_epochs, eta_min=opt.scheduler.min_lr)
    else:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=opt.scheduler.factor,
            patience=opt.scheduler.patience, min_lr=opt.scheduler.min_lr)
    ema = EMA(model, opt.ema_decay or 0.0)
    run = _Run(config, model, data, sources[0], val_batches, weights, forces, stress,
               optimizer, scheduler, ema, baseline_model, charges)
    resolved = prepare.resolved_record(data, statistics, model, config.seed)
    if config.baseline is not None:
        resolved["baseline"] = config.baseline.model_dump(exclude_none=True)
    resolved["feature_cache"] = sources[0].cache is not None
    return run, resolved


def _charge_terms(weights: LossWeights, model: Potential, frames) -> bool:
    """Whether the charge/dipole loss terms are active (a weight > 0 and labels to match);
    raises ConfigError when they cannot be: no charge model, or dipoles of periodic frames."""
    from pesforge.training.batches import has_charge_model

    if weights.dipole > 0:
        periodic = [f for f in frames if f.dipole is not None and f.pbc.any()]
        if periodic:
            raise ConfigError(f"loss.dipole_weight > 0, but {len(periodic)} frame(s) with dipole "
                              f"labels are periodic (e.g. {periodic[0].source}): the dipole "
                              f"sum_i q_i r_i of a periodic cell is ill-defined; use "
                              f"loss.charges_weight, or dipole labels of molecules only")
    active = [name for name, weight, attribute in (("charges", weights.charges, "charges"),
                                                   ("dipole", weights.dipole, "dipole"))
              if weight > 0 and any(getattr(f, attribute) is not None for f in frames)]
    if active and not has_charge_model(model):
        raise ConfigError(f"loss.{active[0]}_weight > 0 needs a model with a charge model: add "
                          f"a Coulomb term, e.g. model.terms: [{{name: coulomb, charges: "
                          f"{{kind: learned, elements: [...]}}}}]")
    return bool(active)


def _fit(run: _Run, state: _State, checkpoint: Path, start_time: float, progress: bool) -> str:
    """Run epochs until max_epochs, early stopping or the time budget; returns the reason."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.progress import TimeElapsedColumn

    config = run.config
    opt = config.optimizer
    deadline = None if config.max_minutes is None else start_time + 60.0 * config.max_minutes
    reason = "max_epochs"
    if opt.early_stopping_patience and state.bad_epochs >= opt.early_stopping_patience:
        return "early_stopping"
    columns = (TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("", total=opt.max_epochs, completed=state.epoch)
        while state.epoch < opt.max_epochs:
            epoch = state.epoch + 1
            tick = time.monotonic()
            train_loss = _train_epoch(run, epoch, deadline)
            if train_loss is None:
                reason = "time_budget"
                break
            val_loss, components = _validate(run)
            if isinstance(run.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                run.scheduler.step(val_loss)
            else:
                run.scheduler.step()
            _record(run, state, epoch, train_loss, val_loss, components, time.monotonic() - tick)
            save_checkpoint(checkpoint, _snapshot(run, state))
            summary = f"train {train_loss:.4g}  val {val_loss:.4g}"
            bar.update(task, completed=epoch, description=summary)
            if progress and not bar.console.is_terminal:  # a log file gets one line per epoch
                bar.console.print(f"epoch {epoch}: {summary}  "
                                  f"lr {state.history[-1]['lr']:.3g}")
            if opt.early_stopping_patience and state.bad_epochs >= opt.early_stopping_patience:
                reason = "early_stopping"
                break
            if deadline is not None and time.monotonic() > deadline:
                reason = "time_budget"
                break
    return reason


def _train_epoch(run: _Run, epoch: int, deadline: float | None) -> float | None:
    """One pass over the training frames in the order fixed by (seed, epoch); the mean loss
    per system, or None when the deadline passed before the epoch finished."""
    config, model = run.config, run.model
    order = np.random.default_rng([config.seed, epoch]).permutation(len(run.data.train))
    size = config.optimizer.batch_size
    total, n_seen = 0.0, 0
    model.train()
    for start in range(0, len(order), size):
        if deadline is not None and time.monotonic() > deadline:
            return None
        idx = order[start:start + size]
        batch = run.train_source.batch(idx)
        run.optimizer.zero_grad(set_to_none=True)
        pred = run.train_source.predict(model, batch, forces=run.forces, stress=run.stress,
                                        training=True, charges=run.charges)
        value, _ = loss(pred, batch, run.weights)
        value.backward()
        if config.optimizer.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.optimizer.grad_clip)
        run.optimizer.step()
        run.ema.update()
        total += float(value.detach()) * len(idx)
        n_seen += len(idx)
    return total / n_seen


def _validate(run: _Run) -> tuple[float, dict[str, float]]:
    """Loss of the EMA weights on the whole validation set (exact, not a mean of batches)."""
    acc = LossAccumulator()
    run.model.eval()
    with run.ema.applied() as model:
        for batch in run.val_batches:
            acc.add(BatchSource.predict(model, batch, forces=run.forces, stress=run.stress,
                                        training=False, charges=run.charges), batch)
    return acc.result(run.weights)


def _record(run: _Run, state: _State, epoch: int, train_loss: float, val_loss: float,
            components: dict[str, float], seconds: float) -> None:
    state.epoch = epoch
    if state.best_val is None or val_loss < state.best_val:
        state.best_val, state.best_epoch, state.bad_epochs = val_loss, epoch, 0
        with run.ema.applied() as model:
            state.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    else:
        state.bad_epochs += 1
    state.history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                          **{f"val_{k}_mse": v for k, v in components.items()},
                          "lr": run.optimizer.param_groups[0]["lr"], "seconds": seconds})


def _snapshot(run: _Run, state: _State) -> dict[str, Any]:
    ema_tensors, ema_scalars = run.ema.state_dict()
    return {"epoch": state.epoch, "best_val": state.best_val, "best_epoch": state.best_epoch,
            "bad_epochs": state.bad_epochs, "history": state.history,
            "model": run.model.state_dict(), "best": state.best_weights,
            "ema": {"tensors": ema_tensors, "scalars": ema_scalars},
            "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "config": run.config.model_dump(mode="json")}


def _restore(run: _Run, state: _State, saved: dict[str, Any]) -> None:
    _check_resumable(saved["config"], run.config.model_dump(mode="json"))
    device = run.config.device
    run.model.load_state_dict(saved["model"])
    run.ema.load_state_dict({k: v.to(device) for k, v in saved["ema"]["tensors"].items()},
                            saved["ema"]["scalars"])
    run.optimizer.load_state_dict(saved["optimizer"])
    run.scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["torch_rng"])
    state.epoch, state.best_val = int(saved["epoch"]), saved["best_val"]
    state.best_epoch, state.bad_epochs = int(saved["best_epoch"]), int(saved["bad_epochs"])
    state.best_weights = saved["best"]
    state.history = list(saved["history"])


def _flat(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _check_resumable(saved: dict[str, Any], current: dict[str, Any]) -> None:
    old, new = _flat(saved), _flat(current)
    changed = sorted(k for k in set(old) | set(new)
                     if old.get(k) != new.get(k) and k not in RESUMABLE_CHANGES)
    if changed:
        detail = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in changed)
        raise ConfigError(f"cannot resume: the config differs from the checkpoint's ({detail})")
