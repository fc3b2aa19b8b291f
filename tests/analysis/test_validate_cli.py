"""``pesforge validate`` writes a report on a tiny system; ``pesforge vibrations`` prints modes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule
from ase.calculators.emt import EMT
from ase.io import write
from typer.testing import CliRunner

from pesforge.cli.main import app
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters
from pesforge.models import BPNN, save_model

runner = CliRunner()


def _tiny_model(path, elements, frames):
    torch.manual_seed(0)
    parameters = SymmetryFunctionParameters.default(4.0, n_radial=4, n_angular_shells=1)
    model = BPNN(elements, parameters, hidden=(4,)).double()
    model.fit_statistics([collate(frames, model.cutoff)],
                         reference_energies=np.zeros(len(elements)), energy_scale=0.05)
    save_model(model.eval(), path)
    return path


@pytest.fixture(scope="module")
def copper(tmp_path_factory):
    folder = tmp_path_factory.mktemp("validate")
    cell = bulk("Cu", "fcc", a=3.6, cubic=True)  # 4 atoms
    write(folder / "cell.xyz", cell)
    labelled = []
    for k in range(6):
        atoms = cell.copy()
        atoms.rattle(0.05 if k < 3 else 0.15, seed=k)
        atoms.calc = EMT()
        atoms.get_potential_energy()
        atoms.info["config_type"] = "near" if k < 3 else "far"
        labelled.append(atoms)
    write(folder / "data.xyz", labelled)
    write(folder / "reference.xyz", labelled[:3])
    frames = [Frame.from_atoms(a, energy=a.get_potential_energy(), forces=a.get_forces())
              for a in labelled]
    return folder, _tiny_model(folder / "model.safetensors", (29,), frames)


def test_validate_writes_a_report(copper):
    folder, model = copper
    out = folder / "report"
    result = runner.invoke(app, [
        "validate", str(model), "--structure", str(folder / "cell.xyz"),
        "--data", str(folder / "data.xyz"), "--reference", str(folder / "reference.xyz"),
        "--output", str(out), "--timesteps", "1,2", "--nve-fs", "20", "--nvt-steps", "100",
        "--nvt-timestep", "2", "--temperature", "300"])
    assert result.exit_code == 0, result.output
    text = (out / "report.md").read_text()
    for heading in ("NVE energy conservation", "NVT canonical check",
                    "Radial distribution function", "Errors by configuration type"):
        assert heading in text
    assert "| near |" in text and "| far |" in text
    numbers = json.loads((out / "results.json").read_text())
    assert len(numbers["nve"]["runs"]) == 2
    assert numbers["nvt"]["dof"] == 9.0
    assert numbers["errors"]["far"]["n_frames"] == 3
    for png in ("nve_energy.png", "nvt_kinetic.png", "rdf.png", "parity_forces_near.png"):
        assert (out / png).stat().st_size > 1000


def test_validate_bad_input_is_one_line(copper, tmp_path):
    folder, model = copper
    result = runner.invoke(app, ["validate", str(model), "--structure",
                                 str(tmp_path / "missing.xyz")])
    assert result.exit_code == 1 and "missing.xyz" in result.output
    result = runner.invoke(app, ["validate", str(model), "--timesteps", "a,b"])
    assert result.exit_code == 1 and "--timesteps" in result.output
    result = runner.invoke(app, ["validate", str(model), "--engine", "gromacs"])
    assert result.exit_code == 1 and "engine" in result.output


def test_vibrations_command(tmp_path):
    water = molecule("H2O")
    write(tmp_path / "water.xyz", water)
    frames = [Frame.from_atoms(water)]
    model = _tiny_model(tmp_path / "m.safetensors", (1, 8), frames)
    result = runner.invoke(app, ["vibrations", str(model), str(tmp_path / "water.xyz"),
                                 "--no-relax", "--output", str(tmp_path / "vib.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "vib.json").read_text())
    assert len(data["frequencies_cm1"]) == 3 and np.array(data["modes"]).shape == (3, 3, 3)
