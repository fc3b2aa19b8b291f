"""Uncertainty: deep ensembles (epistemic), variance heads (aleatoric) and calibration.

* :class:`Ensemble`, :func:`ensemble_compute`: a committee as one Potential; mean energy and
  forces plus ENERGY_STD (S,) and FORCES_STD (A,).
* :func:`train_ensemble`, :func:`load_ensemble`: N members from different seeds in one call,
  one folder, one model file; resumable.
* :class:`NoiseHead`: per-atom variance contributions trained by the Gaussian NLL
  (``loss.kind: gaussian_nll``).
* :mod:`~pesforge.uncertainty.calibration`: Spearman, NLL, miscalibration area, calibration
  curve, recalibration factor; :func:`ensemble_predict`, :func:`ensemble_metrics`,
  :func:`recalibrate` apply them to an ensemble on frames.
* The ASE calculator is :class:`pesforge.interfaces.EnsembleCalculator`.
"""

from pesforge.uncertainty.calibration import (calibration_curve, calibration_report,
                                              fit_scale, gaussian_nll, miscalibration_area,
                                              plot_calibration, spearman)
from pesforge.uncertainty.ensemble import Ensemble, ensemble_compute
from pesforge.uncertainty.evaluation import (EnsemblePredictions, calibration_metrics,
                                             ensemble_metrics, ensemble_predict, fit_scales,
                                             recalibrate)
from pesforge.uncertainty.noise import NoiseHead, with_noise_head
from pesforge.uncertainty.training import (EnsembleResult, ensemble_from_files, load_ensemble,
                                           train_ensemble)

__all__ = ["Ensemble", "ensemble_compute", "train_ensemble", "load_ensemble",
           "ensemble_from_files", "EnsembleResult", "NoiseHead", "with_noise_head",
           "EnsemblePredictions", "ensemble_predict", "ensemble_metrics", "calibration_metrics",
           "fit_scales", "recalibrate", "spearman", "gaussian_nll", "calibration_curve",
           "miscalibration_area", "fit_scale", "calibration_report", "plot_calibration"]
