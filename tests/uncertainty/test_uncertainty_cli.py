"""``pesforge evaluate`` on an ensemble and ``pesforge train-ensemble``."""

import json

from typer.testing import CliRunner

from pesforge.cli.main import app

runner = CliRunner()


def test_evaluate_reports_calibration_for_ensembles(trained, ethanol_files):
    for model in (trained.output, trained.output / "ensemble.safetensors"):
        result = runner.invoke(app, ["evaluate", "--model", str(model), "--data",
                                     ethanol_files[1]])
        assert result.exit_code == 0, result.output
        assert "energy std" in result.output and "Spearman" in result.output
        assert "miscal. area" in result.output and "forces_per_frame" in result.output
    result = runner.invoke(app, ["evaluate", "--model", str(trained.output), "--data",
                                 ethanol_files[1], "--json"])
    metrics = json.loads(result.output)
    cal = metrics["calibration"]
    assert set(cal) == {"energy", "forces", "forces_per_atom", "forces_per_frame"}
    assert cal["energy"]["n"] == 8 and cal["forces"]["n"] == 8 * 9 * 3
    assert -1 <= cal["forces_per_frame"]["spearman_rms"] <= 1
    assert metrics["n_frames"] == 8


def test_train_ensemble_command_errors_are_one_line(tmp_path, ethanol_files):
    result = runner.invoke(app, ["train-ensemble", "--train-file", ethanol_files[0],
                                 "--output", str(tmp_path / "none"), "--resume"])
    assert result.exit_code == 1
    assert "cannot resume" in result.output and "Traceback" not in result.output
