"""Error metrics of a potential on labelled frames, and the predictions behind them.

Energies in meV and meV/atom, forces in meV/Å (per Cartesian component), stress in meV/Å³,
atomic charges in e and dipoles in e·Å (per Cartesian component, molecules only); each metric
runs over the frames that carry that label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate, to
from pesforge.data.frame import Frame
from pesforge.models.autograd import compute
from pesforge.models.potential import Potential

METRIC_KEYS = ("energy_mae_meV", "energy_rmse_meV", "energy_mae_meV_per_atom",
               "energy_rmse_meV_per_atom", "force_mae_meV_per_A", "force_rmse_meV_per_A",
               "n_frames")


@dataclass
class Predictions:
    """Predicted and reference values for a list of frames (NaN where a label is missing).

    Attributes:
        n_atoms: (F,) atoms per frame.
        energy_pred, energy_ref: (F,) total energies, eV.
        forces_pred, forces_ref: (A, 3) forces of all atoms in frame order, eV/Å.
        stress_pred, stress_ref: (F, 3, 3) stress, eV/Å³, or None when no frame has a stress
            label.
        charges_pred, charges_ref: (A,) atomic charges, e, or None when the model has no
            charge model or no frame has charge or dipole labels.
        dipole_pred, dipole_ref: (F, 3) dipoles sum_i q_i r_i, e·Å, likewise (the reference
            is NaN for periodic frames, whose dipole is ill-defined).
    """

    n_atoms: np.ndarray
    energy_pred: np.ndarray
    energy_ref: np.ndarray
    forces_pred: np.ndarray
    forces_ref: np.ndarray
    stress_pred: np.ndarray | None = None
    stress_ref: np.ndarray | None = None
    charges_pred: np.ndarray | None = None
    charges_ref: np.ndarray | None = None
    dipole_pred: np.ndarray | None = None
    dipole_ref: np.ndarray | None = None

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays by field name (stress entries only when present)."""
        return {k: v for k, v in vars(self).items() if v is not None}


def predict(model: Potential, frames: Sequence[Frame], batch_size: int = 32, *,
            graphs: Sequence | None = None, device: str | torch.device = "cpu") -> Predictions:
    """Energies, forces (and stress when any frame has a stress label; charges and dipoles
    when the model has a charge model and any frame has charge or dipole labels) for
    ``frames``.

    ``graphs`` are optional precomputed :func:`~pesforge.data.batch.frame_graph` results.
    """
    from pesforge.training.batches import charge_term, has_charge_model

    if len(frames) == 0:
        raise ValueError("cannot evaluate a model on zero frames")
    want_stress = any(f.stress is not None for f in frames)
    want_charges = has_charge_model(model) and any(
        f.charges is not None or f.dipole is not None for f in frames)
    energy, forces, stress, charges, dipole = [], [], [], [], []
    for start in range(0, len(frames), batch_size):
        chunk = frames[start:start + batch_size]
        g = None if graphs is None else graphs[start:start + batch_size]
        batch = to(collate(chunk, model.cutoff, dtype=model.dtype, graphs=g), device=device)
        out = compute(model, batch, forces=True, stress=want_stress)
        energy.append(out[K.ENERGY].cpu().double().numpy())
        forces.append(out[K.FORCES].cpu().double().numpy())
        if want_stress:
            stress.append(out[K.STRESS].cpu().double().numpy())
        if want_charges:
            from pesforge.physics.coulomb import charges_and_dipoles

            with torch.no_grad():
                q = charges_and_dipoles(charge_term(model), batch)
            charges.append(q[K.CHARGES].cpu().numpy())
            dipole.append(q[K.DIPOLE].cpu().numpy())
    nan3 = np.full((3, 3), np.nan)
    if want_charges:
        charge_arrays = dict(
            charges_pred=np.concatenate(charges), dipole_pred=np.concatenate(dipole),
            charges_ref=np.concatenate([np.full(len(f), np.nan) if f.charges is None
                                        else f.charges for f in frames]),
            dipole_ref=np.stack([np.full(3, np.nan) if f.dipole is None or f.pbc.any()
                                 else f.dipole for f in frames]))
    else:
        charge_arrays = {}
    return Predictions(
        n_atoms=np.array([len(f) for f in frames]),
        energy_pred=np.concatenate(energy),
        energy_ref=np.array([np.nan if f.energy is None else f.energy for f in frames]),
        forces_pred=np.concatenate(forces),
        forces_ref=np.concatenate([np.full((len(f), 3), np.nan) if f.forces is None
                                   else f.forces for f in frames]),
        stress_pred=np.concatenate(stress) if want_stress else None,
        stress_ref=np.stack([nan3 if f.stress is None else f.stress for f in frames])
        if want_stress else None,
        **charge_arrays,
    )


def _mae_rmse(error: np.ndarray) -> tuple[float | None, float | None]:
    error = error[~np.isnan(error)]
    if error.size == 0:
        return None, None
    return float(np.abs(error).mean()), float(np.sqrt((error**2).mean()))


