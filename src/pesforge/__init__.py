"""pesforge: machine-learned potential energy surfaces from quantum-chemistry data.

The public entry points are :func:`load_model`, :class:`Calculator` (an ASE calculator),
the :class:`~pesforge.models.Potential` interface and the readers in :mod:`pesforge.data`.
Heavy submodules load on first use so that ``import pesforge`` stays fast.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load_model": "pesforge.models.io",
    "save_model": "pesforge.models.io",
    "compute": "pesforge.models.autograd",
    "Potential": "pesforge.models.potential",
    "BPNN": "pesforge.models.bpnn",
    "Calculator": "pesforge.interfaces.ase_calculator",
    "Frame": "pesforge.data.frame",
    "read": "pesforge.data.readers",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pesforge' has no attribute {name!r}")
