"""The analytic Lennard-Jones test potential passes the shipped physics checks and has its
minimum at 2^(1/6) sigma."""

import pytest
import torch
from ase import Atoms

from pesforge.data.batch import from_atoms
from pesforge.models import build, compute, describe
from pesforge.physics.lennard_jones import LennardJones
from pesforge.testing import run_all


def test_physics_checks():
    run_all(LennardJones(epsilon=0.0104, sigma=2.0, cutoff=4.0), elements=(18,))


def test_dimer_minimum_and_round_trip():
    lj = LennardJones(epsilon=0.0104, sigma=3.4, cutoff=8.5)
    r_min = 2 ** (1 / 6) * 3.4
    out = compute(lj, from_atoms(Atoms("Ar2", positions=[[0, 0, 0], [r_min, 0, 0]]), lj.cutoff))
    assert float(out["energy"][0]) == pytest.approx(-0.0104, rel=1e-12)
    assert torch.allclose(out["forces"], torch.zeros(2, 3, dtype=torch.float64), atol=1e-12)
    again = build(describe(lj))
    assert again.config() == lj.config()
    with pytest.raises(ValueError, match="switch_on"):
        LennardJones(cutoff=5.0, switch_on=6.0)


def test_switch_is_smooth_at_the_cutoff():
    """Energy ~ (r_c - r)³ and force ~ (r_c - r)² just inside the cutoff; exactly 0 beyond."""
    lj = LennardJones(epsilon=0.0104, sigma=3.4, cutoff=6.0)

    def energy_force(r):
        out = compute(lj, from_atoms(Atoms("Ar2", positions=[[0, 0, 0], [r, 0, 0]]), 7.0))
        return abs(float(out["energy"][0])), float(out["forces"].abs().max())

    (e1, f1), (e2, f2) = energy_force(6.0 - 1e-2), energy_force(6.0 - 1e-3)
    assert 500 < e1 / e2 < 2000 and 50 < f1 / f2 < 200
    assert energy_force(6.0) == (0.0, 0.0) and energy_force(6.5) == (0.0, 0.0)
