"""A labelled structure (one *system*) and the level of theory its labels were computed at."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LevelOfTheory:
    """The method that produced a label, structured where known, free text otherwise.

    Two labels are consistent when their :meth:`fingerprint` strings are equal.
    """

    method: str | None = None
    basis: str | None = None
    code: str | None = None
    text: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, value: "LevelOfTheory | str | dict | None") -> "LevelOfTheory | None":
        """Accept a LevelOfTheory, free text (``"PBE/def2-SVP (ORCA)"``) or a dict of fields."""
        if value is None or isinstance(value, LevelOfTheory):
            return value
        if isinstance(value, str):
            return cls(text=value.strip()) if value.strip() else None
        if isinstance(value, dict):
            known = {k: value[k] for k in ("method", "basis", "code", "text") if k in value}
            extra = tuple(sorted((str(k), str(v)) for k, v in value.items() if k not in known))
            return cls(**{k: (None if v is None else str(v)) for k, v in known.items()}, extra=extra)
        raise TypeError(f"level of theory must be str, dict or LevelOfTheory, not {type(value)}")

    def fingerprint(self) -> str:
        """A canonical, case-insensitive string; equal fingerprints mean the same theory."""
        parts = [f"{k}={v}" for k, v in (("code", self.code), ("method", self.method),
                                         ("basis", self.basis), ("text", self.text)) if v]
        parts += [f"{k}={v}" for k, v in self.extra]
        return ";".join(parts).lower()

    def to_dict(self) -> dict[str, str]:
        out = {k: v for k, v in (("method", self.method), ("basis", self.basis),
                                 ("code", self.code), ("text", self.text)) if v is not None}
        out.update(dict(self.extra))
        return out

    def __str__(self) -> str:
        if self.text and not (self.method or self.basis):
            return self.text
        core = "/".join(p for p in (self.method, self.basis) if p)
        return f"{core} ({self.code})" if self.code else core


@dataclass
class Frame:
    """One system with optional reference labels, in pesforge units.

    Attributes:
        numbers: (N,) int64 atomic numbers.
        positions: (N, 3) float64 positions in Å.
        cell: (3, 3) float64 cell vectors as rows in Å (zeros when there is no cell).
        pbc: (3,) bool periodicity along each cell vector.
        energy: total energy in eV, or None.
        forces: (N, 3) float64 forces in eV/Å, or None.
        stress: (3, 3) float64 stress in eV/Å³ (ASE sign), or None.
        level_of_theory: the method the labels come from, or None when unknown.
        source: where the frame came from, ``"path:index"``, for error messages.
        info: free-form metadata (configuration type, provenance ...).
    """

    numbers: np.ndarray
    positions: np.ndarray
    cell: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))
    pbc: np.ndarray = field(default_factory=lambda: np.zeros(3, dtype=bool))
    energy: float | None = None
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None
    level_of_theory: LevelOfTheory | None = None
    source: str = "<memory>"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.numbers = np.asarray(self.numbers, dtype=np.int64).reshape(-1)
        self.positions = np.asarray(self.positions, dtype=np.float64)
        self.cell = np.asarray(self.cell, dtype=np.float64).reshape(3, 3)
        self.pbc = np.broadcast_to(np.asarray(self.pbc, dtype=bool), (3,)).copy()
        if self.forces is not None:
            self.forces = np.asarray(self.forces, dtype=np.float64)
        if self.stress is not None:
            self.stress = voigt_to_matrix(np.asarray(self.stress, dtype=np.float64))
        if self.energy is not None:
            self.energy = float(self.energy)
        self.level_of_theory = LevelOfTheory.parse(self.level_of_theory)

    def __len__(self) -> int:
        return len(self.numbers)

    @classmethod
    def from_atoms(cls, atoms, *, energy=None, forces=None, stress=None, level_of_theory=None,
                   source: str = "<memory>") -> "Frame":
        """Build a frame from an :class:`ase.Atoms` and explicit labels (already in eV, Å)."""
        return cls(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell.array,
                   pbc=atoms.pbc, energy=energy, forces=forces, stress=stress,
                   level_of_theory=level_of_theory, source=source, info=dict(atoms.info))

    def to_atoms(self):
        """An :class:`ase.Atoms` with this frame's structure (labels go to ``info``/``arrays``
        under ``REF_energy``, ``REF_forces`` and ``REF_stress``)."""
        from ase import Atoms

        atoms = Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=self.pbc)
        atoms.info.update(self.info)
        if self.energy is not None:
            atoms.info["REF_energy"] = self.energy
        if self.stress is not None:
            atoms.info["REF_stress"] = self.stress.copy()
        if self.forces is not None:
            atoms.arrays["REF_forces"] = self.forces.copy()
        if self.level_of_theory is not None:
            atoms.info["level_of_theory"] = str(self.level_of_theory)
        return atoms


def voigt_to_matrix(stress: np.ndarray) -> np.ndarray:
    """Stress as a (3, 3) matrix from a 3x3, 9-vector or Voigt 6-vector (xx yy zz yz xz xy)."""
    stress = np.asarray(stress, dtype=np.float64)
    if stress.shape == (3, 3):
        return stress
    if stress.shape == (9,):
        return stress.reshape(3, 3)
    if stress.shape == (6,):
        xx, yy, zz, yz, xz, xy = stress
        return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    raise ValueError(f"stress must have shape (3, 3), (9,) or (6,), got {stress.shape}")
