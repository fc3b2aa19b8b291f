"""Structured level-of-theory fingerprints: canonical, round-tripped, mixed ones refused."""

import numpy as np
import pytest

from pesforge.data import Frame, LevelOfTheory, LevelOfTheoryError, combine, read, write_extxyz
from pesforge.data.validate import level_counts

VASP = {"code": "VASP", "version": "6.4.1", "method": "PBE", "basis": "plane waves",
        "pseudopotential": "PAW_PBE 54", "cutoff": 520, "kpoints": [4, 4, 4],
        "scf_tolerance": 1e-6, "dispersion": "D3(BJ)", "charge": 0, "spin": 0}


def frames_at(level, n, name):
    return [Frame(numbers=[29, 29], positions=[[0, 0, 0], [0, 0, 2.5]], energy=-1.0,
                  forces=np.zeros((2, 3)), level_of_theory=level, source=f"{name}:{k}")
            for k in range(n)]


def test_fields_are_canonical_and_aliases_accepted():
    a = LevelOfTheory.parse(VASP)
    b = LevelOfTheory.parse({**VASP, "cutoff": "520.0", "kpoints": "4x4x4", "ENCUT": None,
                             "scf_tolerance": "0.000001"})
    assert a.cutoff == "520" and a.kpoints == "4x4x4" and a.scf_tolerance == "1e-06"
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint().startswith("code=vasp;version=6.4.1;method=pbe;basis=plane waves")
    assert LevelOfTheory.parse({"xc": "PBE", "k_points": [2, 2, 2]}).kpoints == "2x2x2"
    assert a.fingerprint() != LevelOfTheory.parse({**VASP, "cutoff": 400}).fingerprint()
    # the old three-field form keeps its fingerprint
    assert LevelOfTheory("PBE", "def2-SVP", "ORCA").fingerprint() == \
        "code=orca;method=pbe;basis=def2-svp"


def test_structured_level_survives_extxyz(tmp_path):
    level = LevelOfTheory.parse(VASP)
    assert str(level).startswith("PBE/plane waves (VASP); version=6.4.1")
    path = tmp_path / "a.xyz"
    write_extxyz(path, frames_at(level, 2, "a"))
    back = read(path, energy_key="REF_energy", forces_key="REF_forces")
    assert back[0].level_of_theory.fingerprint() == level.fingerprint()
    assert LevelOfTheory.parse("UHF PBE + D3; def2-SVP").text == "UHF PBE + D3; def2-SVP"


def test_mixed_fingerprints_refused_with_the_differing_fields():
    a = LevelOfTheory.parse(VASP)
    b = LevelOfTheory.parse({**VASP, "kpoints": [2, 2, 2], "cutoff": 400})
    with pytest.raises(LevelOfTheoryError) as err:
        combine(frames_at(a, 3, "a.xyz"), frames_at(b, 1, "b.xyz"))
    message = str(err.value)
    assert "2 different levels of theory" in message and "b.xyz:0" in message
    assert "they differ in: cutoff, kpoints" in message and "--allow-mixed-levels" in message
    assert len(combine(frames_at(a, 3, "a"), frames_at(b, 1, "b"), allow_mixed=True)) == 4
    counts = level_counts(frames_at(a, 3, "a") + frames_at(b, 1, "b") + frames_at(None, 2, "c"))
    assert [(n, lvl is None) for lvl, n, _ in counts] == [(3, False), (2, True), (1, False)]
