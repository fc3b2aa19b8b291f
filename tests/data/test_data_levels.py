"""Labels from different levels of theory are refused unless mixing is explicitly allowed."""

import warnings

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from pesforge.data import (
    Frame,
    LevelOfTheory,
    LevelOfTheoryError,
    check_level_of_theory,
    combine,
    read,
    rmd17,
)


def frames_at(level, n, name):
    return [Frame(numbers=[1, 1], positions=[[0, 0, 0], [0, 0, 0.74]], energy=-1.0,
                  level_of_theory=level, source=f"{name}:{k}") for k in range(n)]


PBE = LevelOfTheory(method="PBE", basis="def2-SVP", code="ORCA")
CC = LevelOfTheory(method="CCSD(T)", basis="cc-pVTZ")


def test_mixed_levels_are_refused_with_counts_and_sources():
    with pytest.raises(LevelOfTheoryError) as info:
        combine(frames_at(PBE, 3, "a.xyz"), frames_at(CC, 2, "b.xyz"))
    message = str(info.value)
    assert "2 different levels of theory" in message
    assert "PBE/def2-SVP (ORCA)" in message and "3 frame(s), e.g. a.xyz:0, a.xyz:1" in message
    assert "CCSD(T)/cc-pVTZ" in message and "2 frame(s), e.g. b.xyz:0" in message
    assert "allow_mixed=True" in message and "--allow-mixed-levels" in message
    assert isinstance(info.value, ValueError)


def test_explicit_allow_and_same_level_spelled_differently():
    frames = combine(frames_at(PBE, 3, "a"), frames_at(CC, 2, "b"), allow_mixed=True)
    assert len(frames) == 5
    same = LevelOfTheory(method="pbe", basis="DEF2-SVP", code="orca")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_level_of_theory(frames_at(PBE, 1, "a") + frames_at(same, 1, "b")) == PBE
        assert check_level_of_theory(frames_at(None, 2, "a")) is None


def test_unknown_beside_known_warns():
    with pytest.warns(UserWarning, match="1 of 3 frames have no level of theory"):
        level = check_level_of_theory(frames_at(PBE, 2, "a") + frames_at(None, 1, "u"))
    assert level == PBE


def test_read_refuses_mixed_file_and_combine_with_rmd17(tmp_path):
    images = []
    for text in ("PBE/def2-SVP (ORCA)", "wB97X/6-31G(d)"):
        atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]])
        atoms.info.update(energy=-1.0, level_of_theory=text)
        images.append(atoms)
    path = tmp_path / "mixed.xyz"
    write(path, images, format="extxyz")
    with pytest.raises(LevelOfTheoryError, match="wB97X"):
        read(path)
    assert len(read(path, allow_mixed=True)) == 2
    write(path, images[:1], format="extxyz")
    ethanol = rmd17(index="0:2")
    assert len(combine(ethanol, read(path))) == 3  # same fingerprint as rMD17's default
    write(path, images[1:], format="extxyz")
    with pytest.raises(LevelOfTheoryError):
        combine(ethanol, read(path))
    assert np.isfinite(ethanol[0].energy)
