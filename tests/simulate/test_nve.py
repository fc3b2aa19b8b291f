"""NVE: energy conservation of velocity Verlet, and agreement with ASE's integrator driving the
same potential through the ASE calculator."""

import numpy as np
import torch

from pesforge.simulate import ForceField, VelocityVerlet, init_state, run
from pesforge.units import FS_TO_ASE_TIME

from helpers import argon, lj

#: Bound on |E(t) - E(0)| per atom over 2 ps of 32-atom solid argon at 40 K with dt = 5 fs.
#: The fluctuation of a symplectic integrator scales as dt²; with a C² switched cutoff there is
#: no systematic drift beyond it.
NVE_BOUND_EV_PER_ATOM = 2e-5


def test_nve_energy_conservation_small_periodic_system():
    state = init_state(argon(), temperature_K=40.0, seed=3)
    result = run(state, VelocityVerlet(timestep_fs=5.0), ForceField(lj(), skin=1.0),
                 steps=400, log_every=5)
    energy = np.array([r["conserved_energy"] for r in result.records])
    kinetic = np.array([r["kinetic_energy"] for r in result.records])
    deviation = np.abs(energy - energy[0]).max() / 32
    assert deviation < NVE_BOUND_EV_PER_ATOM, deviation
    # the kinetic energy itself moves by far more than the bound: the test can fail
    assert np.ptp(kinetic) / 32 > 50 * NVE_BOUND_EV_PER_ATOM
    # drift: the slope of a linear fit over the run, well below the fluctuation bound
    slope = np.polyfit(np.arange(len(energy)), energy, 1)[0] * len(energy) / 32
    assert abs(slope) < NVE_BOUND_EV_PER_ATOM / 2


def test_fluctuation_scales_as_timestep_squared():
    spread = []
    for dt in (4.0, 2.0):
        state = init_state(argon(), temperature_K=40.0, seed=3)
        result = run(state, VelocityVerlet(timestep_fs=dt), ForceField(lj()),
                     steps=int(400 / dt), log_every=1)
        energy = np.array([r["conserved_energy"] for r in result.records])
        spread.append(energy.std())
    assert 2.5 < spread[0] / spread[1] < 6.0, spread


def test_matches_ase_velocity_verlet_through_the_calculator():
    from ase.md.verlet import VelocityVerlet as AseVerlet

    from pesforge.interfaces import Calculator

    atoms = argon(size=(2, 2, 1))
    state = init_state(atoms, temperature_K=60.0, seed=5)
    atoms.set_velocities(state.velocities.numpy() / FS_TO_ASE_TIME)
    potential = lj()
    run(state, VelocityVerlet(timestep_fs=5.0), ForceField(potential), steps=20)
    atoms.calc = Calculator(potential)
    AseVerlet(atoms, timestep=5.0 * FS_TO_ASE_TIME).run(20)
    np.testing.assert_allclose(state.positions.numpy(), atoms.positions, atol=1e-9)
    np.testing.assert_allclose(state.velocities.numpy(),
                               atoms.get_velocities() * FS_TO_ASE_TIME, atol=1e-11)
    assert abs(float(state.energy[0]) - atoms.get_potential_energy()) < 1e-9
    assert torch.allclose(state.forces, torch.from_numpy(atoms.get_forces()), atol=1e-9)


def test_batched_systems_evolve_as_if_alone():
    from ase import Atoms

    cluster = Atoms("Ar5", positions=[[0, 0, 0], [3.8, 0, 0], [0, 3.8, 0], [0, 0, 3.8],
                                      [3.5, 3.5, 0.3]])
    systems = [argon(size=(2, 1, 1)), cluster, argon(size=(1, 1, 1), a=5.5)]
    batched = init_state(systems, temperature_K=50.0, seed=4)
    alone = []
    for s, atoms in enumerate(systems):
        state = init_state(atoms)
        state.velocities = batched.velocities[batched.system == s].clone()
        alone.append(state)
    run(batched, VelocityVerlet(5.0), ForceField(lj()), 30)
    for s, state in enumerate(alone):
        run(state, VelocityVerlet(5.0), ForceField(lj()), 30)
        np.testing.assert_allclose(batched.positions[batched.system == s].numpy(),
                                   state.positions.numpy(), atol=1e-10)
        assert abs(float(batched.energy[s] - state.energy[0])) < 1e-10


def test_init_state_rejects_bad_systems():
    import pytest
    from ase import Atoms

    with pytest.raises(ValueError, match="system 1"):
        init_state([argon(), Atoms("Ar2", positions=[[0, 0, 0], [3, 0, 0]], pbc=True)])
    with pytest.raises(ValueError, match="no atoms"):
        init_state([Atoms()])
