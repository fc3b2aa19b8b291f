"""Physics kernels and classical terms as Potentials: cutoffs, ZBL / A/r^12 repulsion,
learned or fixed charges with long-range electrostatics (torch-pme), DFT-D3 dispersion.

Terms add to any model, ``ZBL() + model + Coulomb(...) + D3(...)``, and are registered so
they save and load with it (:mod:`pesforge.models.io`). Names are imported on first use, so
``pesforge.physics.cutoffs`` (used by descriptors) does not pull in the models package.
"""

from importlib import import_module

_EXPORTS = {
    "ZBL": "zbl", "InversePowerRepulsion": "zbl",
    "Coulomb": "coulomb", "charges_and_dipoles": "coulomb",
    "FixedCharges": "charges", "LearnedCharges": "charges",
    "D3": "dispersion", "subtract_d3": "dispersion",
    "CoreRepulsion": "core", "pair_radii_from_frames": "zbl",
    "build_term": "terms", "subtract_terms": "terms",
}
#: Modules whose potentials are registered for model files.
TERM_MODULES = ("zbl", "core", "coulomb", "dispersion")

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f"pesforge.physics.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'pesforge.physics' has no attribute {name!r}")


def register_terms() -> None:
    """Import the term modules so their potentials are in the registry."""
    for module in TERM_MODULES:
        import_module(f"pesforge.physics.{module}")
