import numpy as np
import pytest
import torch
from ase.build import bulk
from ase.calculators.emt import EMT

from pesforge.data import keys as K
from pesforge.data.frame import Frame
from pesforge.models.potential import Potential
from pesforge.training.metrics import METRIC_KEYS, evaluate


class Constant(Potential):
    """Every atom has energy c (eV), so forces and stress are exactly zero."""

    def __init__(self, c: float):
        super().__init__()
        self.c = c
        self.register_buffer("unused", torch.zeros((), dtype=torch.float64))

    def forward(self, batch):
        return batch[K.POSITIONS].sum(1).to(torch.float64) * 0.0 + self.c


def molecules():
    rng = np.random.default_rng(3)
    frames = []
    for n in (3, 5, 4):
        frames.append(Frame(numbers=[6] * n, positions=rng.uniform(0, 3, (n, 3)) * [1, 1, n],
                            energy=float(rng.normal()), forces=rng.normal(size=(n, 3))))
    frames.append(Frame(numbers=[1, 1], positions=[[0, 0, 0], [0, 0, 0.8]]))  # unlabelled
    return frames


def test_metrics_of_a_constant_model():
    frames = molecules()
    labelled = frames[:3]
    metrics = evaluate(Constant(0.25), frames, batch_size=2)
    assert tuple(metrics) == METRIC_KEYS
    err = np.array([0.25 * len(f) - f.energy for f in labelled]) * 1e3
    n = np.array([len(f) for f in labelled])
    f_ref = np.concatenate([f.forces.ravel() for f in labelled]) * 1e3
    assert metrics["energy_mae_meV"] == pytest.approx(np.abs(err).mean(), rel=1e-12)
    assert metrics["energy_rmse_meV"] == pytest.approx(np.sqrt((err**2).mean()), rel=1e-12)
    assert metrics["energy_mae_meV_per_atom"] == pytest.approx(np.abs(err / n).mean(), rel=1e-12)
    assert metrics["energy_rmse_meV_per_atom"] == pytest.approx(
        np.sqrt(((err / n) ** 2).mean()), rel=1e-12)
    assert metrics["force_mae_meV_per_A"] == pytest.approx(np.abs(f_ref).mean(), rel=1e-12)
    assert metrics["force_rmse_meV_per_A"] == pytest.approx(np.sqrt((f_ref**2).mean()), rel=1e-12)
    assert metrics["n_frames"] == 4


def test_predictions_for_parity_plots():
    frames = molecules()
    metrics, pred = evaluate(Constant(-1.0), frames, return_predictions=True)
    assert metrics["n_frames"] == 4
    assert pred["energy_pred"] == pytest.approx([-1.0 * len(f) for f in frames])
    assert np.isnan(pred["energy_ref"][3]) and pred["energy_ref"][0] == frames[0].energy
    assert pred["forces_pred"].shape == pred["forces_ref"].shape == (14, 3)
    assert np.all(pred["forces_pred"] == 0.0)
    assert "stress_pred" not in pred


def test_stress_metrics_only_with_stress_labels():
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True)
    atoms.rattle(0.05, seed=1)
    atoms.calc = EMT()
    frame = Frame.from_atoms(atoms, energy=atoms.get_potential_energy(),
                             forces=atoms.get_forces(), stress=atoms.get_stress(voigt=False))
    metrics = evaluate(Constant(0.0), [frame])
    assert metrics["stress_mae_meV_per_A3"] == pytest.approx(
        np.abs(frame.stress).mean() * 1e3, rel=1e-12)
    assert "stress_mae_meV_per_A3" not in evaluate(Constant(0.0), molecules())


def test_no_labels_gives_none():
    frames = [Frame(numbers=[1, 1], positions=[[0, 0, 0], [0, 0, 0.8]])]
    metrics = evaluate(Constant(0.0), frames)
    assert metrics["energy_mae_meV"] is None and metrics["force_rmse_meV_per_A"] is None
    with pytest.raises(ValueError, match="zero frames"):
        evaluate(Constant(0.0), [])


def test_evaluate_works_under_no_grad():
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True)
    atoms.calc = EMT()
    frame = Frame.from_atoms(atoms, energy=atoms.get_potential_energy(),
                             forces=atoms.get_forces(), stress=atoms.get_stress(voigt=False))
    with torch.no_grad():
        assert evaluate(Constant(0.0), [frame])["stress_mae_meV_per_A3"] > 0
