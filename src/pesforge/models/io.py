"""Model files: safetensors weights with the architecture as versioned JSON metadata.

One ``.safetensors`` file holds the state dict (weights, statistics, reference energies) and, in
its header metadata under ``"pesforge"``, ``{"format_version", "potential": {"name", "config"},
"dtype", "extra"}``. Loading parses JSON and rebuilds the potential from the registry; nothing
is ever unpickled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from pesforge.fileio import atomic_write
from pesforge.models.potential import Potential, build, describe

FORMAT_VERSION = 1


def save_model(potential: Potential, path: str | os.PathLike,
               extra: dict[str, Any] | None = None) -> Path:
    """Write ``potential`` to ``path`` atomically. ``extra`` is JSON stored alongside
    (training provenance, level of theory, metrics)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in potential.state_dict().items()}
    header = {"format_version": FORMAT_VERSION, "potential": describe(potential),
              "dtype": str(potential.dtype).replace("torch.", ""), "extra": extra or {}}
    metadata = {"pesforge": json.dumps(header)}
    return atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON header of a model file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except Exception as err:  # safetensors raises its own error types
        raise ValueError(f"{path} is not a safetensors model file: {err}") from err
    if "pesforge" not in metadata:
        raise ValueError(f"{path} has no pesforge header; was it written by pesforge.save_model?")
    header = json.loads(metadata["pesforge"])
    return _migrate(header, path)


def _migrate(header: dict[str, Any], path: Path) -> dict[str, Any]:
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path}: model format version {version} is not supported "
                         f"(this pesforge reads version {FORMAT_VERSION})")
    return header


def load_model(path: str | os.PathLike, device: str | torch.device = "cpu") -> Potential:
    """Rebuild the potential stored at ``path`` with its weights, in its saved dtype."""
    from safetensors.torch import load_file

    header = read_header(path)
    potential = build(header["potential"])
    potential = potential.to(getattr(torch, header.get("dtype", "float32")))
    state = load_file(str(path), device="cpu")
    potential.load_state_dict(state, strict=True)
    potential.extra = header.get("extra", {})
    return potential.to(device).eval()
