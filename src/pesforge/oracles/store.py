"""The durable dataset store of a labelling campaign: an SQLite file through ASE's database.

One row per requested oracle call, keyed by a hash of the structure (``call_id``), with
``status`` ``pending`` → ``done`` (the label is written into the same row, in one SQLite
transaction) or ``failed`` (with the reason of every failed attempt, never a label).
``attempts`` counts oracle invocations started (submitted, with Dask) for the row. Campaign state (the iteration and
its phase) lives in the database's metadata. Because each label is committed the moment it
arrives, a process killed at any moment loses at most the calls that were still running.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pesforge.data.frame import Frame, LevelOfTheory

PENDING, DONE, FAILED = "pending", "done", "failed"


def structure_hash(frame: Frame, decimals: int = 6) -> str:
    """A stable id of a structure: numbers, positions (rounded to ``decimals`` Å), cell, pbc."""
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(frame.numbers, dtype=np.int64).tobytes())
    for array in (frame.positions, frame.cell):
        rounded = np.round(np.asarray(array, dtype=np.float64), decimals) + 0.0  # no -0.0
        h.update(np.ascontiguousarray(rounded).tobytes())
    h.update(np.asarray(frame.pbc, dtype=bool).tobytes())
    return h.hexdigest()[:20]


class LabelStore:
    """Labelled frames, pending and failed oracle calls, and campaign state in one ASE db.

    Args:
        path: the SQLite file (``*.db``), created if missing.
    """

    def __init__(self, path: str | os.PathLike):
        from ase.db import connect

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = connect(str(self.path), type="db", use_lock_file=False)

    # -- campaign state ---------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """The campaign state (a JSON-able dict) kept in the database metadata."""
        return dict(self.db.metadata.get("pesforge_state", {}))

    def set_state(self, **values: Any) -> None:
        """Update the campaign state (one SQLite write)."""
        meta = dict(self.db.metadata)
        meta["pesforge_state"] = {**meta.get("pesforge_state", {}), **json.loads(
            json.dumps(values))}
        self.db.metadata = meta

    # -- requests ---------------------------------------------------------------------------
    def request(self, frames: Sequence[Frame], *, iteration: int = 0,
                origin: str = "") -> list[int]:
        """Queue oracle calls for ``frames`` (one transaction); structures already in the store
        (same :func:`structure_hash`) are not queued twice. Returns the new row ids."""
        known = {row.call_id for row in self.db.select(columns=["key_value_pairs"])}
        ids = []
        with self.db:
            for frame in frames:
                call_id = structure_hash(frame)
                if call_id in known:
                    continue
                known.add(call_id)
                atoms = Frame(numbers=frame.numbers, positions=frame.positions, cell=frame.cell,
                              pbc=frame.pbc).to_atoms()
                ids.append(self.db.write(atoms, call_id=call_id, status=PENDING, attempts=0,
                                         iteration=int(iteration), origin=str(origin),
                                         data={"failures": []}))
        return ids

    def pending(self) -> list[tuple[int, Frame]]:
        """(row id, structure) of every call still to be made, in request order."""
        return [(row.id, self._frame(row)) for row in self.db.select(status=PENDING, sort="id")]

    def start_attempt(self, row_id: int) -> int:
        """Record that an oracle call for ``row_id`` starts; returns the attempt number."""
        attempts = int(self.db.get(id=row_id).attempts) + 1
        self.db.update(row_id, attempts=attempts)
        return attempts

    def record_label(self, row_id: int, labelled: Frame) -> None:
        """Store the label of ``row_id`` and mark it done, in one transaction."""
        row = self.db.get(id=row_id)
        if row.status == DONE:
            raise ValueError(f"{self.path}: call {row.call_id} (row {row_id}) already labelled")
        data = dict(row.data)
        data["REF_forces"] = None if labelled.forces is None else labelled.forces
        data["REF_stress"] = None if labelled.stress is None else labelled.stress
        data["level_of_theory"] = (labelled.level_of_theory.to_dict()
                                   if labelled.level_of_theory is not None else None)
        data["info"] = {k: v for k, v in labelled.info.items() if k.startswith("oracle_")
                        and isinstance(v, (int, float, str, bool))}
        self.db.update(row_id, status=DONE, REF_energy=float(labelled.energy), data=data)

    def record_failure(self, row_id: int, reason: str, *, give_up: bool) -> None:
        """Record a failed attempt; ``give_up`` marks the call failed (no more retries)."""
        row = self.db.get(id=row_id)
        data = dict(row.data)
        data["failures"] = [*list(data.get("failures", [])), str(reason)]
        self.db.update(row_id, status=FAILED if give_up else PENDING,
                       reason=str(reason)[:500], data=data)

    # -- reading ----------------------------------------------------------------------------
    def rows(self, status: str | None = None) -> list:
        """ASE rows (all, or of one ``status``) in request order."""
        query = {} if status is None else {"status": status}
        return list(self.db.select(sort="id", **query))

    def labelled(self, iteration: int | None = None) -> list[Frame]:
        """Labelled frames in request order (optionally only those requested at
        ``iteration`` or before)."""
        rows = self.rows(DONE)
        if iteration is not None:
            rows = [r for r in rows if r.iteration <= iteration]
        return [self._frame(r, labels=True) for r in rows]

    def counts(self) -> dict[str, int]:
        """Number of rows per status, and total oracle attempts."""
        rows = self.rows()
        out = {s: sum(r.status == s for r in rows) for s in (PENDING, DONE, FAILED)}
        out["attempts"] = sum(int(r.attempts) for r in rows)
        return out

    def _frame(self, row, labels: bool = False) -> Frame:
        atoms = row.toatoms()
        info = {"call_id": row.call_id, "iteration": int(row.iteration),
                "origin": row.origin}
        frame = Frame(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell.array,
                      pbc=atoms.pbc, source=f"{self.path}:id={row.id}", info=info)
        if labels:
            data = row.data
            frame.energy = float(row.REF_energy)
            frame.forces = None if data.get("REF_forces") is None else np.asarray(
                data["REF_forces"], dtype=np.float64)
            stress = data.get("REF_stress")
            frame.stress = None if stress is None else np.asarray(stress, dtype=np.float64)
            frame.level_of_theory = LevelOfTheory.parse(data.get("level_of_theory"))
            frame.info.update(data.get("info", {}))
        return frame
