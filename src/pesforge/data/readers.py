"""Reading labelled structures from files into :class:`~pesforge.data.frame.Frame` lists.

One entry point, :func:`read`, dispatching on the extension (or ``format``): extended XYZ and
ASE databases through ASE, and the revised-MD17 NPZ layout. Units are converted here and only
here: after :func:`read` everything is eV, Å and eV/Å³ (ASE stress sign, cell vectors as rows),
charges e and dipoles e·Å (ASE's unit for ``dipole``, so no conversion).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pesforge.data.frame import Frame, LevelOfTheory, voigt_to_matrix
from pesforge.data.validate import DataError, check_level_of_theory, validate_frames
from pesforge.units import KCAL_PER_MOL

#: Extension -> format name.
SUPPORTED_FORMATS: dict[str, str] = {".xyz": "extxyz", ".extxyz": "extxyz", ".db": "db",
                                     ".npz": "npz"}
#: Level of theory of the revised MD17 labels (Christensen & von Lilienfeld, MLST 1, 045018
#: (2020)): PBE/def2-SVP computed with ORCA; the default for the rMD17 NPZ layout.
RMD17_LEVEL_OF_THEORY = LevelOfTheory(method="PBE", basis="def2-SVP", code="ORCA")
#: Arrays of the rMD17 NPZ layout that are read (the ``old_*`` arrays never are).
RMD17_ARRAYS = ("nuclear_charges", "coords", "energies", "forces")

Index = int | str | slice | Sequence[int]


@dataclass(frozen=True)
class LabelKeys:
    """Names under which a file stores its labels (ASE ``info``/``arrays``/results keys).

    Under the default names, per-atom charges are also looked for as ``initial_charges`` (ASE's
    ``Atoms.set_initial_charges``) and the total charge as ``charge``: see :data:`FALLBACKS`.
    """

    energy: str = "energy"
    forces: str = "forces"
    stress: str = "stress"
    virial: str = "virial"
    charges: str = "charges"
    dipole: str = "dipole"
    total_charge: str = "total_charge"

    def names(self, label: str) -> tuple[str, ...]:
        """The keys tried for ``label`` ("charges", ...), in order."""
        key = getattr(self, label)
        return (key, *FALLBACKS.get(label, ())) if key == getattr(LabelKeys, label) else (key,)


#: Further keys tried, in order, when a label's key is left at its default.
FALLBACKS: dict[str, tuple[str, ...]] = {"charges": ("initial_charges",),
                                         "total_charge": ("charge",)}


def read(path: str | os.PathLike, *, index: Index = ":", energy_key: str = "energy",
         forces_key: str = "forces", stress_key: str = "stress", virial_key: str = "virial",
         charges_key: str = "charges", dipole_key: str = "dipole",
         total_charge_key: str = "total_charge",
         level_of_theory: LevelOfTheory | str | dict | None = None, format: str | None = None,
         validate: bool = True, allow_mixed: bool = False) -> list[Frame]:
    """Read labelled frames from an extxyz, ASE database or rMD17 NPZ file.

    Args:
        path: the file; its extension picks the format (``.xyz``/``.extxyz``, ``.db``,
            ``.npz``) unless ``format`` (``"extxyz"``, ``"db"``, ``"npz"``) is given.
        index: which frames, by position in the file: an int, a slice, a list of ints, or an
            ASE-style string (``":"``, ``"-1"``, ``"10:20"``).
        energy_key, forces_key, stress_key, virial_key: label names (e.g. ``"REF_energy"``).
            Energy is eV, forces eV/Å, stress eV/Å³ (3x3, 9 or Voigt 6 xx yy zz yz xz xy);
            a virial (eV; 3x3, 9 or 6) is used when there is no stress: stress = -virial / V.
            Ignored for NPZ, whose layout fixes its names and units.
        charges_key, dipole_key, total_charge_key: names of the optional reference partial
            charges (per atom, e; default also ``initial_charges``), reference dipole
            (3-vector, e·Å, per system, taken about the coordinate origin) and net charge
            (e; default also ``charge``; absent means neutral). For NPZ these name optional
            arrays of shape (F, N), (F, 3) and (F,) (or a scalar for every frame).
        level_of_theory: the labels' level of theory for every frame; when None it comes from
            a ``level_of_theory`` info / key-value entry (``"PBE/def2-SVP (ORCA)"`` is parsed
            into method, basis and code; other text is kept as free text), or for rMD17 NPZ
            defaults to :data:`RMD17_LEVEL_OF_THEORY`; otherwise it is None.
        format: override the extension.
        validate: run :func:`~pesforge.data.validate.validate_frames` and
            :func:`~pesforge.data.validate.check_level_of_theory`.
        allow_mixed: accept frames of different levels of theory within the file.

    Returns:
        Frames in file order, each with ``source = f"{path}:{index}"``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: unknown format.
        DataError: a file or frame that cannot be read or fails validation.
    """
    name = str(path)
    kind = _format_of(name, format)
    if not Path(name).is_file():
        raise FileNotFoundError(f"{name}: no such file")
    keys = LabelKeys(energy_key, forces_key, stress_key, virial_key, charges_key, dipole_key,
                     total_charge_key)
    level = LevelOfTheory.parse(level_of_theory)
    frames = _READERS[kind](name, keys, level, index)
    if validate:
        validate_frames(frames, name)
        check_level_of_theory(frames, allow_mixed=allow_mixed, stacklevel=3)
    return frames


def _format_of(path: str, format: str | None) -> str:
    supported = ", ".join(f"{ext} ({fmt})" for ext, fmt in SUPPORTED_FORMATS.items())
    if format is not None:
        if format not in set(SUPPORTED_FORMATS.values()):
            raise ValueError(f"{path}: unknown format {format!r}; supported: {supported}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in SUPPORTED_FORMATS:
        raise ValueError(f"{path}: cannot tell the format from extension {suffix!r}; "
                         f"supported: {supported} (or pass format=...)")
    return SUPPORTED_FORMATS[suffix]


def select(n: int, index: Index, path: str) -> list[int]:
    """Positions in a file of ``n`` frames picked by ``index`` (see :func:`read`)."""
    if n == 0:
        raise DataError(path, None, None, "contains no frames")
    if isinstance(index, str):
        from ase.io.formats import string2index

        index = string2index(index)
    if isinstance(index, slice):
        chosen = list(range(n))[index]
    else:
        wanted = [index] if isinstance(index, (int, np.integer)) else list(index)
        chosen = []
        for k in wanted:
            if not -n <= int(k) < n:
                raise IndexError(f"{path}: frame index {k} out of range for {n} frames")
            chosen.append(int(k) % n)
    if not chosen:
        raise ValueError(f"{path}: index {index!r} selects none of its {n} frames")
    return chosen


# --- ASE-backed formats -----------------------------------------------------------------------
def _read_extxyz(path: str, keys: LabelKeys, level: LevelOfTheory | None,
                 index: Index) -> list[Frame]:
    from ase.io import iread

    images = []
    try:
        for atoms in iread(path, index=":", format="extxyz"):
            images.append(atoms)
    except Exception as error:  # ASE raises many types; all mean "this frame is malformed"
        raise _parse_error(path, len(images), error) from error
    frames = []
    for k in select(len(images), index, path):
        atoms = images[k]
        results = atoms.calc.results if atoms.calc is not None else {}
        frames.append(_frame(path, k, atoms, keys, level, scalars=[results, atoms.info],
                             arrays=[results, atoms.arrays, atoms.info], info=atoms.info))
    available = {key for atoms in images for key in _keys_of(atoms, atoms.info)}
    _check_requested(path, keys, frames, available)
    return frames


def _read_db(path: str, keys: LabelKeys, level: LevelOfTheory | None,
             index: Index) -> list[Frame]:
    from ase.db import connect

    try:
        rows = list(connect(path, type="db").select())
    except Exception as error:
        raise DataError(path, None, "format", f"not a readable ASE database ({error})") from error
    frames, available = [], set()
    for k in select(len(rows), index, path):
        row = rows[k]
        atoms = row.toatoms()
        results = atoms.calc.results if atoms.calc is not None else {}
        data = dict(row.data)
        info = {**row.key_value_pairs, "db_id": row.id}
        frames.append(_frame(path, k, atoms, keys, level, scalars=[results, info, data],
                             arrays=[results, data, atoms.arrays], info=info))
        available.update(_keys_of(atoms, {**info, **data}))
    _check_requested(path, keys, frames, available)
    return frames


def _frame(path: str, k: int, atoms, keys: LabelKeys, level: LevelOfTheory | None,
           scalars: list[Mapping], arrays: list[Mapping], info: Mapping[str, Any]) -> Frame:
    """One frame from an ASE Atoms plus the mappings its labels may live in, in lookup order."""

    def fail(field: str, message: str) -> DataError:
        return DataError(path, k, field, message)

    energy = _lookup(keys.energy, scalars)
    try:
        energy = None if energy is None else float(np.asarray(energy, dtype=np.float64))
    except (TypeError, ValueError) as error:
        raise fail(keys.energy, f"not a number ({energy!r})") from error
    forces = _as_array(fail, keys.forces, _lookup(keys.forces, arrays))
    stress = _as_array(fail, keys.stress, _lookup(keys.stress, scalars))
    virial = _as_array(fail, keys.virial, _lookup(keys.virial, scalars))
    if stress is not None:
        stress = _matrix(fail, keys.stress, stress)
    elif virial is not None:
        volume = abs(np.linalg.det(atoms.cell.array))
        if volume < 1e-12:
            raise fail(keys.virial, "a virial needs a cell of non-zero volume to give a stress")
        stress = -_matrix(fail, keys.virial, virial) / volume
    charges_name, charges = _lookup_first(keys.names("charges"), arrays)
    charges = _as_array(fail, charges_name, charges)
    dipole = _as_array(fail, keys.dipole, _lookup(keys.dipole, scalars))
    total_name, total = _lookup_first(keys.names("total_charge"), scalars)
    try:
        total = None if total is None else float(np.asarray(total, dtype=np.float64))
    except (TypeError, ValueError) as error:
        raise fail(total_name, f"not a number ({total!r})") from error
    text = info.get("level_of_theory")
    consumed = {keys.energy, keys.forces, keys.stress, keys.virial, keys.dipole, total_name,
                "level_of_theory"}
    return Frame(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell.array,
                 pbc=atoms.pbc, energy=energy, forces=forces, stress=stress,
                 level_of_theory=level if level is not None else parse_level_text(text),
                 source=f"{path}:{k}",
                 info={key: v for key, v in info.items() if key not in consumed},
                 charges=charges, dipole=dipole, total_charge=total)


def _keys_of(atoms, info: Mapping) -> set[str]:
    results = atoms.calc.results if atoms.calc is not None else {}
    return (set(results) | set(info) | set(atoms.arrays)) - {"numbers", "positions"}


def _check_requested(path: str, keys: LabelKeys, frames: list[Frame],
                     available: set[str]) -> None:
    """A label name other than the default that no frame carries is a typo, not "unlabelled"."""
    default = LabelKeys()
    found = {label: any(getattr(f, label) is not None for f in frames)
             for label in ("energy", "forces", "stress", "charges", "dipole", "total_charge")}
    for label in ("energy", "forces", "stress", "virial", "charges", "dipole", "total_charge"):
        key = getattr(keys, label)
        present = found["stress"] if label == "virial" else found[label]
        if key != getattr(default, label) and not present and key not in available:
            raise DataError(path, None, key, f"no frame has this {label} label; keys in the "
                                             f"file: {sorted(available)}")


def _lookup(key: str, mappings: Sequence[Mapping]) -> Any:
    for mapping in mappings:
        if key in mapping and mapping[key] is not None:
            return mapping[key]
    return None


def _lookup_first(names: Sequence[str], mappings: Sequence[Mapping]) -> tuple[str, Any]:
    """(name, value) of the first of ``names`` present in ``mappings``; (names[0], None)."""
    for name in names:
        value = _lookup(name, mappings)
        if value is not None:
            return name, value
    return names[0], None


def _as_array(fail: Callable, field: str, value) -> np.ndarray | None:
    try:
        return None if value is None else np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise fail(field, f"not numeric ({error})") from error


def _matrix(fail: Callable, field: str, value: np.ndarray) -> np.ndarray:
    """A (3, 3) matrix from a 3x3, 9-vector or Voigt 6-vector (xx yy zz yz xz xy)."""
    try:
        return voigt_to_matrix(value.reshape(-1) if value.ndim else value)
    except ValueError as error:
        raise fail(field, str(error)) from error


def _parse_error(path: str, n_parsed: int, error: Exception) -> DataError:
    """Turn an ASE extxyz parse failure into a DataError naming the frame if it can."""
    from ase.data import chemical_symbols

    if isinstance(error, KeyError) and error.args and isinstance(error.args[0], str) \
            and error.args[0] not in chemical_symbols:
        return DataError(path, n_parsed, "species", f"unknown element {error.args[0]!r}")
    frame, hint = (n_parsed, "") if n_parsed > 0 else _bad_header(path)
    return DataError(path, frame, "format", f"cannot parse extxyz ({error}){hint}")


def _bad_header(path: str) -> tuple[int, str]:
    """Where a failure in ASE's header scan lies: (frame index, hint for the message).

    ASE checks every frame header before it yields the first frame, so a failure before any
    frame was produced may belong to any frame; this walks the headers to find it.
    """
    with open(path) as f:
        lines = f.readlines()
    position, frame = 0, 0
    while position < len(lines) and lines[position].strip():
        try:
            n_atoms = int(lines[position])
        except ValueError:
            hint = (f"; the atom-count line is unreadable, or frame {frame - 1} has more atom "
                    f"lines than its count says") if frame else ""
            return frame, hint
        if position + 2 + n_atoms > len(lines):
            return frame, f"; the file ends before its {n_atoms} atoms"
        position += 2 + n_atoms
        frame += 1
    return 0, ""


_LEVEL_PATTERN = re.compile(r"^(?P<method>[^/\s()]+)/(?P<basis>\S+)(?:\s+\((?P<code>[^()]+)\))?$")


def parse_level_text(text: str | None) -> LevelOfTheory | None:
    """Free text from a file as a level of theory.

    ``"METHOD/BASIS"`` or ``"METHOD/BASIS (CODE)"`` (the form ``str(LevelOfTheory)`` writes)
    becomes structured fields, so written and re-read levels keep their fingerprint; anything
    else is kept verbatim as ``text``.
    """
    if text is None:
        return None
    text = str(text).strip()
    match = _LEVEL_PATTERN.match(text)
    if match is None:
        return LevelOfTheory.parse(text)
    code = match["code"].strip() if match["code"] else None
    return LevelOfTheory(method=match["method"], basis=match["basis"], code=code)


# --- rMD17 NPZ --------------------------------------------------------------------------------
def _read_npz(path: str, keys: LabelKeys, level: LevelOfTheory | None,
              index: Index) -> list[Frame]:
    """The revised-MD17 layout: ``nuclear_charges`` (N,), ``coords`` (F, N, 3) Å,
    ``energies`` (F,) kcal/mol, ``forces`` (F, N, 3) kcal/mol/Å; converted to eV and eV/Å.
    Optional arrays, named by ``keys``: charges (F, N) e, dipole (F, 3) e·Å, total charge (F,)
    or () e."""
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in RMD17_ARRAYS if name not in data.files]
            if missing:
                raise DataError(path, None, "format",
                                f"not an rMD17-layout NPZ: missing {missing}; expected arrays "
                                f"{list(RMD17_ARRAYS)} (found {data.files})")
            numbers, coords, energies, forces = (data[name] for name in RMD17_ARRAYS)
            extra = _npz_extra(path, data, keys, len(coords) if coords.ndim else 0)
    except DataError:
        raise
    except Exception as error:
        raise DataError(path, None, "format", f"not a readable NPZ file ({error})") from error
    if coords.ndim != 3:
        raise DataError(path, None, "coords", f"shape {coords.shape}, expected (F, N, 3)")
    n_frames = len(coords)
    for name, array in (("energies", energies), ("forces", forces)):
        if len(array) != n_frames:
            raise DataError(path, None, name,
                            f"{len(array)} entries but coords has {n_frames} frames")
    level = level if level is not None else RMD17_LEVEL_OF_THEORY
    return [Frame(numbers=numbers, positions=coords[k], energy=energies[k] * KCAL_PER_MOL,
                  forces=forces[k] * KCAL_PER_MOL, level_of_theory=level,
                  source=f"{path}:{k}",
                  **{label: array[k] for label, array in extra.items()})
            for k in select(n_frames, index, path)]


def _npz_extra(path: str, data, keys: LabelKeys, n_frames: int) -> dict[str, np.ndarray]:
    """{label: float64 array with one entry per frame} of the optional charge arrays."""
    out = {}
    for label, ndim, shape in (("charges", 2, "(F, N)"), ("dipole", 2, "(F, 3)"),
                               ("total_charge", 1, "(F,) or ()")):
        name = next((n for n in keys.names(label) if n in data.files), None)
        if name is None:
            if getattr(keys, label) != getattr(LabelKeys, label):
                raise DataError(path, None, getattr(keys, label),
                                f"no such array; arrays in the file: {data.files}")
            continue
        try:
            array = np.asarray(data[name], dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise DataError(path, None, name, f"not numeric ({error})") from error
        if label == "total_charge" and array.ndim == 0:  # one net charge for every frame
            array = np.full(n_frames, float(array))
        if array.ndim != ndim:
            raise DataError(path, None, name, f"shape {array.shape}, expected {shape}")
        if len(array) != n_frames:
            raise DataError(path, None, name,
                            f"{len(array)} entries but coords has {n_frames} frames")
        out[label] = array
    return out


_READERS: dict[str, Callable[[str, LabelKeys, LevelOfTheory | None, Index], list[Frame]]] = {
    "extxyz": _read_extxyz, "db": _read_db, "npz": _read_npz,
}
