"""The active-learning loop with real oracles (EMT on a Cu cell, GFN2-xTB on water)."""

import json
import shutil

import numpy as np
import pytest
import torch
import yaml
from active_helpers import TINY_MODEL, cu_config

from pesforge.active import ActiveLearningConfig, run_active_learning
from pesforge.models.io import load_model, read_header
from pesforge.oracles import LabelStore
from pesforge.training.config import ConfigError


def test_emt_cu_two_iterations(cu_file, tmp_path):
    config = ActiveLearningConfig.model_validate(cu_config(cu_file, tmp_path / "run"))
    result = run_active_learning(config, progress=False)
    assert result.stop_reason == "max_iterations" and result.iterations == 2
    store = LabelStore(tmp_path / "run" / "store.db")
    labelled = store.labelled()
    # 4 initial frames, then a batch of 2 selected from exploration
    assert len(labelled) == 6 and result.counts == {"pending": 0, "done": 6, "failed": 0,
                                                     "attempts": 6}
    assert [f.info["iteration"] for f in labelled] == [0, 0, 0, 0, 1, 1]
    assert all(f.stress is not None and f.level_of_theory.method == "EMT" for f in labelled)
    selected = labelled[4:]
    assert all(f.info["origin"] == "explore 0" for f in selected)
    assert not np.allclose(selected[0].positions, selected[1].positions)
    # the per-iteration report, and a warm start of the second round
    reports = json.loads((tmp_path / "run" / "report.json").read_text())
    assert [r["n_labelled"] for r in reports] == [4, 6]
    explored = reports[0]["exploration"]
    assert explored["n_candidates"] > 2 and explored["n_selected"] == 2
    assert reports[1]["validation"]["forces_mae"] > 0
    for name in ("learning_curve.png", "iter_000/uncertainty.png"):
        assert (tmp_path / "run" / name).stat().st_size > 1000
    head = read_header(tmp_path / "run" / "iter_001" / "member_00" / "model.safetensors")
    assert head["extra"]["warm_start"] is True
    # ... which keeps the last round's weights but this round's data statistics
    first, second = (load_model(tmp_path / "run" / f"iter_00{i}" / "member_00" /
                                "model.safetensors") for i in (0, 1))
    assert not torch.equal(first.feature_std, second.feature_std)
    with pytest.raises(ConfigError, match="already holds"):
        run_active_learning(config, progress=False)
    changed = cu_config(cu_file, tmp_path / "run", **{"committee.n_models": 3})
    with pytest.raises(ConfigError, match="in committee"):
        run_active_learning(ActiveLearningConfig.model_validate(changed), resume=True)
    allowed = cu_config(cu_file, tmp_path / "run", **{"labeling.max_attempts": 3})
    again = run_active_learning(ActiveLearningConfig.model_validate(allowed), resume=True,
                                progress=False)
    assert again.counts == result.counts and again.stop_reason == "max_iterations"
    # a campaign begun before an option existed resumes with that option's default
    store = LabelStore(tmp_path / "run" / "store.db")
    older = store.state["config"]
    del older["committee"]["model"]["equivariant"]["radial_basis"]
    store.set_state(config=older)
    later = run_active_learning(ActiveLearningConfig.model_validate(allowed), resume=True,
                                progress=False)
    assert later.counts == result.counts
    # a campaign moved to another folder resumes there
    shutil.copytree(tmp_path / "run", tmp_path / "moved")
    moved = cu_config(cu_file, tmp_path / "moved", **{"labeling.max_attempts": 3})
    there = run_active_learning(ActiveLearningConfig.model_validate(moved), resume=True,
                                progress=False)
    assert there.counts == result.counts and there.output == tmp_path / "moved"


def test_tblite_water_two_iterations(water_file, tmp_path):
    config = ActiveLearningConfig.model_validate({
        "initial": str(water_file), "oracle": {"kind": "tblite"}, "output": str(tmp_path / "w"),
        "n_initial": 4, "rattle": 0.04,
        "committee": {"n_models": 2, "model": TINY_MODEL, "max_epochs": 6, "n_validation": 1},
        "explore": {"temperatures": [500.0], "n_steps": 20, "sample_every": 4,
                    "timestep": 0.5, "uncertainty_ceiling": 100.0,
                    "bias": {"kind": "uncertainty", "strength": 0.5}},
        "select": {"threshold": 0.0, "batch_size": 3, "strategy": "lcmd",
                   "space": "committee"},
        "labeling": {"cluster": "serial"},
        "stop": {"max_iterations": 2, "target_uncertainty": 0.0}})
    result = run_active_learning(config, progress=False)
    assert result.iterations == 2 and result.counts["done"] == 7
    labelled = LabelStore(tmp_path / "w" / "store.db").labelled()
    assert all(f.level_of_theory.method == "GFN2-xTB" and f.stress is None for f in labelled)


def test_a_driver_oracle_explores_for_the_loop(cu_file, tmp_path):
    """explore.driver: EMT drives the MD; no trajectory stops at the (tiny) ceiling, so each
    of the 2 temperatures x 2 strains yields n_steps / sample_every = 4 candidates. The picks
    are D-optimal in the committee's feature space (a periodic cell)."""
    tree = cu_config(cu_file, tmp_path / "d", **{"explore.driver": {"kind": "emt"},
                                                  "explore.uncertainty_ceiling": 1e-9,
                                                  "select.strategy": "max_determinant",
                                                  "select.space": "committee"})
    result = run_active_learning(ActiveLearningConfig.model_validate(tree), progress=False)
    assert result.iterations == 2 and result.counts["done"] == 6
    reports = json.loads((tmp_path / "d" / "report.json").read_text())
    assert reports[0]["exploration"]["n_candidates"] == 16


