"""Bundled rMD17 data, the on-disk rMD17 set, and the extxyz writer."""

import os
from pathlib import Path

import numpy as np
import pytest

from pesforge.data import (
    Frame,
    LevelOfTheory,
    bundled_path,
    check_level_of_theory,
    read,
    rmd17,
    write_extxyz,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "rmd17"


def test_bundled_ethanol():
    train, test = rmd17("ethanol", "train"), rmd17("ethanol", split="test")
    assert len(train) == 1000 and len(test) == 1000
    assert train[0].numbers.tolist() == [6, 6, 8, 1, 1, 1, 1, 1, 1]
    assert str(check_level_of_theory(train + test)) == "PBE/def2-SVP (ORCA)"
    assert -4300 < train[0].energy < -4100  # eV, not kcal/mol
    assert "resources" in train[0].source


def test_bundled_path_errors():
    assert bundled_path("rmd17_ethanol_train_01.npz").is_file()
    with pytest.raises(FileNotFoundError, match="rmd17_ethanol_test_01.npz"):
        bundled_path("nope.npz")


def test_other_molecules_need_a_root(tmp_path, monkeypatch):
    monkeypatch.setenv("PESFORGE_RMD17", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="rMD17 data missing.*rmd17_aspirin_train_01"):
        rmd17("aspirin")
    with pytest.raises(ValueError, match="unknown rMD17 molecule"):
        rmd17("caffeine")
    with pytest.raises(ValueError, match="split"):
        rmd17("ethanol", "validation")


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared rMD17 data not available")
def test_root_from_environment(monkeypatch):
    monkeypatch.setenv("PESFORGE_RMD17", os.fspath(SHARED))
    frames = rmd17("uracil", "test", index="0:3")
    assert len(frames) == 3 and len(frames[0]) == 12


def test_write_then_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    cell = np.array([[6.0, 0, 0], [0.5, 6.0, 0], [0, 0, 7.0]])
    frames = [
        Frame(numbers=[8, 1, 1], positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]],
              cell=cell, pbc=True, energy=-14.2, forces=rng.normal(size=(3, 3)),
              stress=rng.normal(size=(6,)), level_of_theory=LevelOfTheory("PBE", "def2-SVP",
                                                                          "ORCA"),
              info={"config_type": "bulk"}),
        Frame(numbers=[1], positions=[[0, 0, 0]], energy=-13.6,
              level_of_theory=LevelOfTheory("PBE", "def2-SVP", "ORCA")),
    ]
    path = write_extxyz(tmp_path / "out" / "data.xyz", frames)
    back = read(path, energy_key="REF_energy", forces_key="REF_forces",
                stress_key="REF_stress")
    assert len(back) == 2
    np.testing.assert_allclose(back[0].forces, frames[0].forces, rtol=0, atol=1e-8)  # ASE: 8 dp
    np.testing.assert_allclose(back[0].positions, frames[0].positions, rtol=0, atol=1e-8)
    np.testing.assert_allclose(back[0].stress, frames[0].stress, rtol=1e-10)
    np.testing.assert_allclose(back[0].cell, cell)
    assert back[0].energy == -14.2
    assert back[1].forces is None and back[1].stress is None
    assert back[0].info["config_type"] == "bulk"
    assert back[0].level_of_theory.fingerprint() == frames[0].level_of_theory.fingerprint()
    assert list(tmp_path.joinpath("out").iterdir()) == [path]
    with pytest.raises(ValueError):
        write_extxyz(tmp_path / "none.xyz", [])
