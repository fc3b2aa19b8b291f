"""Writing frames to extended XYZ, labels under ``REF_`` names so predictions never clash."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pesforge.data.frame import Frame
from pesforge.fileio import atomic_write


def write_extxyz(path: str | os.PathLike, frames: Sequence[Frame],
                 prefix: str = "REF_") -> Path:
    """Write ``frames`` to an extxyz file atomically (all frames appear, or none do).

    Labels go to ``{prefix}energy`` (eV), ``{prefix}forces`` (eV/Å, per atom) and
    ``{prefix}stress`` (eV/Å³, full 3x3, ASE sign); the level of theory to a
    ``level_of_theory`` string; ``Frame.info`` entries are kept. Per-atom columns (positions,
    forces) use ASE's fixed format with 8 decimals; per-system values keep full precision.
    Read back with ``read(path, energy_key=f"{prefix}energy", forces_key=f"{prefix}forces",
    stress_key=f"{prefix}stress")``.

    Returns:
        The path written.
    """
    if len(frames) == 0:
        raise ValueError(f"{path}: no frames to write")
    images = [_atoms(frame, prefix) for frame in frames]

    def write(tmp: str) -> None:
        from ase.io import write as ase_write

        ase_write(tmp, images, format="extxyz")

    return atomic_write(path, write)


def _atoms(frame: Frame, prefix: str):
    from ase import Atoms

    labels = {f"{prefix}energy", f"{prefix}forces", f"{prefix}stress", "level_of_theory"}
    atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell,
                  pbc=frame.pbc)
    atoms.info.update({k: v for k, v in frame.info.items() if k not in labels})
    if frame.energy is not None:
        atoms.info[f"{prefix}energy"] = frame.energy
    if frame.stress is not None:
        atoms.info[f"{prefix}stress"] = frame.stress.copy()
    if frame.forces is not None:
        atoms.arrays[f"{prefix}forces"] = frame.forces.copy()
    if frame.level_of_theory is not None:
        atoms.info["level_of_theory"] = str(frame.level_of_theory)
    return atoms
