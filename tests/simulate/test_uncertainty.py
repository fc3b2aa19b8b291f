"""With an ensemble the runner logs per-step uncertainty and stops at a ceiling."""

import numpy as np
import pytest

from pesforge.data import keys as K
from pesforge.physics.lennard_jones import LennardJones
from pesforge.simulate import ForceField, Langevin, VelocityVerlet, init_state, run
from pesforge.uncertainty import Ensemble

from helpers import argon


def _committee():
    """Two Lennard-Jones members that disagree more the closer atoms come."""
    return Ensemble([LennardJones(sigma=3.40, cutoff=6.0), LennardJones(sigma=3.45, cutoff=6.0)])


def test_uncertainty_is_logged_per_step():
    state = init_state([argon(size=(1, 1, 1))] * 2, temperature_K=40.0, seed=0)
    ff = ForceField(_committee())
    result = run(state, VelocityVerlet(5.0), ff, 10, log_every=5)
    assert {K.ENERGY_STD, K.FORCES_STD} <= set(result.records[-1])
    last = [r for r in result.records if r["step"] == 10]
    per_atom = state.outputs[K.FORCES_STD].reshape(2, -1).max(1).values
    np.testing.assert_allclose([r[K.FORCES_STD] for r in last], per_atom.numpy())
    assert all(r[K.ENERGY_STD] > 0 for r in last)


def test_ceiling_stops_the_run_when_exceeded():
    state = init_state(argon(size=(1, 1, 1)), temperature_K=40.0, seed=0)
    ff = ForceField(_committee())
    ff(state)
    start = float(state.outputs[K.FORCES_STD].max())
    ceiling = start + 0.02  # heating to 2000 K pushes atoms together: the members part ways
    result = run(state, Langevin(2.0, 2000.0, 0.05), ff, 2000, log_every=1,
                 uncertainty_key=K.FORCES_STD, uncertainty_max=ceiling)
    assert result.stop_reason.startswith("uncertainty ceiling"), result.stop_reason
    assert 1 < result.steps_done < 2000
    values = [r[K.FORCES_STD] for r in result.records]
    assert values[-1] > ceiling and max(values[:-1]) <= ceiling
    unlimited = run(init_state(argon(size=(1, 1, 1)), temperature_K=40.0, seed=0),
                    VelocityVerlet(5.0), ForceField(_committee()), 20,
                    uncertainty_key=K.FORCES_STD, uncertainty_max=10.0)
    assert unlimited.stop_reason == "steps" and unlimited.steps_done == 20


def test_ceiling_on_a_model_without_uncertainty_is_refused():
    from helpers import lj

    with pytest.raises(ValueError, match="forces_std"):
        run(init_state(argon(size=(1, 1, 1))), VelocityVerlet(5.0), ForceField(lj()), 2,
            uncertainty_key=K.FORCES_STD, uncertainty_max=1.0)


def test_barostat_needs_stress():
    from pesforge.simulate import StochasticCellRescaling

    with pytest.raises(ValueError, match="stress=True"):
        run(init_state(argon()), StochasticCellRescaling(), ForceField(_committee()), 1)