def test_budget_and_convergence_stop_with_dask(cu_file, tmp_path):
    tree = cu_config(cu_file, tmp_path / "b", **{"stop.max_oracle_calls": 5,
                                                  "stop.max_iterations": 5,
                                                  "labeling": {"cluster": "local",
                                                               "processes": False}})
    result = run_active_learning(ActiveLearningConfig.model_validate(tree), progress=False)
    assert result.stop_reason == "oracle_budget" and result.counts["done"] == 5
    tree = cu_config(cu_file, tmp_path / "c", **{"stop.target_uncertainty": 100.0,
                                                  "stop.max_iterations": 5})
    result = run_active_learning(ActiveLearningConfig.model_validate(tree), progress=False)
    assert result.stop_reason == "converged" and result.counts["done"] == 4


def test_config_errors_name_the_field(tmp_path, cu_file):
    from pesforge.active import load_active_config

    path = tmp_path / "al.yaml"
    tree = cu_config(cu_file, tmp_path / "x")
    tree["explore"]["temperatres"] = [300]
    path.write_text(yaml.safe_dump(tree))
    with pytest.raises(ConfigError, match="explore.temperatres: unknown key"):
        load_active_config(path)
    tree = cu_config(cu_file, tmp_path / "x", **{"explore.bias": {"kind": "metadynamics"}})
    path.write_text(yaml.safe_dump(tree))
    with pytest.raises(ConfigError, match="needs atoms"):
        load_active_config(path)


def test_cli_reports_bad_input_on_one_line(tmp_path):
    from typer.testing import CliRunner

    from pesforge.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["active-learn", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 1 and "does not exist" in result.output
    path = tmp_path / "al.yaml"
    path.write_text(yaml.safe_dump({"initial": str(tmp_path / "none.xyz"),
                                    "oracle": {"kind": "emt"}, "output": str(tmp_path / "o")}))
    result = runner.invoke(app, ["active-learn", str(path), "--resume"])
    assert result.exit_code == 1 and "cannot resume" in result.output
    result = runner.invoke(app, ["active-learn", str(path)])
    assert result.exit_code == 1 and "none.xyz" in result.output
    assert not (tmp_path / "o" / "store.db").exists()


def test_final_model_trained_on_a_finished_campaigns_labels(cu_file, tmp_path):
    """``final`` added to a finished campaign: resuming trains the production model on every
    label, with no new oracle call; its recorded test errors are those of the saved file, and
    a second resume (a finished checkpoint) gives the same record."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from pesforge.active.committee import errors
    from pesforge.data.frame import Frame
    from pesforge.data.readers import read
    from pesforge.data.writers import write_extxyz

    rng = np.random.default_rng(0)
    test = []
    for _ in range(3):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        atoms.calc = EMT()
        test.append(Frame(numbers=atoms.numbers, positions=atoms.positions,
                          cell=atoms.cell.array, pbc=atoms.pbc,
                          energy=atoms.get_potential_energy(), forces=atoms.get_forces()))
    write_extxyz(tmp_path / "test.xyz", test, prefix="")
    tree = cu_config(cu_file, tmp_path / "f", **{"stop.max_iterations": 1,
                                                  "test_file": str(tmp_path / "test.xyz")})
    first = run_active_learning(ActiveLearningConfig.model_validate(tree), progress=False)
    assert first.final is None and not (tmp_path / "f" / "final.json").exists()
    tree["final"] = {"model": {"name": "equivariant", "cutoff": 4.0, "dtype": "float64",
                               "equivariant": {"channels": 4, "lmax": 1, "interactions": 1,
                                               "correlation": 2, "n_radial": 4,
                                               "radial_hidden": 8, "readout_hidden": 4}},
                     "optimizer": {"max_epochs": 3, "batch_size": 2},
                     "validation_fraction": 0.25}
    config = ActiveLearningConfig.model_validate(tree)
    done = run_active_learning(config, resume=True, progress=False)
    assert done.counts == first.counts  # no oracle call
    record = json.loads((tmp_path / "f" / "final.json").read_text())
    assert record == done.final
    assert record["n_labelled"] == first.counts["done"] == 4 and record["epochs"] == 3
    assert record["model"] == "equivariant" and record["stop_reason"] == "max_epochs"
    labels = read(tmp_path / "f" / "final" / "labels.xyz", energy_key="REF_energy",
                  forces_key="REF_forces", stress_key="REF_stress")
    stored = LabelStore(tmp_path / "f" / "store.db").labelled()
    assert [f.energy for f in labels] == [f.energy for f in stored]
    model = load_model(record["model_file"])
    assert model.name == "equivariant"
    again = errors(model, read(tmp_path / "test.xyz"))
    assert again["forces_mae"] == pytest.approx(record["test"]["forces_mae"], rel=1e-9)
    assert "forces_std_mean" not in again  # one model, no committee spread
    repeat = run_active_learning(config, resume=True, progress=False)
    assert repeat.final["test"] == record["test"] and repeat.final["epochs"] == 3
