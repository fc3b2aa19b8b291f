"""Writing frames to extended XYZ (labels under ``REF_`` names so predictions never clash) and
to the rMD17 NPZ layout that :func:`pesforge.data.read` reads."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pesforge.data.frame import Frame
from pesforge.fileio import atomic_write


def write_extxyz(path: str | os.PathLike, frames: Sequence[Frame],
                 prefix: str = "REF_") -> Path:
    """Write ``frames`` to an extxyz file atomically (all frames appear, or none do).

    Labels go to ``{prefix}energy`` (eV), ``{prefix}forces`` (eV/Å, per atom),
    ``{prefix}stress`` (eV/Å³, full 3x3, ASE sign), ``{prefix}charges`` (e, per atom) and
    ``{prefix}dipole`` (e·Å); the net charge (an input, not a label) to ``total_charge``; the
    level of theory to a ``level_of_theory`` string; ``Frame.info`` entries are kept.
    Per-atom columns (positions, forces, charges) use ASE's fixed format with 8 decimals;
    per-system values keep full precision. Read back with ``read(path,
    energy_key=f"{prefix}energy", forces_key=f"{prefix}forces", stress_key=f"{prefix}stress",
    charges_key=f"{prefix}charges", dipole_key=f"{prefix}dipole")``.

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

    labels = {f"{prefix}{name}" for name in ("energy", "forces", "stress", "charges", "dipole")}
    labels |= {"level_of_theory", "total_charge"}
    atoms = Atoms(numbers=frame.numbers, positions=frame.positions, cell=frame.cell,
                  pbc=frame.pbc)
    atoms.info.update({k: v for k, v in frame.info.items() if k not in labels})
    if frame.energy is not None:
        atoms.info[f"{prefix}energy"] = frame.energy
    if frame.stress is not None:
        atoms.info[f"{prefix}stress"] = frame.stress.copy()
    if frame.forces is not None:
        atoms.arrays[f"{prefix}forces"] = frame.forces.copy()
    if frame.charges is not None:
        atoms.arrays[f"{prefix}charges"] = frame.charges.copy()
    if frame.dipole is not None:
        atoms.info[f"{prefix}dipole"] = frame.dipole.copy()
    if frame.total_charge is not None:
        atoms.info["total_charge"] = frame.total_charge
    if frame.level_of_theory is not None:
        atoms.info["level_of_theory"] = str(frame.level_of_theory)
    return atoms


def write_npz(path: str | os.PathLike, frames: Sequence[Frame]) -> Path:
    """Write frames of one molecule (same atoms, in the same order) to the rMD17 NPZ layout,
    atomically: ``nuclear_charges`` (N,), ``coords`` (F, N, 3) Å, ``energies`` (F,) kcal/mol,
    ``forces`` (F, N, 3) kcal/mol/Å, and when every frame has them ``charges`` (F, N) e,
    ``dipole`` (F, 3) e·Å and ``total_charge`` (F,) e. Cells, stress and ``info`` are not
    part of the layout and are dropped. Read back with :func:`pesforge.data.read`.

    Raises:
        ValueError: no frames, frames of different molecules, or a frame without energy or
            forces (the layout requires both).
    """
    from pesforge.units import KCAL_PER_MOL

    if len(frames) == 0:
        raise ValueError(f"{path}: no frames to write")
    numbers = frames[0].numbers
    for k, frame in enumerate(frames):
        if not np.array_equal(frame.numbers, numbers):
            raise ValueError(f"{path}: frame {k} ({frame.source}) has other atoms than frame 0; "
                             f"the NPZ layout holds one molecule")
        if frame.energy is None or frame.forces is None:
            raise ValueError(f"{path}: frame {k} ({frame.source}) lacks an energy or forces, "
                             f"which the NPZ layout requires")
    arrays = {"nuclear_charges": numbers,
              "coords": np.stack([f.positions for f in frames]),
              "energies": np.array([f.energy for f in frames]) / KCAL_PER_MOL,
              "forces": np.stack([f.forces for f in frames]) / KCAL_PER_MOL}
    for name in ("charges", "dipole", "total_charge"):
        if all(getattr(f, name) is not None for f in frames):
            arrays[name] = np.stack([np.asarray(getattr(f, name)) for f in frames])

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:  # np.savez on a name would append ".npz"
            np.savez(handle, **arrays)

    return atomic_write(path, write)
