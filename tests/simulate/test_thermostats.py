"""Each thermostat reproduces the canonical kinetic-energy distribution: mean dof kT / 2 and
variance dof (kT)² / 2, within statistical error, on 128 independent 4-atom Lennard-Jones
liquids (periodic argon at 100 K) run as one batch."""

import numpy as np
import pytest

from pesforge.simulate import (Bussi, ForceField, Langevin, NoseHooverChain, init_state, run)
from pesforge.simulate.state import remove_com_velocity
from pesforge.units import KB

from helpers import argon, lj

T, DT, SYSTEMS = 100.0, 4.0, 128


@pytest.fixture(scope="module")
def liquid():
    """Equilibrated liquid states (strong Langevin coupling for 1.2 ps), centre of mass at rest."""
    import torch

    torch.set_num_threads(1)
    state = init_state([argon(size=(1, 1, 1), a=5.7)] * SYSTEMS, temperature_K=T, seed=1)
    ff = ForceField(lj(), skin=1.0)
    run(state, Langevin(DT, T, 0.1), ff, 300, log_every=1000)
    remove_com_velocity(state)
    return state, ff


def _copy(state):
    import copy

    new = copy.copy(state)
    for name in ("positions", "velocities", "forces", "energy", "reservoir", "dof"):
        setattr(new, name, getattr(state, name).clone())
    new.extra = {}
    new.dof = 3.0 * state.n_atoms.double() - 3.0
    return new


@pytest.mark.parametrize("integrator", [
    Langevin(DT, T, friction_per_fs=0.1),
    Bussi(DT, T, tau_fs=50.0),
    NoseHooverChain(DT, T, tau_fs=50.0),
], ids=lambda i: i.name)
def test_canonical_kinetic_energy(liquid, integrator):
    state, ff = liquid
    state = _copy(state)
    run(state, integrator, ff, 50, log_every=1000)  # let the thermostat variables settle
    result = run(state, integrator, ff, 300, log_every=1)
    kinetic = np.array([[r["kinetic_energy"] for r in result.records if r["system"] == s]
                        for s in range(SYSTEMS)])[:, 1:]
    dof = float(state.dof[0])
    kT = KB * T
    # per system: time averages, normalised by the canonical values; systems are independent,
    # so their spread gives the standard error
    mean_ratio = kinetic.mean(1) / (0.5 * dof * kT)
    var_ratio = ((kinetic - 0.5 * dof * kT) ** 2).mean(1) / (0.5 * dof * kT**2)
    for name, ratio in (("mean", mean_ratio), ("variance", var_ratio)):
        error = ratio.std() / np.sqrt(SYSTEMS)
        assert error < 0.06, f"{name}: too noisy to test ({error})"
        assert abs(ratio.mean() - 1.0) < 4 * error, f"{name} ratio {ratio.mean():.4f} +- {error:.4f}"
