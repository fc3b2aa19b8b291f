"""What a run writes: per-step thermodynamic records, a CSV log and an ASE-readable trajectory.

Files are appended as the run goes; their sizes are stored in each checkpoint and a resumed run
first cuts them back to that point, so a restarted run leaves the same files as an
uninterrupted one.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from pesforge.simulate.state import MDState, kinetic_energy, pressure_tensor, temperature
from pesforge.units import GPA


def reduce_uncertainty(state: MDState) -> dict[str, torch.Tensor]:
    """Per-system (S,) maxima of the ``*std*`` outputs of the last evaluation: per-atom vectors
    (A, 3) by their norm, per-atom scalars (A,) as they are, per-system values unchanged."""
    out = {}
    A, S = state.positions.shape[0], state.n_systems
    for key, value in state.outputs.items():
        if "std" not in key:
            continue
        value = value.to(torch.float64)
        if value.ndim == 2 and value.shape == (A, 3):
            value = value.norm(dim=-1)
        if value.ndim == 1 and value.shape[0] == A and A != S:
            value = torch.zeros(S, dtype=torch.float64, device=value.device).scatter_reduce(
                0, state.system, value, "amax", include_self=False)
        if value.ndim == 1 and value.shape[0] == S:
            out[key] = value
    return out


def records(state: MDState, with_pressure: bool) -> list[dict]:
    """One dict per system: step, time_fs, system, potential/kinetic/conserved energies (eV),
    temperature_K, volume (Å³), pressure_GPa (when stress is computed), uncertainty maxima."""
    kinetic = kinetic_energy(state)
    columns = {"potential_energy": state.energy, "kinetic_energy": kinetic,
               "conserved_energy": state.energy + kinetic + state.reservoir,
               "temperature_K": temperature(state), "volume": state.volume()}
    if with_pressure:
        p = pressure_tensor(state)
        columns["pressure_GPa"] = p.diagonal(dim1=1, dim2=2).sum(-1) / (3.0 * GPA)
    columns.update(reduce_uncertainty(state))
    values = {k: v.detach().cpu().tolist() for k, v in columns.items()}
    return [{"step": state.step, "time_fs": state.time_fs, "system": s,
             **{k: v[s] for k, v in values.items()}} for s in range(state.n_systems)]


class CSVLog:
    """Append records to a CSV file (header written once)."""

    def __init__(self, path: str | os.PathLike, truncate_to: int | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _truncate(self.path, truncate_to)
        self.columns: list[str] | None = None
        if self.path.is_file() and self.path.stat().st_size > 0:
            with open(self.path) as f:
                self.columns = f.readline().strip().split(",")

    def write(self, rows: list[dict]) -> None:
        if not rows:
            return
        with open(self.path, "a") as f:
            if self.columns is None:
                self.columns = list(rows[0])
                f.write(",".join(self.columns) + "\n")
            for row in rows:
                f.write(",".join(_fmt(row.get(c, "")) for c in self.columns) + "\n")

    def position(self) -> int:
        return self.path.stat().st_size if self.path.is_file() else 0


class TrajectoryWriter:
    """Append every system of a state as frames (``atoms.info``: system, step, time_fs) to an
    extended XYZ (``.xyz``/``.extxyz``) or ASE ``.traj`` file; both are read by ``ase.io.read``."""

    def __init__(self, path: str | os.PathLike, resume_from: dict | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.traj = self.path.suffix == ".traj"
        if not self.traj and self.path.suffix not in (".xyz", ".extxyz"):
            raise ValueError(f"trajectory {self.path}: use a .extxyz, .xyz or .traj file name")
        self.frames = 0
        if resume_from is not None:
            self.frames = int(resume_from.get("frames", 0))
            if self.traj:
                self._cut_traj(self.frames)
            else:
                _truncate(self.path, int(resume_from.get("bytes", 0)))
        elif self.path.exists():
            self.path.unlink()

    def write(self, state: MDState) -> None:
        import ase.io

        frames = [state.to_atoms(s) for s in range(state.n_systems)]
        if self.traj:
            from ase.io.trajectory import Trajectory

            with Trajectory(str(self.path), "a") as traj:
                for atoms in frames:
                    traj.write(atoms)
        else:
            with open(self.path, "a") as f:
                ase.io.write(f, frames, format="extxyz")
        self.frames += len(frames)

    def position(self) -> dict:
        size = self.path.stat().st_size if self.path.is_file() else 0
        return {"frames": self.frames, "bytes": size}

    def _cut_traj(self, frames: int) -> None:
        if not self.path.is_file():
            return
        import ase.io
        from ase.io.trajectory import Trajectory

        from pesforge.fileio import atomic_write

        kept = ase.io.read(self.path, index=f":{frames}") if frames else []

        def write(tmp: str) -> None:
            with Trajectory(tmp, "w") as traj:
                for atoms in kept:
                    traj.write(atoms)

        atomic_write(self.path, write)


def _truncate(path: Path, size: int | None) -> None:
    if size is None:
        if path.exists():
            path.unlink()
        return
    if path.is_file():
        if path.stat().st_size < size:
            raise ValueError(f"{path} is shorter ({path.stat().st_size} B) than recorded in the "
                             f"checkpoint ({size} B); cannot resume consistently")
        with open(path, "r+b") as f:
            f.truncate(size)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)
