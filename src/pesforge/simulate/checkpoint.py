"""MD checkpoints: the whole state (RNG and neighbour-list cache included) as safetensors with a
JSON header, written atomically, so that a restart continues bit for bit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from pesforge.fileio import read_tensor_header, save_tensors
from pesforge.simulate.state import MDState

FORMAT_VERSION = 1
HEADER_KEY = "pesforge_md"
_FIELDS = ("positions", "velocities", "masses", "atomic_numbers", "system", "n_atoms", "cell",
           "pbc", "dof", "forces", "energy", "stress", "reservoir")


def save_checkpoint(path: str | os.PathLike, state: MDState, *, neighbors=None,
                    info: dict[str, Any] | None = None) -> Path:
    """Write ``state`` (and a :class:`~pesforge.neighbors.skin.SkinNeighborList`'s cache) to
    ``path`` atomically; ``info`` is JSON stored in the header (integrator, file offsets)."""
    tensors = {name: getattr(state, name) for name in _FIELDS}
    tensors.update({f"extra.{k}": v for k, v in state.extra.items()})
    tensors.update({f"outputs.{k}": v for k, v in state.outputs.items()})
    if state.generator is not None:
        tensors["rng"] = state.generator.get_state()
    if neighbors is not None:
        tensors.update({f"neighbors.{k}": v for k, v in neighbors.state_dict().items()})
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    header = {"format_version": FORMAT_VERSION, "step": state.step, "time_fs": state.time_fs,
              "initialized": state.initialized, "info": info or {}}
    return save_tensors(path, tensors, HEADER_KEY, header)


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu", *,
                    neighbors=None) -> tuple[MDState, dict[str, Any]]:
    """Read a checkpoint: ``(state, info)``; fills ``neighbors``' cache when given."""
    from safetensors.torch import load_file

    header = read_tensor_header(path, HEADER_KEY, "MD checkpoint")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: MD checkpoint version {header.get('format_version')} is not "
                         f"supported (this pesforge reads version {FORMAT_VERSION})")
    tensors = load_file(str(path), device="cpu")
    missing = [name for name in _FIELDS if name not in tensors]
    if missing:
        raise ValueError(f"{path}: MD checkpoint lacks {missing}")
    generator = None
    if "rng" in tensors:
        generator = torch.Generator()
        generator.set_state(tensors["rng"])

    def group(prefix):
        return {k[len(prefix):]: v.to(device) for k, v in tensors.items() if k.startswith(prefix)}

    state = MDState(**{name: tensors[name].to(device) for name in _FIELDS},
                    extra=group("extra."), outputs=group("outputs."), step=int(header["step"]),
                    time_fs=float(header["time_fs"]), generator=generator,
                    initialized=bool(header.get("initialized", True)))
    if neighbors is not None:
        neighbors.load_state_dict(group("neighbors."), device=device)
    return state, header.get("info", {})
