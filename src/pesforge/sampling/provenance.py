"""How a generated frame was made: generator, parameters and parent, stored in ``Frame.info``.

The parameters are kept as a JSON string so that they survive extxyz round trips.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from pesforge.data.frame import Frame

#: ``Frame.info`` keys written by every generator.
GENERATOR = "generator"
PARAMETERS = "generator_parameters"
PARENT = "parent"


def derived(parent: Frame, positions: np.ndarray, *, generator: str, parameters: dict[str, Any],
            cell: np.ndarray | None = None, index: int | None = None) -> Frame:
    """An unlabelled frame made from ``parent`` by ``generator`` with ``parameters``.

    Args:
        parent: the structure it was generated from (its ``source`` is recorded as parent).
        positions: (N, 3) new positions, Å.
        generator: the generator's name (``"normal_modes"``, ``"rattle"`` ...).
        parameters: JSON-serialisable settings (temperature in K, amplitudes in Å ...).
        cell: (3, 3) new cell rows, Å; the parent's when None.
        index: sample number, appended to the source (``"<parent>|rattle:3"``).
    """
    info = {k: v for k, v in parent.info.items() if k not in (GENERATOR, PARAMETERS, PARENT)}
    info.update({GENERATOR: generator, PARAMETERS: json.dumps(parameters, sort_keys=True),
                 PARENT: parent.source})
    tag = generator if index is None else f"{generator}:{index}"
    return Frame(numbers=parent.numbers.copy(), positions=np.asarray(positions, dtype=np.float64),
                 cell=parent.cell.copy() if cell is None else cell, pbc=parent.pbc.copy(),
                 source=f"{parent.source}|{tag}", info=info)


def read_written(path, *, allow_mixed: bool = False) -> list[Frame]:
    """Frames written by :func:`pesforge.data.write_extxyz` (labels under ``REF_*``; the
    stress key only where the file has stresses)."""
    from pesforge.data.readers import read
    from pesforge.data.validate import DataError

    keys = {"energy_key": "REF_energy", "forces_key": "REF_forces"}
    try:
        return read(path, stress_key="REF_stress", allow_mixed=allow_mixed, **keys)
    except DataError as err:
        if "REF_stress" not in str(err):
            raise
        return read(path, allow_mixed=allow_mixed, **keys)


def provenance(frame: Frame) -> dict[str, Any] | None:
    """``{"generator", "parameters", "parent"}`` of a generated frame, else None."""
    if GENERATOR not in frame.info:
        return None
    params = frame.info.get(PARAMETERS, "{}")
    return {"generator": frame.info[GENERATOR],
            "parameters": json.loads(params) if isinstance(params, str) else params,
            "parent": frame.info.get(PARENT)}
