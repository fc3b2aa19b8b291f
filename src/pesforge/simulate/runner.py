"""The MD runner: owns the loop, logging, trajectory, checkpoints, progress and the
uncertainty ceiling; the physics is the integrator's ``(init, step)``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pesforge.simulate.checkpoint import load_checkpoint, save_checkpoint
from pesforge.simulate.forcefield import ForceField
from pesforge.simulate.integrators import Integrator, build_integrator
from pesforge.simulate.reporters import CSVLog, TrajectoryWriter, records, reduce_uncertainty
from pesforge.simulate.state import MDState

CHECKPOINT = "checkpoint.safetensors"
THERMO = "thermo.csv"


@dataclass
class RunResult:
    """What :func:`run` returns: the final state, the logged records (one dict per system and
    logged step, see :func:`pesforge.simulate.reporters.records`), why it stopped, wall time."""

    state: MDState
    records: list[dict] = field(default_factory=list)
    stop_reason: str = "steps"
    wall_s: float = 0.0
    steps_done: int = 0
    neighbor_builds: int = 0


def run(state: MDState, integrator: Integrator, force_field: ForceField, steps: int, *,
        log_every: int = 10, output: str | os.PathLike | None = None,
        trajectory: str | None = None, trajectory_every: int = 0, checkpoint_every: int = 0,
        progress: bool = False, uncertainty_key: str | None = None,
        uncertainty_max: float | None = None, callback: Callable[[MDState], None] | None = None,
        resume_info: dict | None = None) -> RunResult:
    """Advance ``state`` by ``steps`` steps (in place) and return a :class:`RunResult`.

    Args:
        log_every: record thermodynamics every this many steps (and at the first and last).
        output: folder for ``thermo.csv``, the trajectory and ``checkpoint.safetensors``;
            nothing is written without it.
        trajectory: file name inside ``output`` (``.extxyz`` or ``.traj``); frames every
            ``trajectory_every`` steps (0: none).
        checkpoint_every: atomic checkpoint every this many steps (0: only at the end).
        uncertainty_key: output key (e.g. ``"forces_std"``) whose per-system maximum stops the
            run when it exceeds ``uncertainty_max``.
        callback: called with the state at every logged step (e.g. to accumulate an RDF).
        resume_info: the ``info`` of a loaded checkpoint (see :func:`resume`).
    """
    if integrator.needs_stress and not force_field.stress:
        raise ValueError(f"{integrator.name} needs a ForceField with stress=True")
    start = time.perf_counter()
    result = RunResult(state=state)
    folder = Path(output) if output is not None else None
    log = writer = None
    if folder is not None:
        info = resume_info or {}
        log = CSVLog(folder / THERMO, truncate_to=info.get("thermo_bytes"))
        if trajectory and trajectory_every > 0:
            writer = TrajectoryWriter(folder / trajectory, resume_from=info.get("trajectory"))
    with_pressure = force_field.stress

    def report():
        rows = records(state, with_pressure)
        result.records.extend(rows)
        if log is not None:
            log.write(rows)
        if callback is not None:
            callback(state)

    def checkpoint():
        if folder is None:
            return
        info = {"integrator": integrator.config(),
                "thermo_bytes": log.position() if log else 0,
                "trajectory": writer.position() if writer else None}
        save_checkpoint(folder / CHECKPOINT, state, neighbors=force_field.neighbors, info=info)

    if not state.initialized:
        integrator.init(state, force_field)
        state.initialized = True
        report()
        if writer is not None:
            writer.write(state)
    else:
        integrator.prepare(state)
        if integrator.needs_stress and not bool(state.stress.any()):
            force_field(state)  # e.g. NPT after an NVT run evaluated without stress
    if uncertainty_key is not None and uncertainty_key not in state.outputs:
        raise ValueError(f"uncertainty_key {uncertainty_key!r} is not an output of this model "
                         f"(it gives {sorted(state.outputs) or 'no extra outputs'}); an ensemble "
                         f"(pesforge.uncertainty.Ensemble) gives energy_std and forces_std")
    bar, task = _progress(progress, steps, integrator.name)
    first = state.step
    try:
        for _ in range(steps):
            integrator.step(state, force_field)
            done = state.step - first
            last = done == steps
            if state.step % log_every == 0 or last:
                report()
                if bar is not None:
                    bar.update(task, completed=done)
            if writer is not None and state.step % trajectory_every == 0:
                writer.write(state)
            exceeded = _ceiling(state, uncertainty_key, uncertainty_max)
            if exceeded:
                result.stop_reason = exceeded
                if state.step % log_every != 0 and not last:
                    report()
                break
            if checkpoint_every and state.step % checkpoint_every == 0 and not last:
                checkpoint()
    finally:
        if bar is not None:
            bar.stop()
    checkpoint()
    result.steps_done = state.step - first
    result.wall_s = time.perf_counter() - start
    result.neighbor_builds = force_field.neighbors.n_builds
    return result


def resume(output: str | os.PathLike, force_field: ForceField, device="cpu"
           ) -> tuple[MDState, Integrator, dict]:
    """Load ``output/checkpoint.safetensors``: ``(state, integrator, info)``; the force field's
    neighbour cache is restored too. Pass ``info`` to :func:`run` as ``resume_info``."""
    state, info = load_checkpoint(Path(output) / CHECKPOINT, device,
                                  neighbors=force_field.neighbors)
    return state, build_integrator(info["integrator"]), info


def _ceiling(state: MDState, key: str | None, limit: float | None) -> str:
    """A stop reason when the per-system maximum of output ``key`` exceeds ``limit``, else ''."""
    if key is None or limit is None:
        return ""
    value = reduce_uncertainty(state).get(key)
    if value is None or not bool((value > limit).any()):
        return ""
    worst = int(value.argmax())
    return (f"uncertainty ceiling: {key} = {float(value[worst]):.4g} > {limit} in system "
            f"{worst} at step {state.step}")


def _progress(enabled: bool, steps: int, name: str):
    if not enabled:
        return None, None
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                               TimeRemainingColumn)

    bar = Progress(TextColumn(f"MD ({name})"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
    bar.start()
    return bar, bar.add_task("md", total=steps)
