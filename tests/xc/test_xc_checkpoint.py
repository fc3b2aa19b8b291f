"""Per-step training checkpoints: an interrupted run, resumed, ends with bit-identical
parameters and history, and repeats no SCF."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("pyscf")

from pesforge.xc import training  # noqa: E402
from pesforge.xc.references import load_references  # noqa: E402
from pesforge.xc.training import CHECKPOINT, XCTrainConfig, train_xc  # noqa: E402


class Interrupt(Exception):
    pass


def config(**changes) -> XCTrainConfig:
    # scf_every=2: densities are re-converged at steps 2 and 4, so the resume (after step 2)
    # must restore the step-2 densities and reproduce the step-4 refresh
    base = dict(reactions=["AE(H2)"], sie_species=["H"], frac_charge_species=[],
                frac_spin_species=["H"], frac_spin_weight=0.1, steps=5, scf_every=2, lr=5e-2,
                grid_level=0, model={"hidden": 4})
    return XCTrainConfig(**{**base, **changes})


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path, monkeypatch, single_thread):
    refs = load_references()
    full = train_xc(config(), refs, output=tmp_path / "full")

    def stop_after_step_2(record):
        if record["step"] == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_xc(config(), refs, output=tmp_path / "run", callback=stop_after_step_2)
    assert (tmp_path / "run" / CHECKPOINT).is_file()
    assert not (tmp_path / "run" / "xc.safetensors").exists()

    calls = []
    original = training.converge_state
    monkeypatch.setattr(training, "converge_state",
                        lambda state, *a, **k: calls.append(state.name) or original(state, *a,
                                                                                      **k))
    steps = []
    resumed = train_xc(config(), refs, output=tmp_path / "run", resume=True,
                       callback=lambda r: steps.append(r["step"]))
    assert steps == [3, 4]  # continues after the last completed step
    n_states = len(full.samples)
    assert len(calls) == n_states  # only the step-4 refresh: no repeated SCF
    for (name, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(resumed.history) == strip(full.history)
    assert (tmp_path / "run" / "xc.safetensors").is_file()


def test_resume_guards(tmp_path):
    refs = load_references()
    train_xc(config(steps=1, scf_every=0), refs, output=tmp_path)
    with pytest.raises(ValueError, match="already holds"):
        train_xc(config(steps=1, scf_every=0), refs, output=tmp_path)
    with pytest.raises(ValueError, match="lr"):
        train_xc(config(steps=2, scf_every=0, lr=1e-3), refs, output=tmp_path, resume=True)
    with pytest.raises(FileNotFoundError, match="cannot resume"):
        train_xc(config(), refs, output=tmp_path / "empty", resume=True)
    more = train_xc(config(steps=2, scf_every=0), refs, output=tmp_path, resume=True)
    assert [r["step"] for r in more.history] == [0, 1]  # steps may grow on resume
