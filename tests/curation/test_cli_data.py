"""`pesforge data info`, `pesforge audit` and `pesforge sample` from the command line."""

import copy

import numpy as np
from ase.build import bulk
from typer.testing import CliRunner

from pesforge.cli.main import app
from pesforge.data import Frame, LevelOfTheory, read, rmd17, write_extxyz

runner = CliRunner()


def test_data_info_lists_fingerprints_and_counts(tmp_path):
    frames = rmd17(index="0:3")
    other = [copy.copy(f) for f in rmd17(index="3:4")]
    other[0].level_of_theory = LevelOfTheory.parse({"method": "PBE", "basis": "def2-SVP",
                                                    "code": "ORCA", "grid": "DefGrid3"})
    path = tmp_path / "mixed.xyz"
    write_extxyz(path, frames + other)
    result = runner.invoke(app, ["data", "info", str(path)])
    assert result.exit_code == 0, result.output
    assert "4 frames" in result.output and "levels of theory: 2" in result.output
    assert "3  PBE/def2-SVP (ORCA)  [code=orca;method=pbe;basis=def2-svp]" in result.output
    assert "grid=defgrid3" in result.output


def test_audit_command_and_bad_oracle(tmp_path):
    frames = rmd17(index="0:40")
    frames[5] = copy.copy(frames[5])
    frames[5].forces = frames[5].forces + np.random.default_rng(0).normal(scale=0.1,
                                                                          size=(9, 3))
    path = tmp_path / "eth.xyz"
    write_extxyz(path, frames)
    result = runner.invoke(app, ["audit", str(path), "--output", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    first = [line for line in result.output.splitlines() if line.startswith("| 1 |")][0]
    assert "| 5 |" in first and "invariance" in first
    assert (tmp_path / "rep" / "audit.json").is_file()
    bad = runner.invoke(app, ["audit", str(path), "--oracle", "nonsense"])
    assert bad.exit_code == 1 and "error: oracle nonsense" in bad.output


def test_sample_rattle_and_strain(tmp_path):
    cu = tmp_path / "cu.xyz"
    write_extxyz(cu, [Frame.from_atoms(bulk("Cu", "fcc", a=3.6, cubic=True))])
    out = tmp_path / "r.xyz"
    result = runner.invoke(app, ["sample", "rattle", str(cu), "-o", str(out), "--n", "3",
                                 "--sigma", "0.05"])
    assert result.exit_code == 0, result.output
    frames = read(out)
    assert len(frames) == 3 and frames[0].info["generator"] == "rattle"
    result = runner.invoke(app, ["sample", "strain", str(cu), "-o", str(out),
                                 "--hydrostatic", "-0.01,0.01", "--shear", "0.02"])
    assert result.exit_code == 0, result.output
    assert len(read(out)) == 5
    result = runner.invoke(app, ["sample", "md", str(cu), "-o", str(out), "--oracle", "emt",
                                 "--n", "2", "--interval", "3", "--equilibration", "5"])
    assert result.exit_code == 0, result.output
    assert read(out, energy_key="REF_energy")[1].energy is not None
