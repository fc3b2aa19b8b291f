"""Data: frames and levels of theory, readers and writers, validation, splits, statistics.

The path from a file to a batch: :func:`read` (extxyz, ASE db, rMD17 NPZ; units converted
there) gives validated :class:`Frame` objects; :func:`combine` refuses mixed levels of theory;
:func:`split_indices` / :func:`train_validation_split` split them reproducibly; :func:`collate`
turns frames into the one batch type described in :mod:`pesforge.data.keys`.
"""

from __future__ import annotations

import importlib

from pesforge.data import keys
from pesforge.data.datasets import RMD17_MOLECULES, bundled_path, rmd17
from pesforge.data.frame import Frame, LevelOfTheory
from pesforge.data.readers import RMD17_LEVEL_OF_THEORY, SUPPORTED_FORMATS, read
from pesforge.data.splits import split_indices, train_validation_split
from pesforge.data.statistics import (
    composition_matrix,
    elements_of,
    energy_per_atom_residual_std,
    fit_reference_energies,
    force_rms,
    mean_neighbor_count,
)
from pesforge.data.validate import (
    DataError,
    LevelOfTheoryError,
    check_level_of_theory,
    combine,
    validate_frame,
    validate_frames,
)
from pesforge.data.writers import write_extxyz, write_npz

# batch.py needs torch and the neighbour list, which itself imports pesforge.data.keys: loading
# it lazily keeps `import pesforge.data` light and free of an import cycle.
_LAZY = {name: "pesforge.data.batch" for name in ("Batch", "collate", "frame_graph", "to",
                                                   "from_atoms")}

__all__ = [
    "keys", "Frame", "LevelOfTheory", "read", "write_extxyz", "write_npz", "SUPPORTED_FORMATS",
    "RMD17_LEVEL_OF_THEORY", "RMD17_MOLECULES", "rmd17", "bundled_path",
    "DataError", "LevelOfTheoryError", "validate_frame", "validate_frames",
    "check_level_of_theory", "combine", "split_indices", "train_validation_split",
    "elements_of", "composition_matrix", "fit_reference_energies", "force_rms",
    "energy_per_atom_residual_std", "mean_neighbor_count", *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pesforge.data' has no attribute {name!r}")
