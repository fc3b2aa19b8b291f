"""Exploration forces (committee mean plus bias) and the selection rules."""

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule
from active_helpers import TINY_MODEL

from pesforge.active.config import BiasConfig, ExploreConfig
from pesforge.active.explore import CommitteeCalculator, explore
from pesforge.active.select import cluster_representatives, farthest_point, fingerprint, select
from pesforge.data import Frame
from pesforge.training.config import ModelConfig
from pesforge.training.factory import build_model
from pesforge.uncertainty import Ensemble


def _committee(elements, n=3):
    members = []
    for k in range(n):
        torch.manual_seed(k)
        model = build_model(ModelConfig(**TINY_MODEL), elements)
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0.0, 0.3)
        members.append(model)
    return Ensemble(members)


def _fd_check(calc, atoms, h=1e-5):
    atoms.calc = calc
    forces = atoms.get_forces().copy()
    for a, i in ((0, 0), (1, 2), (2, 1)):
        energies = []
        for sign in (1, -1):
            moved = atoms.copy()
            moved.positions[a, i] += sign * h
            moved.calc = calc
            energies.append(moved.get_potential_energy())
        assert forces[a, i] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-6)


@pytest.mark.parametrize("bias", [None, BiasConfig(kind="uncertainty", strength=2.0),
                                  BiasConfig(kind="metadynamics", atoms=(0, 1), height=0.3,
                                             width=0.2)])
def test_biased_forces_are_minus_the_gradient(bias):
    atoms = molecule("H2O")
    atoms.rattle(0.05, seed=2)
    calc = CommitteeCalculator(_committee([1, 8]), bias)
    if bias is not None and bias.kind == "metadynamics":
        d = atoms.get_distance(0, 1)
        calc.hills = [d - 0.1, d + 0.05]
    _fd_check(calc, atoms)
    atoms.calc = calc
    atoms.get_forces()
    if bias is not None:
        assert abs(calc.results["bias_energy"]) > 1e-4
    assert calc.results["forces_std"].shape == (3,) and calc.results["energy_std"] > 0


def test_trajectory_stops_at_the_ceiling_and_strains_periodic_cells():
    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    start = Frame.from_atoms(cu)
    config = ExploreConfig(temperatures=[300.0], n_steps=30, sample_every=10,
                           strains=[0.0, 0.05], uncertainty_ceiling=1e-9)
    candidates = explore(_committee([29], 2), [start], config, seed=[0])
    assert len(candidates) == 2  # one per strain: each trajectory stopped at its first step
    assert all("step 1" in c.origin and c.max_force_std > 1e-9 for c in candidates)
    volumes = [abs(np.linalg.det(c.frame.cell)) for c in candidates]
    assert volumes[1] / volumes[0] == pytest.approx(1.05 ** 3)


def test_driver_oracle_drives_the_md_and_the_committee_only_scores():
    """With explore.driver the trajectory is ASE's Langevin on the driver (EMT here), step for
    step, whatever the committee says; every sampled frame carries the committee's spread."""
    from ase.calculators.emt import EMT
    from ase.md import velocitydistribution as vd
    from ase.md.langevin import Langevin

    from pesforge import units
    from pesforge.active.loop import build_oracle
    from pesforge.active.config import OracleSpec

    cu = bulk("Cu", "fcc", a=3.6, cubic=True)
    cu.rattle(0.05, seed=1)
    start = Frame.from_atoms(cu)
    config = ExploreConfig(temperatures=[500.0], n_steps=12, sample_every=4,
                           uncertainty_ceiling=1e-9, driver=OracleSpec(kind="emt"))
    committee = _committee([29], 2)
    candidates = explore(committee, [start], config, seed=[0],
                         driver=build_oracle(config.driver))
    # the ceiling (far below every spread) does not stop a driven trajectory
    assert [c.origin.split()[-1] for c in candidates] == ["4", "8", "12"]

    atoms = cu.copy()
    atoms.calc = EMT()
    rng = np.random.default_rng([0, 0])
    getattr(vd, "thermalize_momenta", vd.MaxwellBoltzmannDistribution)(
        atoms, temperature_K=500.0, rng=rng)
    dyn = Langevin(atoms, timestep=config.timestep * units.FS_TO_ASE_TIME, temperature_K=500.0,
                   friction=config.friction / units.FS_TO_ASE_TIME, fixcm=False, rng=rng)
    for c in candidates:
        dyn.run(4)
        np.testing.assert_allclose(c.frame.positions, atoms.positions, atol=1e-10)
        judge = CommitteeCalculator(committee)
        judge.calculate(atoms.copy(), ["forces"])
        assert c.max_force_std == pytest.approx(float(judge.results["forces_std"].max()))
        assert c.max_force_std > 1e-9


def test_driver_and_bias_do_not_combine():
    from pesforge.active.config import OracleSpec

    with pytest.raises(ValueError, match="driver"):
        ExploreConfig(driver=OracleSpec(kind="emt"), bias=BiasConfig(kind="uncertainty"))


