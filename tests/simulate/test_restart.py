"""Checkpoint and restart reproduce the uninterrupted run exactly: state, log and trajectory."""

import ase.io
import pytest
import torch

from pesforge.simulate import (ForceField, Langevin, NoseHooverChain, StochasticCellRescaling,
                               init_state, load_checkpoint, resume, run)

from helpers import argon, lj


class Crash(RuntimeError):
    pass


def _start():
    return init_state([argon(size=(2, 2, 1))] * 2, temperature_K=50.0, seed=7)


def _ff(stress):
    return ForceField(lj(), skin=0.3, stress=stress)  # a thin skin: several rebuilds


@pytest.mark.parametrize("integrator,trajectory", [
    (Langevin(5.0, 50.0, 0.02), "traj.extxyz"),
    (NoseHooverChain(5.0, 50.0, 100.0), "traj.traj"),
    (StochasticCellRescaling(5.0, 50.0, pressure_GPa=0.5, tau_p_fs=200.0, mode="triclinic"),
     "traj.extxyz"),
], ids=["langevin", "nhc", "npt"])
def test_restart_is_exact(tmp_path, integrator, trajectory):
    options = dict(log_every=5, trajectory=trajectory, trajectory_every=10, checkpoint_every=20)
    stress = integrator.needs_stress
    whole = _start()
    full = run(whole, integrator, _ff(stress), 60, output=tmp_path / "a", **options)
    assert full.neighbor_builds > 1

    def crash_at_50(state):
        if state.step == 50:
            raise Crash

    broken = _start()
    with pytest.raises(Crash):  # dies after writing frames and log rows past the checkpoint
        run(broken, integrator, _ff(stress), 60, output=tmp_path / "b", callback=crash_at_50,
            **options)
    ff = _ff(stress)
    state, restored, info = resume(tmp_path / "b", ff)
    assert state.step == 40 and restored == integrator
    run(state, restored, ff, 20, output=tmp_path / "b", resume_info=info, **options)

    for name in ("positions", "velocities", "cell", "forces", "energy", "reservoir"):
        assert torch.equal(getattr(state, name), getattr(whole, name)), name
    for key in whole.extra:
        assert torch.equal(state.extra[key], whole.extra[key]), key
    assert torch.equal(state.generator.get_state(), whole.generator.get_state())
    assert (tmp_path / "a/thermo.csv").read_text() == (tmp_path / "b/thermo.csv").read_text()
    frames_a = ase.io.read(tmp_path / "a" / trajectory, ":")
    frames_b = ase.io.read(tmp_path / "b" / trajectory, ":")
    assert len(frames_a) == len(frames_b) == 2 * 7  # steps 0, 10, ..., 60 for two systems
    for fa, fb in zip(frames_a, frames_b):
        assert (fa.positions == fb.positions).all() and fa.info["step"] == fb.info["step"]
    final, _ = load_checkpoint(tmp_path / "b/checkpoint.safetensors")
    assert final.step == 60 and torch.equal(final.positions, whole.positions)


def test_bad_checkpoint_is_named(tmp_path):
    bad = tmp_path / "checkpoint.safetensors"
    bad.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="checkpoint.safetensors"):
        load_checkpoint(bad)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_checkpoint(tmp_path / "missing.safetensors")
