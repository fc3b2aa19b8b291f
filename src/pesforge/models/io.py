"""Model files: safetensors weights with the architecture as versioned JSON metadata.

One ``.safetensors`` file holds the state dict (weights, statistics, reference energies) and, in
its header metadata under ``"pesforge"``, ``{"format_version", "potential": {"name", "config"},
"dtype", "extra"}``. Loading parses JSON and rebuilds the potential from the registry; nothing
is ever unpickled.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from pesforge.fileio import read_tensor_header, save_tensors
from pesforge.models.potential import Potential, build, describe

FORMAT_VERSION = 1
HEADER_KEY = "pesforge"


def save_model(potential: Potential, path: str | os.PathLike,
               extra: dict[str, Any] | None = None) -> Path:
    """Write ``potential`` to ``path`` atomically. ``extra`` is JSON stored alongside
    (training provenance, level of theory, metrics)."""
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in potential.state_dict().items()}
    header = {"format_version": FORMAT_VERSION, "potential": describe(potential),
              "dtype": str(potential.dtype).replace("torch.", ""), "extra": extra or {}}
    return save_tensors(path, tensors, HEADER_KEY, header)


def read_header(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON header of a model file."""
    return _migrate(read_tensor_header(path, HEADER_KEY, "model file"), Path(path))


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
