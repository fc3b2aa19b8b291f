"""MD with a reused (skin) neighbour list follows the same trajectory as MD that searches
neighbours at every step, and conserves energy: BPNN (float64), NVE, a periodic liquid."""

import numpy as np
import torch
from helpers import ethanol_liquid

from pesforge.simulate import ForceField, VelocityVerlet, init_state, run
from pesforge.testing.fixtures import small_bpnn

#: Bound on |E(t) - E(0)| per atom over 50 fs at dt = 0.5 fs for this random BPNN, which heats
#: the box from 300 K to ~1200 K (the kinetic energy moves by ~0.12 eV/atom); measured 5.6e-5.
NVE_BOUND_EV_PER_ATOM = 2e-4


def test_skin_reuse_equals_rebuild_every_step_and_conserves_energy():
    model = small_bpnn()  # cutoff 4 Å
    atoms = ethanol_liquid()  # 72 atoms, 9.2 Å box
    results = {}
    for skin in (0.4, 0.0):
        state = init_state(atoms, temperature_K=300.0, seed=1)
        force_field = ForceField(model, skin=skin)
        result = run(state, VelocityVerlet(timestep_fs=0.5), force_field, 100, log_every=1)
        results[skin] = state, force_field.neighbors.n_builds, result.records
    (reused, builds, records), (fresh, fresh_builds, _) = results[0.4], results[0.0]
    assert fresh_builds == 101 and 1 < builds < 40  # rebuilds happen, far fewer than steps
    np.testing.assert_allclose(reused.positions.numpy(), fresh.positions.numpy(), atol=1e-10)
    np.testing.assert_allclose(reused.velocities.numpy(), fresh.velocities.numpy(), atol=1e-10)
    assert torch.allclose(reused.energy, fresh.energy, atol=1e-10, rtol=0)
    assert torch.allclose(reused.forces, fresh.forces, atol=1e-10, rtol=0)
    energy = np.array([r["conserved_energy"] for r in records])
    kinetic = np.array([r["kinetic_energy"] for r in records])
    assert np.abs(energy - energy[0]).max() / len(atoms) < NVE_BOUND_EV_PER_ATOM
    assert np.ptp(kinetic) / len(atoms) > 100 * NVE_BOUND_EV_PER_ATOM  # the test can fail
