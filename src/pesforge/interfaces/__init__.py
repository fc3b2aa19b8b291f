"""Thin adapters from pesforge potentials to other codes (ASE; later i-PI and LAMMPS).

Each has a consistency test against the native path. Adapters import their host code lazily:
``from pesforge.interfaces import Calculator`` loads ASE's calculator machinery only then.
"""

from __future__ import annotations

import importlib

_LAZY = {"Calculator": "pesforge.interfaces.ase_calculator",
         "EnsembleCalculator": "pesforge.interfaces.ensemble_calculator"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pesforge.interfaces' has no attribute {name!r}")
