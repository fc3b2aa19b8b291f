import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from pesforge.cli.main import app
from pesforge.data.datasets import bundled_path
from pesforge.training.metrics import METRIC_KEYS

runner = CliRunner()
# torch's forward-mode autograd (used by the descriptor cache) warns about its own internals.


def ethanol_npz(path, start, stop):
    data = np.load(bundled_path("rmd17_ethanol_train_01.npz"))
    np.savez(path, nuclear_charges=data["nuclear_charges"], coords=data["coords"][start:stop],
             energies=data["energies"][start:stop], forces=data["forces"][start:stop])
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """``pesforge train CONFIG --train-file ... --output ...`` on 20 frames: (folder, result)."""
    folder = tmp_path_factory.mktemp("cli")
    ethanol_npz(folder / "train.npz", 100, 120)
    ethanol_npz(folder / "test.npz", 600, 606)
    config = {"data": {"n_validation": 4},
              "model": {"hidden": [8], "n_radial": 4, "n_angular_shells": 2,
                        "dtype": "float64"},
              "optimizer": {"batch_size": 8, "max_epochs": 5}, "seed": 1}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    result = runner.invoke(app, ["train", str(folder / "config.yaml"),
                                 "--train-file", str(folder / "train.npz"),
                                 "--test-file", str(folder / "test.npz"),
                                 "--output", str(folder / "run"), "--seed", "7",
                                 "--max-epochs", "2", "--no-progress"])
    return folder, result


def test_train_writes_a_model_and_flags_override_yaml(trained):
    folder, result = trained
    assert result.exit_code == 0, result.output
    assert "stopped: max_epochs after 2 epoch(s)" in result.stdout
    assert (folder / "run" / "model.safetensors").is_file()
    saved = yaml.safe_load((folder / "run" / "config.yaml").read_text())
    assert saved["seed"] == 7 and saved["optimizer"]["max_epochs"] == 2
    assert saved["model"]["hidden"] == [8] and saved["data"]["n_validation"] == 4


def test_evaluate_json_is_one_object_with_the_metric_keys(trained):
    folder, _ = trained
    result = runner.invoke(app, ["evaluate", "--model", str(folder / "run/model.safetensors"),
                                 "--data", str(folder / "test.npz"), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert tuple(metrics) == METRIC_KEYS
    assert metrics["n_frames"] == 6
    stored = json.loads((folder / "run" / "metrics.json").read_text())["test"]
    assert metrics["force_mae_meV_per_A"] == pytest.approx(stored["force_mae_meV_per_A"],
                                                           rel=1e-10)


def test_evaluate_table(trained):
    folder, _ = trained
    result = runner.invoke(app, ["evaluate", "--model", str(folder / "run/model.safetensors"),
                                 "--data", str(folder / "test.npz")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any(line.strip().startswith("energy / atom") and "meV/atom" in line for line in lines)
    assert any(line.strip().startswith("forces") and "meV/Å" in line for line in lines)


def test_resume_without_config_uses_the_run_folder(trained):
    folder, _ = trained
    result = runner.invoke(app, ["train", "--resume", "--output", str(folder / "run"),
                                 "--max-epochs", "3", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "after 3 epoch(s)" in result.stdout


def assert_one_line_error(result, *fragments):
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_bad_inputs_give_one_line_errors(trained, tmp_path):
    folder, _ = trained
    model = str(folder / "run/model.safetensors")
    assert_one_line_error(runner.invoke(app, ["evaluate", "--model", model, "--data",
                                              str(tmp_path / "missing.xyz")]), "missing.xyz")
    broken = tmp_path / "broken.xyz"
    broken.write_text("3\nProperties=species:S:1:pos:R:3 energy=1.0\nH 0 0 0\nH 0 0 1\n")
    assert_one_line_error(runner.invoke(app, ["evaluate", "--model", model, "--data",
                                              str(broken)]), "broken.xyz")
    typo = tmp_path / "typo.yaml"
    typo.write_text("data:\n  train_file: x.npz\nmodel:\n  hiden: [4]\n")
    assert_one_line_error(runner.invoke(app, ["train", str(typo)]), "model.hiden", "unknown key")
    assert_one_line_error(runner.invoke(app, ["evaluate", "--model", str(folder / "test.npz"),
                                              "--data", str(folder / "test.npz")]),
                          "test.npz")


def test_demo_calls_run_demo_with_the_output(monkeypatch, tmp_path):
    import pesforge.demo

    seen = {}
    summary = {"energy_mae_meV_per_atom": 1.0, "force_mae_meV_per_A": 20.0, "n_frames": 1000}
    md = {"steps": 10, "total_energy_drift_meV_per_atom_per_ps": 0.01}

    def fake(output):
        seen["output"] = output
        return {"test": summary, "md": md}

    monkeypatch.setattr(pesforge.demo, "run_demo", fake)
    result = runner.invoke(app, ["demo", "--output", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert str(seen["output"]) == str(tmp_path / "d")
    assert "report.md" in result.output
