"""Checks that frames read from a file are physically usable, and that labels share one theory.

Nothing is silently dropped: a bad frame raises :class:`DataError` naming the file, the frame's
index in that file and the offending field; labels from different levels of theory raise
:class:`LevelOfTheoryError` unless mixing is explicitly allowed.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from pesforge.data.frame import Frame, LevelOfTheory

#: Two atoms (or an atom and a periodic image) closer than this (Å) make a frame invalid.
MIN_DISTANCE = 0.1
#: Largest atomic number accepted.
MAX_ATOMIC_NUMBER = 118
#: Reference charges whose sum differs from the frame's total charge (0 when absent) by more
#: than this (e) draw a warning: a charge model that conserves the total cannot fit them.
CHARGE_SUM_TOLERANCE = 0.1
#: Non-periodic frames up to this many atoms are checked with a dense distance matrix.
_DENSE_LIMIT = 512


class DataError(ValueError):
    """A frame (or a whole file) that cannot be used, with where and what.

    Attributes:
        file: the file the data came from (as given by the caller).
        frame: index of the frame in the file, or None for whole-file problems.
        field: the offending field (``"forces"``, ``"cell"`` ...), or None.
        message: what is wrong.
    """

    def __init__(self, file, frame: int | None, field: str | None, message: str) -> None:
        self.file = str(file)
        self.frame = frame
        self.field = field
        self.message = message
        parts = [self.file]
        if frame is not None:
            parts.append(f"frame {frame}")
        if field is not None:
            parts.append(field)
        super().__init__(": ".join(parts + [message]))

    def __reduce__(self):
        return type(self), (self.file, self.frame, self.field, self.message)


class LevelOfTheoryError(ValueError):
    """Labels from more than one level of theory were about to be used together."""


# --- single frames --------------------------------------------------------------------------
def validate_frame(frame: Frame, file, index: int | None) -> None:
    """Raise :class:`DataError` if ``frame`` (frame ``index`` of ``file``) is unusable.

    Checks: atomic numbers in 1..118; positions (N, 3) and finite; a finite cell that is
    non-zero and non-degenerate along every periodic direction; finite energy; forces (N, 3)
    and finite; stress (3, 3) and finite; reference charges (N,), dipole (3,) and total
    charge finite; no two atoms (periodic images included) closer than :data:`MIN_DISTANCE` Å.
    """

    def fail(field: str, message: str) -> None:
        raise DataError(file, index, field, message)

    numbers = np.asarray(frame.numbers)
    n = len(numbers)
    if n == 0:
        fail("numbers", "frame has no atoms")
    bad = numbers[(numbers < 1) | (numbers > MAX_ATOMIC_NUMBER)]
    if bad.size:
        fail("numbers", f"unknown element with atomic number {int(bad[0])} (expected 1..118)")
    _check_array(fail, "positions", frame.positions, (n, 3), True)
    _check_array(fail, "cell", frame.cell, (3, 3), False)
    _check_cell(fail, frame.cell, frame.pbc)
    if frame.energy is not None and not np.isfinite(frame.energy):
        fail("energy", f"not finite ({frame.energy})")
    if frame.forces is not None:
        _check_array(fail, "forces", frame.forces, (n, 3), True)
    if frame.stress is not None:
        _check_array(fail, "stress", frame.stress, (3, 3), False)
    if frame.charges is not None:
        _check_array(fail, "charges", frame.charges, (n,), True)
    if frame.dipole is not None:
        _check_array(fail, "dipole", frame.dipole, (3,), False)
    if frame.total_charge is not None and not np.isfinite(frame.total_charge):
        fail("total_charge", f"not finite ({frame.total_charge})")
    close = _closest_contact(frame)
    if close is not None:
        i, j, d, periodic = close
        image = " (periodic image)" if periodic else ""
        fail("positions", f"atoms {i} and {j}{image} are {d:.4f} Å apart, "
                          f"closer than {MIN_DISTANCE} Å")


def _check_array(fail, field: str, value, shape: tuple[int, ...], per_atom: bool) -> None:
    value = np.asarray(value)
    if value.shape != shape:
        fail(field, f"shape {value.shape} does not match {shape[0]} atoms" if per_atom
             else f"shape {value.shape}, expected {shape}")
    if not np.issubdtype(value.dtype, np.number):
        fail(field, f"not numeric (dtype {value.dtype})")
    finite = np.isfinite(value)
    if not finite.all():
        where = tuple(int(k) for k in np.argwhere(~finite)[0])
        fail(field, f"not finite at {where} ({value[where]})")


def _check_cell(fail, cell: np.ndarray, pbc: np.ndarray) -> None:
    periodic = np.flatnonzero(pbc)
    if periodic.size == 0:
        return
    axes = "".join("abc"[k] for k in periodic)
    vectors = cell[periodic]
    lengths = np.linalg.norm(vectors, axis=1)
    if (lengths < 1e-6).any():
        zero = "".join("abc"[k] for k, length in zip(periodic, lengths) if length < 1e-6)
        fail("cell", f"periodic along {axes} but cell vector(s) {zero} are missing or zero "
                     f"(an extxyz file needs a Lattice for pbc=T)")
    singular = np.linalg.svd(vectors, compute_uv=False)
    if singular.min() < 1e-6 * singular.max():
        fail("cell", f"periodic along {axes} but the cell vectors are linearly dependent "
                     f"(degenerate cell {cell.tolist()})")


def _closest_contact(frame: Frame) -> tuple[int, int, float, bool] | None:
    """The first pair closer than :data:`MIN_DISTANCE`: (i, j, distance Å, is_image), or None."""
    positions = frame.positions
    if not frame.pbc.any() and len(positions) <= _DENSE_LIMIT:
        delta = positions[:, None, :] - positions[None, :, :]
        dist = np.sqrt(np.einsum("ijk,ijk->ij", delta, delta))
        dist[np.diag_indices(len(positions))] = np.inf
        i, j = np.unravel_index(np.argmin(dist), dist.shape)
        return (int(i), int(j), float(dist[i, j]), False) if dist[i, j] < MIN_DISTANCE else None
    from pesforge.neighbors import neighbor_list

    # vesin is much faster with a cutoff near typical bond lengths than at 0.1 Å; the wider
    # search is only safe when the cell is not so thin that it would create many images.
    search = 1.0 if _min_height(frame.cell, frame.pbc) >= 1.0 else MIN_DISTANCE
    (i, j), shifts = neighbor_list(positions, frame.cell, frame.pbc, search)
    vectors = positions[j] - positions[i] + shifts @ frame.cell
    dist = np.linalg.norm(vectors, axis=1)
    close = np.flatnonzero(dist < MIN_DISTANCE)
    if close.size == 0:
        return None
    k = close[np.argmin(dist[close])]
    return int(i[k]), int(j[k]), float(dist[k]), bool(shifts[k].any())


def _min_height(cell: np.ndarray, pbc: np.ndarray) -> float:
    """Smallest distance between opposite faces of a fully periodic cell; 0 otherwise."""
    if not pbc.all():
        return 0.0
    volume = abs(np.linalg.det(cell))
    areas = [np.linalg.norm(np.cross(cell[(k + 1) % 3], cell[(k + 2) % 3])) for k in range(3)]
    return float(volume / max(areas)) if max(areas) > 0 else 0.0


# --- whole files ----------------------------------------------------------------------------
def validate_frames(frames: Sequence[Frame], file) -> None:
    """Validate every frame of ``file`` and the consistency between them.

    Raises :class:`DataError` for an empty list, for any frame failing :func:`validate_frame`,
    and for a frame without forces when other frames of the file have them (frames of a single
    atom are exempt: their forces are zero by symmetry and files often omit them). Warns when
    reference charges do not sum to the total charge (see :data:`CHARGE_SUM_TOLERANCE`).
    """
    if len(frames) == 0:
        raise DataError(file, None, None, "contains no frames")
    indices = [frame_index(f, file, k) for k, f in enumerate(frames)]
    for frame, index in zip(frames, indices):
        validate_frame(frame, file, index)
    with_forces = sum(f.forces is not None for f in frames)
    if with_forces:
        for frame, index in zip(frames, indices):
            if frame.forces is None and len(frame) > 1:
                raise DataError(file, index, "forces",
                                f"missing, while {with_forces} of {len(frames)} frames in this "
                                f"file have forces")
    _check_charge_sums(frames, indices, file)


def _check_charge_sums(frames: Sequence[Frame], indices: Sequence[int], file) -> None:
    off = [(index, float(frame.charges.sum()), frame.total_charge)
           for frame, index in zip(frames, indices) if frame.charges is not None
           and abs(frame.charges.sum() - (frame.total_charge or 0.0)) > CHARGE_SUM_TOLERANCE]
    if off:
        index, total, given = off[0]
        warnings.warn(f"{file}: {len(off)} frame(s) have reference charges that do not sum to "
                      f"their total charge, e.g. frame {index}: {total:.4g} e vs "
                      f"{given or 0.0:g} e{' (absent: neutral)' if given is None else ''}; "
                      f"give the net charge (info 'total_charge') or charge losses cannot "
                      f"reach these labels", stacklevel=3)


def frame_index(frame: Frame, file, default: int) -> int:
    """The index of ``frame`` in ``file`` from its ``source`` ("path:index"), else ``default``."""
    prefix, _, tail = frame.source.rpartition(":")
    if prefix == str(file) and tail.lstrip("-").isdigit():
        return int(tail)
    return default


# --- level of theory ------------------------------------------------------------------------
def check_level_of_theory(frames: Sequence[Frame], allow_mixed: bool = False, *,
                          stacklevel: int = 2) -> LevelOfTheory | None:
    """The one level of theory shared by ``frames``; refuse to mix different ones.

    Policy:
        * more than one distinct known level (by :meth:`LevelOfTheory.fingerprint`) raises
          :class:`LevelOfTheoryError` listing each with its frame count and example sources,
          unless ``allow_mixed`` (CLI ``--allow-mixed-levels``);
        * frames of unknown level (None) beside one known level are accepted with a
          :func:`warnings.warn`, since files often just omit the annotation; ``allow_mixed``
          silences the warning (``stacklevel`` as in :func:`warnings.warn`, for wrappers).

    Returns:
        The shared known level, or None when no frame has one or mixing was allowed.
    """
    groups: dict[str | None, list[Frame]] = {}
    for frame in frames:
        groups.setdefault(_fingerprint(frame.level_of_theory), []).append(frame)
    known = {fp: group for fp, group in groups.items() if fp is not None}
    if len(known) > 1 and not allow_mixed:
        raise LevelOfTheoryError(
            f"frames come from {len(known)} different levels of theory:\n"
            + "\n".join(_describe(group) for group in groups.values())
            + _differing_fields([group[0].level_of_theory for group in known.values()])
            + "\nLabels computed at different levels of theory are not comparable. If mixing "
              "them is intended, pass allow_mixed=True (CLI: --allow-mixed-levels).")
    if len(known) == 1 and None in groups and not allow_mixed:
        warnings.warn(
            f"{len(groups[None])} of {len(frames)} frames have no level of theory (e.g. "
            f"{groups[None][0].source}); assuming they match "
            f"{next(iter(known.values()))[0].level_of_theory}", stacklevel=stacklevel)
    if len(known) == 1:
        return next(iter(known.values()))[0].level_of_theory
    return None


def combine(*frame_lists: Sequence[Frame], allow_mixed: bool = False) -> list[Frame]:
    """Concatenate frame lists after :func:`check_level_of_theory` on the union."""
    frames = [frame for frames in frame_lists for frame in frames]
    check_level_of_theory(frames, allow_mixed=allow_mixed, stacklevel=3)
    return frames


def level_counts(frames: Sequence[Frame]) -> list[tuple[LevelOfTheory | None, int, list[str]]]:
    """Each distinct level of theory (by fingerprint) with its frame count and up to three
    example sources, most frequent first; frames without a level are grouped under None."""
    groups: dict[str | None, list[Frame]] = {}
    for frame in frames:
        groups.setdefault(_fingerprint(frame.level_of_theory), []).append(frame)
    rows = [(g[0].level_of_theory if fp is not None else None, len(g), [f.source for f in g[:3]])
            for fp, g in groups.items()]
    return sorted(rows, key=lambda row: -row[1])


def _differing_fields(levels: list[LevelOfTheory]) -> str:
    """``"\n  they differ in: basis, cutoff"`` for the fields whose values are not all equal."""
    dicts = [{k: v.lower() for k, v in level.to_dict().items()} for level in levels]
    names = sorted({k for d in dicts for k in d})
    differ = [k for k in names if len({d.get(k) for d in dicts}) > 1]
    return f"\n  they differ in: {', '.join(differ)}" if differ else ""


def _fingerprint(level: LevelOfTheory | None) -> str | None:
    return (level.fingerprint() or None) if level is not None else None


def _describe(group: list[Frame]) -> str:
    level = group[0].level_of_theory
    name = "unknown (None)" if _fingerprint(level) is None else f"{level} [{level.fingerprint()}]"
    examples = ", ".join(f.source for f in group[:2])
    return f"  {name}: {len(group)} frame(s), e.g. {examples}"
