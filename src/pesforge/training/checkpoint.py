"""Training checkpoints as one safetensors file: tensors in the body, structure as JSON.

Any nested state (model and EMA weights, optimiser and scheduler state dicts, history, RNG
state) is flattened: each tensor is stored under its path (``"optimizer/state/0/exp_avg"``) and
replaced in the JSON structure by ``{"__tensor__": path}``. Tuples, dicts with non-string keys
and non-finite floats get explicit markers so that the state round-trips exactly. The file is
written with :func:`pesforge.fileio.atomic_write` (a killed writer leaves the previous
checkpoint intact), and nothing is ever pickled.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch

from pesforge.fileio import read_tensor_header, save_tensors

FORMAT_VERSION = 1
METADATA_KEY = "pesforge_checkpoint"
_MARKERS = ("__tensor__", "__tuple__", "__dict__", "__float__")


def flatten(obj: Any, tensors: dict[str, torch.Tensor], path: str = "") -> Any:
    """JSON-able form of ``obj``; its tensors are added to ``tensors`` keyed by their path."""
    if isinstance(obj, torch.Tensor):
        name = path or "root"
        if name in tensors:
            raise ValueError(f"two tensors share the checkpoint name {name!r}")
        tensors[name] = obj.detach().cpu().contiguous().clone()
        return {"__tensor__": name}
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, tuple):
        return {"__tuple__": [flatten(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten(v, tensors, f"{path}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in _MARKERS for k in obj):
            return {k: flatten(v, tensors, f"{path}/{k}" if path else k) for k, v in obj.items()}
        return {"__dict__": [[flatten(k, tensors, f"{path}/key{i}"),
                              flatten(v, tensors, f"{path}/{k}" if path else str(k))]
                             for i, (k, v) in enumerate(obj.items())]}
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalars
        return flatten(obj.item(), tensors, path)
    raise TypeError(f"cannot store a {type(obj).__name__} at {path or 'the root'} in a checkpoint")


def unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten`."""
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        (marker, value), = obj.items()
        if marker == "__tensor__":
            return tensors[value]
        if marker == "__tuple__":
            return tuple(unflatten(v, tensors) for v in value)
        if marker == "__dict__":
            return {unflatten(k, tensors): unflatten(v, tensors) for k, v in value}
        if marker == "__float__":
            return float(value)
    return {k: unflatten(v, tensors) for k, v in obj.items()}


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` (nested dicts/lists/tuples of tensors, numbers and strings) atomically."""
    tensors: dict[str, torch.Tensor] = {}
    structure = {"format_version": FORMAT_VERSION, "state": flatten(state, tensors)}
    return save_tensors(path, tensors, METADATA_KEY, structure)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors on the CPU)."""
    from safetensors.torch import load_file

    structure = read_tensor_header(path, METADATA_KEY, "checkpoint")
    if structure.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: checkpoint format {structure.get('format_version')} is not "
                         f"supported (this pesforge reads {FORMAT_VERSION})")
    return unflatten(structure["state"], load_file(str(path), device="cpu"))
