"""The active-learning loop: label → train → explore → select → label ..., durable and resumable.

Iteration ``i`` labels the pending calls of the store, (re)trains the committee on every label
so far (warm start from iteration ``i-1``), explores with it, and queues the selected frames as
iteration ``i+1``'s calls. The loop ends when the committee's uncertainty on fresh exploration
falls below the target, when no candidate is uncertain enough to be worth a call, when the
oracle budget is spent, or after ``max_iterations`` trainings. Then, if the config asks for
one, a production model is trained on all labels (:mod:`pesforge.active.final`).

Durability: the store (SQLite) holds every label the moment it arrives and the phase the
campaign is in (``label``, ``train``, ``explore``, ``done``). Each phase is deterministic given
the store, so after ``kill -9`` at any moment ``resume=True`` redoes at most the unfinished
phase, with the same result, and never repeats a finished oracle call (finished calls are
``done`` rows; only ``pending`` rows are sent to the oracle).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pesforge.active import report
from pesforge.active.committee import errors, load_committee, train_committee, validation_frames
from pesforge.active.config import ActiveLearningConfig, OracleSpec
from pesforge.active.explore import explore
from pesforge.active.final import train_final
from pesforge.active.select import readout_descriptor, select
from pesforge.data.frame import Frame
from pesforge.oracles.base import Oracle
from pesforge.oracles.labeling import label_pending
from pesforge.oracles.store import LabelStore
from pesforge.training.config import ConfigError

STORE_FILE = "store.db"
#: Config sections a resumed campaign may change (e.g. more workers, a larger budget, a
#: production model to train on a finished campaign's labels, or the folder it was moved to).
RESUMABLE_CHANGES = ("labeling", "stop", "device", "final", "output")


@dataclass
class ActiveResult:
    """What :func:`run_active_learning` returns."""

    output: Path
    iterations: int
    stop_reason: str
    counts: dict[str, int]
    reports: list[dict[str, Any]]
    final: dict[str, Any] | None = None  # the production model's record (final.json)


def build_oracle(spec: OracleSpec) -> Oracle:
    """The oracle an :class:`OracleSpec` describes."""
    from pesforge.oracles import ASEOracle, PySCFOracle, TBLiteOracle

    if spec.kind == "pyscf":
        return PySCFOracle(spec.preset, **spec.settings)
    if spec.kind == "tblite":
        return TBLiteOracle(**spec.settings)
    if spec.kind == "emt":
        from ase.calculators.emt import EMT

        return ASEOracle(EMT, spec.level_of_theory or {"code": "ase", "method": "EMT"})
    module, _, name = spec.calculator.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"oracle.calculator: cannot import {spec.calculator}: {err}") from err
    return ASEOracle(_Factory(cls, spec.settings), spec.level_of_theory)


class _Factory:
    """A picklable zero-argument factory ``cls(**kwargs)`` (what Dask workers need)."""

    def __init__(self, cls, kwargs):
        self.cls, self.kwargs = cls, dict(kwargs)

    def __call__(self):
        return self.cls(**self.kwargs)


def initial_frames(config: ActiveLearningConfig) -> list[Frame]:
    """The starting structures and ``n_initial - 1`` rattled copies of each (seeded)."""
    from ase.io import read

    path = Path(config.initial)
    if not path.is_file():
        raise FileNotFoundError(f"initial structures {path} do not exist")
    try:
        images = read(str(path), index=":")
    except Exception as err:
        raise ValueError(f"{path}: cannot read structures: {err}") from err
    rng = np.random.default_rng([config.seed, 7])
    frames = []
    for k, atoms in enumerate(images):
        base = Frame(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell.array,
                     pbc=atoms.pbc, source=f"{path}:{k}")
        frames.append(base)
        for _ in range(config.n_initial - 1):
            moved = base.positions + rng.normal(scale=config.rattle, size=base.positions.shape)
            frames.append(Frame(numbers=base.numbers, positions=moved, cell=base.cell,
                                pbc=base.pbc, source=f"{path}:{k} rattled"))
    return frames


def run_active_learning(config: ActiveLearningConfig, resume: bool = False,
                        progress: bool = True) -> ActiveResult:
    """Run (or resume) an active-learning campaign in ``config.output``.

    Raises:
        ConfigError: the folder already holds a campaign and ``resume`` is False, or
            ``resume`` without a campaign, or a resumed campaign with another config.
    """
    output = Path(config.output)
    store_path = output / STORE_FILE
    if store_path.exists() and not resume:
        raise ConfigError(f"{output} already holds an active-learning campaign; pass --resume "
                          f"or choose another output folder")
    if resume and not store_path.exists():
        raise ConfigError(f"cannot resume: {store_path} does not exist")
    oracle = build_oracle(config.oracle)
    first = None if resume else initial_frames(config)  # bad input fails before any file
    output.mkdir(parents=True, exist_ok=True)
    store = LabelStore(store_path)
    saved = store.state.get("config")
    current = config.model_dump(mode="json")
    if saved is not None:
        # options added to pesforge since the campaign began take their defaults
        saved = ActiveLearningConfig.model_validate(saved).model_dump(mode="json")
        changed = sorted(k for k in set(saved) | set(current)
                         if saved.get(k) != current.get(k) and k not in RESUMABLE_CHANGES)
        if changed:
            raise ConfigError(f"cannot resume {output}: the config differs from the "
                              f"campaign's in {', '.join(changed)} (only "
                              f"{', '.join(RESUMABLE_CHANGES)} may change)")
        store.set_state(config=current)
    config.to_yaml(output / "config.yaml")
    if not store.state.get("phase"):
        store.request(first or initial_frames(config), iteration=0, origin="initial")
        store.set_state(config=current, iteration=0, phase="label")
    say = print if progress else (lambda *a, **k: None)
    _iterate(config, store, oracle, output, say)
    final = None
    if config.final is not None:
        say("final model: training on all labels", flush=True)
        final = train_final(config, store, output, progress)
    state = store.state
    reports = [report.update(output, k, {}) for k in range(int(state["iteration"]) + 1)]
    return ActiveResult(output, int(state["iteration"]) + 1, state.get("stop_reason", ""),
                        store.counts(), reports, final)


def _iterate(config: ActiveLearningConfig, store: LabelStore, oracle: Oracle, output: Path,
             say) -> None:
    """Run phases until the campaign is done. The Dask cluster lives only during a labelling
    phase: its event-loop thread would otherwise compete with training for the GIL."""
    while True:
        state = store.state
        it, phase = int(state["iteration"]), state["phase"]
        if phase == "done":
            break
        say(f"iteration {it}: {phase}", flush=True)
        if phase == "label":
            done = label_pending(store, oracle, config.labeling)
            report.update(output, it, {"labeling": {
                "labelled": done.labelled, "failed_attempts": done.failed_attempts,
                "given_up": done.given_up, "seconds": done.seconds}})
            store.set_state(phase="train")
        elif phase == "train":
            tick = time.perf_counter()
            _train(config, store, it, output)
            report.update(output, it, {"train_seconds": time.perf_counter() - tick})
        elif phase == "explore":
            tick = time.perf_counter()
            _explore(config, store, it, output)
            report.update(output, it, {"explore_seconds": time.perf_counter() - tick})


def _train(config: ActiveLearningConfig, store: LabelStore, it: int, output: Path) -> None:
    frames = store.labelled()
    previous = load_committee(output / f"iter_{it - 1:03d}", config.device) if it > 0 else None
    ensemble = train_committee(frames, config.committee, output / f"iter_{it:03d}",
                               seed=config.seed, previous=previous, first=it == 0,
                               device=config.device)
    counts = store.counts()
    record = {"n_labelled": len(frames), "oracle_calls": counts,
              "validation": errors(ensemble, validation_frames(frames, config.committee,
                                                                config.seed))}
    if config.test_file:
        from pesforge.data.readers import read

        record["test"] = errors(ensemble, read(config.test_file))
    report.update(output, it, record)
    report.plot_campaign(output)
    requested = counts["done"] + counts["failed"] + counts["pending"]
    if it + 1 >= config.stop.max_iterations:
        store.set_state(phase="done", stop_reason="max_iterations")
    elif requested >= config.stop.max_oracle_calls:
        store.set_state(phase="done", stop_reason="oracle_budget")
    else:
        store.set_state(phase="explore")


def _explore(config: ActiveLearningConfig, store: LabelStore, it: int, output: Path) -> None:
    folder = output / f"iter_{it:03d}"
    ensemble = load_committee(folder, config.device)
    labelled = store.labelled()
    initial = [f for f in labelled if f.info.get("origin") == "initial"][:1]
    recent = [f for f in reversed(labelled) if f.info.get("origin") != "initial"]
    starts = (initial + recent)[:config.explore.n_starts]
    driver = build_oracle(config.explore.driver) if config.explore.driver else None
    candidates = explore(ensemble, starts, config.explore, seed=[config.seed, it],
                         driver=driver)
    values = np.array([c.max_force_std for c in candidates])
    report.plot_uncertainty(values, config.select.threshold,
                            config.explore.uncertainty_ceiling, folder / "uncertainty.png")
    level = float(np.quantile(values, config.stop.quantile)) if len(values) else 0.0
    counts = store.counts()
    budget = config.stop.max_oracle_calls - (counts["done"] + counts["failed"] +
                                             counts["pending"])
    picked = select([c.frame for c in candidates], values, threshold=config.select.threshold,
                    batch_size=min(config.select.batch_size, budget),
                    cutoff=config.select.descriptor_cutoff, labelled=labelled,
                    strategy=config.select.strategy, seed=[config.seed, it],
                    describe=(readout_descriptor(ensemble)
                              if config.select.space == "committee" else None))
    report.update(output, it, {"exploration": {
        "uncertainty": report.uncertainty_summary(values), "stop_quantile": level,
        "n_candidates": len(candidates), "n_selected": len(picked),
        "n_over_threshold": int((values > config.select.threshold).sum())}})
    if level < config.stop.target_uncertainty:
        store.set_state(phase="done", stop_reason="converged")
        return
    if not picked:
        store.set_state(phase="done", stop_reason="no_uncertain_candidates")
        return
    frames = [candidates[i].frame for i in picked]
    for i, frame in zip(picked, frames):
        frame.source = candidates[i].origin
    store.request(frames, iteration=it + 1, origin=f"explore {it}")
    store.set_state(iteration=it + 1, phase="label")
