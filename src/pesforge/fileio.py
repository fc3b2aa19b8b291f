"""Atomic file writes: a reader never sees a half-written file, a killed writer leaves the old one."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``path`` (same folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write JSON atomically, indented, keys in insertion order."""

    def write(tmp: str) -> None:
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")

    return atomic_write(path, write)


def save_tensors(path: str | os.PathLike, tensors: dict, key: str, header: Any) -> Path:
    """Write tensors as safetensors with ``header`` as JSON under metadata ``key``, atomically.

    safetensors holds only raw tensor data and strings, so reading it back can never execute
    code (unlike a pickle).
    """
    from safetensors.torch import save_file

    metadata = {key: json.dumps(header)}
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_tensor_header(path: str | os.PathLike, key: str, what: str) -> Any:
    """The JSON stored under metadata ``key`` of a safetensors file written by
    :func:`save_tensors`; ``what`` names the kind of file in error messages."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as err:  # safetensors raises its own error types
        raise ValueError(f"{path} is not a safetensors {what}: {err}") from err
    if key not in metadata:
        raise ValueError(f"{path} is not a pesforge {what} (no {key!r} metadata)")
    return json.loads(metadata[key])