def test_fingerprint_is_invariant_and_distinguishes():
    atoms = molecule("CH3CH2OH")
    frame = Frame.from_atoms(atoms)
    rotated = atoms.copy()
    rotated.rotate(37, "z")
    rotated.positions = rotated.positions[::-1]  # permute atoms too
    rotated.numbers = atoms.numbers[::-1]
    f0 = fingerprint(frame, [1, 6, 8], 5.0)
    np.testing.assert_allclose(fingerprint(Frame.from_atoms(rotated), [1, 6, 8], 5.0), f0,
                               atol=1e-12)
    stretched = atoms.copy()
    stretched.positions[0] += [0.3, 0, 0]
    assert np.linalg.norm(fingerprint(Frame.from_atoms(stretched), [1, 6, 8], 5.0) - f0) > 1e-3


def test_farthest_point_skips_duplicates_and_known_points():
    x = np.array([[0.0], [0.01], [1.0], [1.01], [5.0]])
    assert farthest_point(x, 3, first=0) == [0, 4, 3]  # one of each cluster
    # a point already labelled at 5.0 makes the next pick the middle cluster, not 5.0
    assert farthest_point(x, 2, first=0, reference=np.array([[5.0]])) == [0, 3]
    assert farthest_point(np.zeros((3, 2)), 3, first=1) == [1]


def test_select_uses_threshold_batch_size_and_diversity():
    base = molecule("H2O")
    frames = []
    for k in range(6):
        a = base.copy()
        a.positions[1] += [0.02 * (k // 2), 0, 0]  # pairs of near-duplicates
        a.positions[1] += [1e-4 * k, 0, 0]
        frames.append(Frame.from_atoms(a))
    unc = [0.5, 0.6, 0.01, 0.02, 0.3, 0.4]
    picked = select(frames, unc, threshold=0.1, batch_size=2, cutoff=4.0)
    assert picked[0] == 1  # the most uncertain first
    assert picked[1] in (4, 5)  # then a different structure, not frame 0 (a near-copy)
    assert select(frames, unc, threshold=1.0, batch_size=4, cutoff=4.0) == []


def test_cluster_representatives_pick_typical_members_of_each_cluster():
    rng = np.random.default_rng(3)
    # two dense clusters: one pick near each cluster's centre
    a = rng.normal(0.0, 0.1, (40, 2))
    b = rng.normal(0.0, 0.1, (40, 2)) + [5.0, 0.0]
    picks = cluster_representatives(np.vstack([a, b]), 2, seed=0)
    assert sorted(p // 40 for p in picks) == [0, 1]
    for p, group in zip(sorted(picks), (a, b)):
        typical = np.linalg.norm(group - group.mean(0), axis=1)
        assert np.linalg.norm(group[p % 40] - group.mean(0)) <= np.quantile(typical, 0.25)
    # a far outlier is picked only when there are as many clusters as groups
    x = np.vstack([a, b, [[30.0, 30.0]]])
    assert 80 in cluster_representatives(x, 3, seed=0)
    assert cluster_representatives(x, 3, seed=1) == cluster_representatives(x, 3, seed=1)
    assert cluster_representatives(np.zeros((4, 2)), 3) == [cluster_representatives(
        np.zeros((4, 2)), 3)[0]]  # duplicates: one pick
    assert farthest_point(x, 2, first=0)[1] == 80  # farthest-point goes for the outlier


def test_select_with_clusters_strategy_and_unknown_strategy():
    base = molecule("H2O")
    frames = []
    for k in range(6):
        a = base.copy()
        a.positions[1] += [0.05 * (k // 3), 0, 0]  # two groups of three near-copies
        a.positions[1] += [1e-3 * k, 0, 0]
        frames.append(Frame.from_atoms(a))
    unc = [0.5, 0.6, 0.01, 0.2, 0.3, 0.4]
    picked = select(frames, unc, threshold=0.1, batch_size=2, cutoff=4.0, strategy="clusters")
    assert len(picked) == 2 and all(unc[p] > 0.1 for p in picked)
    assert sorted(p // 3 for p in picked) == [0, 1]  # one from each group
    with pytest.raises(ValueError, match="strategy"):
        select(frames, unc, threshold=0.1, batch_size=2, cutoff=4.0, strategy="random")



def test_cluster_maxima_pick_the_most_uncertain_member_of_each_cluster():
    rng = np.random.default_rng(4)
    a = rng.normal(0.0, 0.1, (30, 2))
    b = rng.normal(0.0, 0.1, (30, 2)) + [5.0, 0.0]
    score = rng.uniform(0.0, 1.0, 60)
    picks = cluster_representatives(np.vstack([a, b]), 2, seed=0, score=score)
    assert sorted(picks) == [int(np.argmax(score[:30])), 30 + int(np.argmax(score[30:]))]
    # select() passes the candidates' uncertainty as the score
    base = molecule("H2O")
    frames = []
    for k in range(8):
        atoms = base.copy()
        atoms.positions[1] += [0.3 * (k // 4) + 0.001 * k, 0, 0]  # two groups of four
        frames.append(Frame.from_atoms(atoms))
    unc = [0.9, 0.2, 0.3, 0.1, 0.5, 0.4, 0.3, 0.8]  # the most uncertain at the groups' edges
    assert sorted(select(frames, unc, threshold=0.0, batch_size=2, cutoff=4.0,
                         strategy="cluster_maxima")) == [0, 7]
    typical = select(frames, unc, threshold=0.0, batch_size=2, cutoff=4.0, strategy="clusters")
    assert sorted(k // 4 for k in typical) == [0, 1] and not {0, 3, 4, 7} & set(typical)
