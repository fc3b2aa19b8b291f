"""``pesforge md CONFIG.yaml``: runs, writes an ASE-readable trajectory, resumes, and rejects
bad configs with a one-line error naming the file and field."""

import ase.io
from typer.testing import CliRunner

from pesforge.cli.main import app

from helpers import argon

CONFIG = """\
potential: {{name: lennard_jones, config: {{cutoff: 6.0}}}}
structure: {{file: {structure}, copies: 2}}
integrator: {{name: bussi, timestep_fs: 5.0, temperature_K: 40.0, tau_fs: 50.0}}
steps: {steps}
trajectory: {trajectory}
trajectory_every: 10
checkpoint_every: 10
output: {output}
"""


def _write(tmp_path, steps, trajectory="md.extxyz"):
    ase.io.write(tmp_path / "ar.xyz", argon(size=(1, 1, 2)))
    path = tmp_path / "md.yaml"
    path.write_text(CONFIG.format(structure=tmp_path / "ar.xyz", steps=steps,
                                  trajectory=trajectory, output=tmp_path / "run"))
    return path


def test_md_command_runs_and_resumes(tmp_path):
    config = _write(tmp_path, 20)
    result = CliRunner().invoke(app, ["md", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "stopped: steps; 20 steps" in result.output
    frames = ase.io.read(tmp_path / "run/md.extxyz", ":")
    assert len(frames) == 2 * 3 and frames[-1].info["step"] == 20
    assert frames[-1].get_velocities() is not None and frames[-1].get_potential_energy() < 0
    config = _write(tmp_path, 30)
    result = CliRunner().invoke(app, ["md", str(config), "--resume", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "10 steps" in result.output
    assert len(ase.io.read(tmp_path / "run/md.extxyz", ":")) == 2 * 4


def test_md_command_bad_config(tmp_path):
    config = _write(tmp_path, 10)
    config.write_text(config.read_text().replace("bussi", "bussy"))
    result = CliRunner().invoke(app, ["md", str(config)])
    assert result.exit_code == 1
    assert "md.yaml" in result.output and "integrator" in result.output
    config.write_text("steps: 3\n")
    result = CliRunner().invoke(app, ["md", str(config)])
    assert result.exit_code == 1 and "structure" in result.output
    missing = _write(tmp_path, 10)
    missing.write_text(missing.read_text().replace(str(tmp_path / "ar.xyz"), "nowhere.xyz"))
    result = CliRunner().invoke(app, ["md", str(missing)])
    assert result.exit_code == 1 and "nowhere.xyz" in result.output
