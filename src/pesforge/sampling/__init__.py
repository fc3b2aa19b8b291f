"""Generators of training structures: normal modes, Langevin MD, rattle and strains.

Every generated frame records how it was made in ``Frame.info`` (``generator``,
``generator_parameters`` as JSON, ``parent``); read it back with :func:`provenance`.
"""

from pesforge.sampling.displacements import (
    apply_strain,
    hydrostatic_strains,
    random_strains,
    rattle,
    shear_strains,
    thermal_rattle_sigma,
    thermal_strain_sigma,
)
from pesforge.sampling.md import autocorrelation_time, langevin_samples
from pesforge.sampling.normal_modes import hessian_of, mode_variances, normal_mode_samples
from pesforge.sampling.provenance import derived, provenance

__all__ = ["apply_strain", "hydrostatic_strains", "random_strains", "rattle", "shear_strains",
           "thermal_rattle_sigma", "thermal_strain_sigma", "autocorrelation_time",
           "langevin_samples", "hessian_of", "mode_variances", "normal_mode_samples",
           "derived", "provenance"]
