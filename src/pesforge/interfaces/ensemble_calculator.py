"""An ASE calculator for a deep ensemble: the members' mean, with their spread in ``results``.

Each call builds a one-system batch and evaluates it with
:func:`pesforge.uncertainty.ensemble.ensemble_compute` (one :func:`compute` per member), so the
results equal the native ensemble path. The stds include the ensemble's recalibration factors.
"""

from __future__ import annotations

import os

import torch

from pesforge.data import keys as K
from pesforge.interfaces.ase_calculator import Calculator


class EnsembleCalculator(Calculator):
    """ASE calculator returning an ensemble's mean and exposing its uncertainty.

    Properties: ``energy``, ``free_energy``, ``energies``, ``forces``, ``stress`` (as
    :class:`~pesforge.interfaces.Calculator`, the members' mean) and

    * ``energy_std``: float, eV, the (recalibrated) ensemble std of the energy;
    * ``forces_std``: (N,) eV/Å, each atom's (recalibrated) force deviation
      sqrt(mean_m |F_m,i - <F_i>|²);
    * ``max_forces_std``: float, eV/Å, the largest of them (the usual selection criterion);
    * ``energy_noise_variance`` (eV²) and ``forces_noise_variance`` ((N,) eV²/Å²) when the
      members have a variance head.

    Args:
        ensemble_or_path: an :class:`~pesforge.uncertainty.Ensemble` (left as it is), its
            model file, or a folder written by :func:`~pesforge.uncertainty.train_ensemble`
            (then the calculator owns the ensemble and freezes its parameters).
        device, dtype, **kwargs: as for :class:`~pesforge.interfaces.Calculator`.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress",
                              "energy_std", "forces_std", "max_forces_std",
                              "energy_noise_variance", "forces_noise_variance"]

    def __init__(self, ensemble_or_path, device: str | torch.device = "cpu",
                 dtype: torch.dtype | None = None, **kwargs):
        from pesforge.uncertainty.ensemble import Ensemble

        if isinstance(ensemble_or_path, (str, os.PathLike)):
            from pesforge.uncertainty.training import load_ensemble

            # the calculator owns a loaded ensemble: freeze it, as Calculator does a model
            ensemble_or_path = load_ensemble(ensemble_or_path,
                                             device=device).requires_grad_(False)
        if not isinstance(ensemble_or_path, Ensemble):
            raise TypeError(f"EnsembleCalculator needs a pesforge Ensemble or the path of one, "
                            f"not {type(ensemble_or_path).__name__}")
        super().__init__(ensemble_or_path, device=device, dtype=dtype, **kwargs)

    def evaluate(self, batch, stress):
        """Every member on the batch: mean outputs plus their standard deviations."""
        from pesforge.uncertainty.ensemble import ensemble_compute

        return ensemble_compute(self.potential, batch, stress=stress)

    def extra_results(self, out):
        forces_std = out[K.FORCES_STD]
        results = {"energy_std": float(out[K.ENERGY_STD][0]), "forces_std": forces_std,
                   "max_forces_std": float(forces_std.max())}
        if K.ENERGY_NOISE_VAR in out:
            results["energy_noise_variance"] = float(out[K.ENERGY_NOISE_VAR][0])
            results["forces_noise_variance"] = out[K.FORCES_NOISE_VAR]
        return results
