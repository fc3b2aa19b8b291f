"""A labelled structure (one *system*) and the level of theory its labels were computed at."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np


_CORE = ("method", "basis", "code", "text")
#: Structured fields beyond method/basis/code, in fingerprint order (all optional strings).
DETAIL_FIELDS = ("version", "pseudopotential", "cutoff", "kpoints", "grid", "scf_tolerance",
                 "dispersion", "charge", "spin")
_FINGERPRINT_ORDER = ("code", "version", "method", "basis", "pseudopotential", "cutoff",
                      "kpoints", "grid", "scf_tolerance", "dispersion", "charge", "spin", "text")
_ALIASES = {"k_points": "kpoints", "kpts": "kpoints", "k-points": "kpoints",
            "ecut": "cutoff", "encut": "cutoff", "conv_tol": "scf_tolerance",
            "scf_tol": "scf_tolerance", "pseudopotentials": "pseudopotential", "pp": "pseudopotential",
            "xc": "method", "functional": "method", "program": "code"}
_HEAD = re.compile(r"^(?P<method>[^/\s()]+)/(?P<basis>[^;()]+?)(?:\s+\((?P<code>[^()]+)\))?$")


def _canonical(value: Any) -> str | None:
    """A field value as a string: numbers in shortest form, sequences joined by ``x``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format(float(value), "g") if not float(value).is_integer() else str(int(value))
    if isinstance(value, (list, tuple, np.ndarray)):
        return "x".join(_canonical(v) for v in value)
    text = str(value).strip()
    try:  # "500.0" and "500" are the same cutoff
        number = float(text)
    except ValueError:
        return text or None
    return _canonical(number) if np.isfinite(number) else text


