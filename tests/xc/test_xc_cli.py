"""The xc command line: bad input gives a one-line error; a tiny training run writes a file."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

pytest.importorskip("pyscf")

from pesforge.cli.main import app  # noqa: E402


def test_xc_train_rejects_bad_reaction(tmp_path):
    result = CliRunner().invoke(app, ["xc-train", "--reactions", "ZZ(H2)", "--output",
                                      str(tmp_path)])
    assert result.exit_code == 1
    assert "ZZ(H2)" in result.output


def test_xc_energy_missing_functional_file(tmp_path):
    result = CliRunner().invoke(app, ["xc-energy", "H", "--functional",
                                      str(tmp_path / "none.safetensors")])
    assert result.exit_code == 1
    assert "none.safetensors" in result.output


def test_xc_train_rejects_bad_rung_and_missing_checkpoint(tmp_path):
    result = CliRunner().invoke(app, ["xc-train", "--rung", "XGGA", "--output", str(tmp_path)])
    assert result.exit_code == 1
    assert "rung" in result.output
    result = CliRunner().invoke(app, ["xc-train", "--resume", "--output", str(tmp_path / "no")])
    assert result.exit_code == 1
    assert "cannot resume" in result.output
