"""Force–energy consistency against an oracle, invariance checks, duplicates and coverage."""

import copy

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT

from pesforge.curation import (
    coverage,
    describe_frames,
    force_energy_consistency,
    invariance_violations,
    near_duplicates,
)
from pesforge.curation.physics import INVARIANCE_TOLERANCE
from pesforge.data import Frame, rmd17
from pesforge.oracles import ASEOracle
from pesforge.sampling import rattle

EMT_ORACLE = ASEOracle(EMT(), {"code": "ase", "method": "EMT"})


def test_oracle_finite_differences_flag_labels_that_are_not_a_gradient():
    cu = Frame.from_atoms(bulk("Cu", "fcc", a=3.6, cubic=True), source="cu:0")
    frames = [EMT_ORACLE.label(f) for f in rattle(cu, 4, 0.08, seed=0)]
    frames[1] = copy.copy(frames[1])
    frames[1].forces = frames[1].forces * 1.2  # e.g. forces from another setting
    frames[3] = copy.copy(frames[3])
    frames[3].energy += 0.3  # a shifted energy keeps the forces a gradient: not flagged here
    rows = force_energy_consistency(frames, EMT_ORACLE, indices=range(4), tolerance=0.01)
    assert [r.flagged for r in rows] == [False, True, False, False]
    assert max(r.reference_vs_fd for r in rows if not r.flagged) < 1e-3
    assert all(r.oracle_vs_fd < 1e-3 for r in rows)  # EMT's own forces are consistent
    assert abs(rows[3].energy_difference - 0.3) < 1e-9


def test_invariance_violations_catch_noise_not_clean_dft():
    frames = rmd17(index="0:50")
    clean = invariance_violations(frames)
    assert clean.max() < INVARIANCE_TOLERANCE / 5
    noisy = copy.copy(frames[4])
    noisy.forces = noisy.forces + np.random.default_rng(0).normal(scale=0.05,
                                                                  size=noisy.forces.shape)
    assert invariance_violations([noisy])[0] > 10 * INVARIANCE_TOLERANCE


def test_duplicates_and_near_duplicates():
    frames = rmd17(index="0:60")
    rotated = copy.copy(frames[3])
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                    [0, 0, 1]])
    rotated.positions = frames[3].positions @ rot.T + 2.0
    rotated.energy = frames[3].energy + 0.5  # the same structure with another energy
    nudged = copy.copy(frames[7])
    nudged.positions = frames[7].positions + 1e-4
    nudged.positions[0, 0] += 2e-4
    frames += [rotated, nudged]
    desc = describe_frames(frames, jacobians=False)
    pairs = near_duplicates(desc, [f.energy for f in frames])
    found = {(p["i"], p["j"]): p for p in pairs}
    assert set(found) == {(3, 60), (7, 61)}
    assert found[(3, 60)]["kind"] == "duplicate"
    assert abs(found[(3, 60)]["energy_gap_eV"] - 0.5) < 1e-9
    assert found[(7, 61)]["kind"] == "near"


def test_coverage_separates_interpolation_from_extrapolation():
    train, test = rmd17(index="0:300"), rmd17(index="300:330")
    far = rattle(test[0], 5, 0.25, seed=1)
    elements = [1, 6, 8]
    result = coverage(describe_frames(train, jacobians=False, elements=elements),
                      describe_frames(test + far, jacobians=False, elements=elements))
    assert result.extrapolating[30:].all()
    assert result.extrapolating[:30].mean() < 0.2
    assert np.all(result.quantile[30:] == 1.0)