@dataclass(frozen=True)
class LevelOfTheory:
    """The method that produced a label, structured where known, free text otherwise.

    Two labels are consistent when their :meth:`fingerprint` strings are equal. Besides
    ``method``/``basis``/``code`` a level may record (all optional strings; numbers and
    sequences are canonicalised, so ``cutoff=500`` equals ``"500.0"`` and ``kpoints=[4, 4, 4]``
    equals ``"4x4x4"``): ``version`` of the code, ``pseudopotential``, plane-wave ``cutoff``
    (eV), ``kpoints``, integration ``grid``, ``scf_tolerance``, ``dispersion`` correction,
    total ``charge`` (e) and ``spin`` (2S, PySCF's convention). Anything else goes to ``extra``.
    """

    method: str | None = None
    basis: str | None = None
    code: str | None = None
    text: str | None = None
    extra: tuple[tuple[str, str], ...] = ()
    version: str | None = None
    pseudopotential: str | None = None
    cutoff: str | None = None
    kpoints: str | None = None
    grid: str | None = None
    scf_tolerance: str | None = None
    dispersion: str | None = None
    charge: str | None = None
    spin: str | None = None

    def __post_init__(self) -> None:
        for name in DETAIL_FIELDS:
            object.__setattr__(self, name, _canonical(getattr(self, name)))

    @classmethod
    def parse(cls, value: "LevelOfTheory | str | dict | None") -> "LevelOfTheory | None":
        """Accept a LevelOfTheory, free text (``"PBE/def2-SVP (ORCA)"``, optionally followed
        by ``"; cutoff=500; kpoints=4x4x4"`` as :meth:`__str__` writes) or a dict of fields."""
        if value is None or isinstance(value, LevelOfTheory):
            return value
        if isinstance(value, str):
            return cls._parse_text(value)
        if isinstance(value, dict):
            value = {_ALIASES.get(str(k).lower(), str(k)): v for k, v in value.items()
                     if v is not None}
            names = _CORE + DETAIL_FIELDS
            known = {k: value[k] for k in names if k in value and value[k] is not None}
            extra = tuple(sorted((str(k), str(v)) for k, v in value.items() if k not in names))
            core = {k: (None if v is None else str(v)) for k, v in known.items() if k in _CORE}
            details = {k: v for k, v in known.items() if k in DETAIL_FIELDS}
            return cls(**core, **details, extra=extra)
        raise TypeError(f"level of theory must be str, dict or LevelOfTheory, not {type(value)}")

    @classmethod
    def _parse_text(cls, text: str) -> "LevelOfTheory | None":
        text = text.strip()
        if not text:
            return None
        head, *tail = [part.strip() for part in text.split(";")]
        pairs = [part.partition("=") for part in tail if part]
        structured = (tail and all(sep and _ALIASES.get(k.strip().lower(), k.strip())
                                   in DETAIL_FIELDS for k, sep, _ in pairs))
        match = _HEAD.match(head)
        if not structured or match is None:
            return cls(text=text)
        fields = {_ALIASES.get(k.strip().lower(), k.strip()): v.strip() for k, _, v in pairs}
        code = match["code"].strip() if match["code"] else None
        return cls(method=match["method"], basis=match["basis"], code=code, **fields)

    def fingerprint(self) -> str:
        """A canonical, case-insensitive string; equal fingerprints mean the same theory."""
        parts = [f"{k}={getattr(self, k)}" for k in _FINGERPRINT_ORDER if getattr(self, k)]
        parts += [f"{k}={v}" for k, v in self.extra]
        return ";".join(parts).lower()

    def details(self) -> dict[str, str]:
        """The structured fields beyond method/basis/code that are set."""
        return {k: getattr(self, k) for k in DETAIL_FIELDS if getattr(self, k) is not None}

    def to_dict(self) -> dict[str, str]:
        out = {k: v for k, v in (("method", self.method), ("basis", self.basis),
                                 ("code", self.code), ("text", self.text)) if v is not None}
        out.update(self.details())
        out.update(dict(self.extra))
        return out

    def __str__(self) -> str:
        if self.text and not (self.method or self.basis):
            return self.text
        core = "/".join(p for p in (self.method, self.basis) if p)
        core = f"{core} ({self.code})" if self.code else core
        details = self.details()
        if details and self.method and self.basis:  # readable back by parse()
            core += "".join(f"; {k}={v}" for k, v in details.items())
        return core


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
        charges: (N,) float64 reference partial charges in e, or None.
        dipole: (3,) float64 reference dipole sum_i q_i r_i in e·Å (molecules), or None.
        total_charge: net charge in e, or None (treated as neutral in batches).
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
    charges: np.ndarray | None = None
    dipole: np.ndarray | None = None
    total_charge: float | None = None

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
        if self.charges is not None:
            self.charges = np.asarray(self.charges, dtype=np.float64)
        if self.dipole is not None:
            self.dipole = np.asarray(self.dipole, dtype=np.float64)
        if self.total_charge is not None:
            self.total_charge = float(self.total_charge)
        self.level_of_theory = LevelOfTheory.parse(self.level_of_theory)

    def __len__(self) -> int:
        return len(self.numbers)

    @classmethod
    def from_atoms(cls, atoms, *, energy=None, forces=None, stress=None, level_of_theory=None,
                   source: str = "<memory>", charges=None, dipole=None,
                   total_charge=None) -> "Frame":
        """Build a frame from an :class:`ase.Atoms` and explicit labels (already in eV, Å,
        e and e·Å). Without ``total_charge`` the net charge is read from ``atoms.info``
        (``total_charge``, as :meth:`to_atoms` writes it, else ASE's ``charge``), so a charged
        system reaching a calculator is not treated as neutral."""
        if total_charge is None:
            total_charge = atoms.info.get("total_charge", atoms.info.get("charge"))
        return cls(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell.array,
                   pbc=atoms.pbc, energy=energy, forces=forces, stress=stress,
                   level_of_theory=level_of_theory, source=source, info=dict(atoms.info),
                   charges=charges, dipole=dipole, total_charge=total_charge)

    def to_atoms(self):
        """An :class:`ase.Atoms` with this frame's structure (labels go to ``info``/``arrays``
        under ``REF_energy``, ``REF_forces``, ``REF_stress``, ``REF_charges`` and
        ``REF_dipole``; the net charge to ``info["total_charge"]``)."""
        from ase import Atoms

        atoms = Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=self.pbc)
        atoms.info.update(self.info)
        if self.energy is not None:
            atoms.info["REF_energy"] = self.energy
        if self.stress is not None:
            atoms.info["REF_stress"] = self.stress.copy()
        if self.forces is not None:
            atoms.arrays["REF_forces"] = self.forces.copy()
        if self.charges is not None:
            atoms.arrays["REF_charges"] = self.charges.copy()
        if self.dipole is not None:
            atoms.info["REF_dipole"] = self.dipole.copy()
        if self.total_charge is not None:
            atoms.info["total_charge"] = self.total_charge
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
