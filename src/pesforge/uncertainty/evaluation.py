"""Ensemble predictions on labelled frames, their calibration figures, and recalibration.

:func:`ensemble_predict` runs :func:`~pesforge.uncertainty.ensemble.ensemble_compute` over
frames in batches; :func:`calibration_metrics` turns the result into calibration figures for
energies (per frame) and forces (per component, per atom and per frame); :func:`recalibrate`
fits the ensemble's std scale factors on validation frames.

The predictive std of a quantity is sqrt(std_ensemble² + noise variance) when the members have
a variance head, else the ensemble std. A per-atom force deviation d_i (FORCES_STD) is read as
a per-component std d_i / sqrt(3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate, to
from pesforge.data.frame import Frame
from pesforge.training.metrics import Predictions, metrics_from_predictions
from pesforge.uncertainty import calibration as cal
from pesforge.uncertainty.ensemble import Ensemble, ensemble_compute


@dataclass
class EnsemblePredictions(Predictions):
    """:class:`~pesforge.training.metrics.Predictions` of the ensemble mean, plus:

    Attributes:
        energy_std: (F,) eV, ensemble std of each frame's energy (recalibrated).
        forces_std: (A,) eV/Å, per-atom force deviation (recalibrated).
        energy_noise_var: (F,) eV², aleatoric energy variance, or None.
        forces_noise_var: (A,) eV²/Å², aleatoric per-component force variance, or None.
    """

    energy_std: np.ndarray | None = None
    forces_std: np.ndarray | None = None
    energy_noise_var: np.ndarray | None = None
    forces_noise_var: np.ndarray | None = None

    def energy_sigma(self) -> np.ndarray:
        """(F,) eV: predictive std of the total energy."""
        var = self.energy_std**2
        return np.sqrt(var if self.energy_noise_var is None else var + self.energy_noise_var)

    def forces_sigma(self) -> np.ndarray:
        """(A,) eV/Å: predictive std of each force component of an atom."""
        var = self.forces_std**2 / 3.0
        return np.sqrt(var if self.forces_noise_var is None else var + self.forces_noise_var)


def ensemble_predict(ensemble: Ensemble, frames: Sequence[Frame], batch_size: int = 32, *,
                     device: str | torch.device = "cpu") -> EnsemblePredictions:
    """Mean predictions and uncertainties of ``ensemble`` on ``frames`` (NaN for missing
    labels)."""
    if len(frames) == 0:
        raise ValueError("cannot evaluate an ensemble on zero frames")
    ensemble.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(frames), batch_size):
        chunk = frames[start:start + batch_size]
        batch = to(collate(chunk, ensemble.cutoff, dtype=ensemble.dtype), device=device)
        out = ensemble_compute(ensemble, batch)
        for key in (K.ENERGY, K.FORCES, K.ENERGY_STD, K.FORCES_STD, K.ENERGY_NOISE_VAR,
                    K.FORCES_NOISE_VAR):
            if key in out:
                parts.setdefault(key, []).append(out[key].cpu().double().numpy())
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return EnsemblePredictions(
        n_atoms=np.array([len(f) for f in frames]),
        energy_pred=cat[K.ENERGY],
        energy_ref=np.array([np.nan if f.energy is None else f.energy for f in frames]),
        forces_pred=cat[K.FORCES],
        forces_ref=np.concatenate([np.full((len(f), 3), np.nan) if f.forces is None
                                   else f.forces for f in frames]),
        energy_std=cat[K.ENERGY_STD], forces_std=cat[K.FORCES_STD],
        energy_noise_var=cat.get(K.ENERGY_NOISE_VAR), forces_noise_var=cat.get(K.FORCES_NOISE_VAR))


def _per_frame_rms(values: np.ndarray, n_atoms: np.ndarray) -> np.ndarray:
    """RMS of per-atom rows of ``values`` (A, ...) within each frame -> (F,)."""
    sq = (values.reshape(len(values), -1) ** 2).mean(axis=1)
    bounds = np.concatenate([[0], np.cumsum(n_atoms)])
    return np.sqrt(np.array([sq[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:])]))


def calibration_metrics(p: EnsemblePredictions) -> dict[str, dict]:
    """Calibration of the predictive stds of ``p`` (errors and stds in meV, meV/Å).

    Returns ``{"energy": ..., "forces": ...}`` (each a
    :func:`~pesforge.uncertainty.calibration.calibration_report`: spearman, nll,
    miscalibration_area, fitted_scale, rmse, rms_std, n; energy per frame,
    forces per Cartesian component), ``"forces_per_atom"`` (Spearman of the atoms' force
    deviation vs the norm of their force error), and ``"forces_per_frame"`` (Spearman of each
    frame's RMS predicted std vs its RMS force error, and of its max per-atom deviation vs its
    max per-atom error norm). Quantities without labels are omitted.
    """
    out: dict[str, dict] = {}
    e_err = (p.energy_pred - p.energy_ref) * 1e3
    if np.isfinite(e_err).any():
        out["energy"] = cal.calibration_report(e_err, p.energy_sigma() * 1e3)
    f_err = (p.forces_pred - p.forces_ref) * 1e3  # (A, 3)
    labelled = np.isfinite(f_err).all(axis=1)
    if labelled.any():
        sigma = p.forces_sigma() * 1e3
        out["forces"] = cal.calibration_report(f_err[labelled],
                                               np.repeat(sigma[labelled, None], 3, axis=1))
        norm = np.linalg.norm(f_err, axis=1)
        out["forces_per_atom"] = {"spearman": cal.spearman(p.forces_std[labelled],
                                                           norm[labelled]),
                                  "n": int(labelled.sum())}
        frame_ok = np.array([labelled[a:b].all() for a, b in _bounds(p.n_atoms)])
        rms_err = _per_frame_rms(np.where(labelled[:, None], f_err, 0.0), p.n_atoms)
        rms_std = _per_frame_rms(sigma, p.n_atoms)
        max_err = np.array([norm[a:b].max() for a, b in _bounds(p.n_atoms)])
        max_std = np.array([p.forces_std[a:b].max() for a, b in _bounds(p.n_atoms)])
        out["forces_per_frame"] = {
            "spearman_rms": cal.spearman(rms_std[frame_ok], rms_err[frame_ok]),
            "spearman_max": cal.spearman(max_std[frame_ok], max_err[frame_ok]),
            "n": int(frame_ok.sum())}
    return out


def _bounds(n_atoms: np.ndarray) -> list[tuple[int, int]]:
    b = np.concatenate([[0], np.cumsum(n_atoms)])
    return list(zip(b[:-1].tolist(), b[1:].tolist()))


def ensemble_metrics(p: EnsemblePredictions) -> dict:
    """Error metrics of the mean (:func:`~pesforge.training.metrics.metrics_from_predictions`)
    plus ``"calibration"`` (:func:`calibration_metrics`)."""
    return {**metrics_from_predictions(p), "calibration": calibration_metrics(p)}


def fit_scales(p: EnsemblePredictions) -> tuple[float | None, float | None]:
    """Factors (energy, forces) that make the recalibrated predictive stds of ``p`` most
    likely: the epistemic parts are multiplied, noise variances kept. ``p``'s stds must be
    unscaled (ensemble scales of 1). None where a quantity has no labels."""
    energy = forces = None
    e_err = p.energy_pred - p.energy_ref
    ok = np.isfinite(e_err)
    if ok.any():
        noise = None if p.energy_noise_var is None else p.energy_noise_var[ok]
        energy = cal.fit_scale(e_err[ok], p.energy_std[ok], noise_var=noise)
    f_err = p.forces_pred - p.forces_ref
    ok = np.isfinite(f_err).all(axis=1)
    if ok.any():
        std = np.repeat(p.forces_std[ok, None] / math.sqrt(3.0), 3, axis=1)
        noise = None if p.forces_noise_var is None \
            else np.repeat(p.forces_noise_var[ok, None], 3, axis=1)
        forces = cal.fit_scale(f_err[ok], std, noise_var=noise)
    return energy, forces


def recalibrate(ensemble: Ensemble, frames: Sequence[Frame], batch_size: int = 32, *,
                device: str | torch.device = "cpu") -> tuple[float | None, float | None]:
    """Fit and set the ensemble's std scale factors on labelled validation ``frames``
    (frames none of the members trained on); returns (energy, forces) factors."""
    ensemble.set_scales(1.0, 1.0)
    energy, forces = fit_scales(ensemble_predict(ensemble, frames, batch_size, device=device))
    ensemble.set_scales(energy, forces)
    return energy, forces
