"""Analysis of models and simulations: error reports and plots, Hessians and normal modes,
vibrations, elastic constants, phonons, RDFs and the validation suite.

Submodules other than the plots load on first use (``pesforge.analysis.model_hessian``).
"""

from __future__ import annotations

import importlib

from pesforge.analysis.plots import plot_energy_vs_time, plot_parity, plot_training_curve

_LAZY = {
    "model_hessian": "hessian", "finite_difference_hessian": "hessian",
    "normal_modes": "hessian",
    "optimize": "vibrations", "vibrational_analysis": "vibrations",
    "elastic_constants": "elastic", "phonopy_model": "phonons",
    "phonon_frequencies": "phonons", "RDF": "rdf",
    "nve_check": "validation", "nvt_check": "validation", "canonical_check": "validation",
    "rdf_check": "validation", "errors_by_config_type": "validation",
    "TorchMD": "md_drivers", "ASEMD": "md_drivers",
    "ValidationConfig": "report", "validation_report": "report",
}

__all__ = ["plot_training_curve", "plot_parity", "plot_energy_vs_time", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"pesforge.analysis.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'pesforge.analysis' has no attribute {name!r}")