def metrics_from_predictions(p: Predictions) -> dict[str, float | int | None]:
    """The :data:`METRIC_KEYS` (plus ``stress_mae_meV_per_A3`` / ``stress_rmse_meV_per_A3``
    when stress labels exist, and ``charge_mae_e`` / ``charge_rmse_e`` and ``dipole_mae_eA`` /
    ``dipole_rmse_eA`` when charges were predicted); ``None`` where the frames carry no such
    label."""
    e_err = (p.energy_pred - p.energy_ref) * 1e3
    e_mae, e_rmse = _mae_rmse(e_err)
    a_mae, a_rmse = _mae_rmse(e_err / p.n_atoms)
    f_mae, f_rmse = _mae_rmse(((p.forces_pred - p.forces_ref) * 1e3).reshape(-1))
    out: dict[str, float | int | None] = {
        "energy_mae_meV": e_mae, "energy_rmse_meV": e_rmse,
        "energy_mae_meV_per_atom": a_mae, "energy_rmse_meV_per_atom": a_rmse,
        "force_mae_meV_per_A": f_mae, "force_rmse_meV_per_A": f_rmse,
        "n_frames": int(len(p.energy_pred)),
    }
    if p.stress_pred is not None and p.stress_ref is not None:
        s_mae, s_rmse = _mae_rmse(((p.stress_pred - p.stress_ref) * 1e3).reshape(-1))
        out["stress_mae_meV_per_A3"] = s_mae
        out["stress_rmse_meV_per_A3"] = s_rmse
    if p.charges_pred is not None and p.charges_ref is not None:
        out["charge_mae_e"], out["charge_rmse_e"] = _mae_rmse(p.charges_pred - p.charges_ref)
    if p.dipole_pred is not None and p.dipole_ref is not None:
        out["dipole_mae_eA"], out["dipole_rmse_eA"] = _mae_rmse(
            (p.dipole_pred - p.dipole_ref).reshape(-1))
    return out


def evaluate(model: Potential, frames: Sequence[Frame], batch_size: int = 32, *,
             graphs: Sequence | None = None, device: str | torch.device = "cpu",
             return_predictions: bool = False):
    """Error metrics of ``model`` on ``frames`` (see :func:`metrics_from_predictions`).

    With ``return_predictions`` returns ``(metrics, predictions)``, the second being
    :meth:`Predictions.as_dict` (``energy_pred``, ``energy_ref``, ``forces_pred`` ...) for
    parity plots.
    """
    predictions = predict(model, frames, batch_size, graphs=graphs, device=device)
    metrics = metrics_from_predictions(predictions)
    return (metrics, predictions.as_dict()) if return_predictions else metrics


def evaluate_file(model_path: str, data_path: str, *, batch_size: int = 32,
                  energy_key: str = "energy", forces_key: str = "forces",
                  stress_key: str = "stress", allow_mixed: bool = False,
                  device: str | torch.device = "cpu", charges_key: str = "charges",
                  dipole_key: str = "dipole",
                  total_charge_key: str = "total_charge") -> dict[str, float | int | None]:
    """Metrics of the model file ``model_path`` on the labelled frames of ``data_path``.

    For an ensemble (its model file, or a folder written by
    :func:`pesforge.uncertainty.train_ensemble`) the metrics are those of the members' mean
    plus ``"calibration"`` (see :func:`pesforge.uncertainty.evaluation.calibration_metrics`).

    Warns (:func:`warnings.warn`) when the data's level of theory differs from the one the
    model was trained on, since the errors then mix model error and method difference.
    """
    import warnings

    from pesforge.data.readers import read
    from pesforge.data.validate import check_level_of_theory
    from pathlib import Path

    import pesforge.uncertainty  # noqa: F401  (registers ensemble and variance-head files)
    from pesforge.models.io import load_model
    from pesforge.uncertainty.training import ENSEMBLE_FILE

    if Path(model_path).is_dir():
        model_path = str(Path(model_path) / ENSEMBLE_FILE)
    model = load_model(model_path, device=device)
    frames = read(data_path, energy_key=energy_key, forces_key=forces_key,
                  stress_key=stress_key, charges_key=charges_key, dipole_key=dipole_key,
                  total_charge_key=total_charge_key, allow_mixed=allow_mixed)
    level = check_level_of_theory(frames, allow_mixed=allow_mixed)
    trained = (getattr(model, "extra", {}) or {}).get("level_of_theory")
    if level is not None and trained:
        from pesforge.data.frame import LevelOfTheory

        trained_level = LevelOfTheory.parse(trained)
        if trained_level.fingerprint() != level.fingerprint():
            warnings.warn(f"{data_path} is labelled at {level}, but {model_path} was trained on "
                          f"{trained_level}", stacklevel=2)
    if isinstance(model, pesforge.uncertainty.Ensemble):
        from pesforge.uncertainty.evaluation import ensemble_metrics, ensemble_predict

        return ensemble_metrics(ensemble_predict(model, frames, batch_size, device=device))
    return evaluate(model, frames, batch_size, device=device)
