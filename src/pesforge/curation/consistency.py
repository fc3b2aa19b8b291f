"""Force–energy consistency of labels against an oracle's energy surface.

For a sample of frames, central finite differences of the oracle's energy,
F_k ≈ −(E(R + δe_k) − E(R − δe_k)) / 2δ (6N energy calls, error O(δ²)), are compared with the
reference forces of the frame (and with the oracle's own analytic forces when it gives them).
Labels that are not the gradient of one surface — an unconverged SCF, missing Pulay terms,
forces from a different setting than the energies, corrupted or rescaled forces — stand out.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from pesforge.data.frame import Frame


@dataclass
class ConsistencyRow:
    """One checked frame. Deviations are RMS over components, eV/Å; energies eV."""

    index: int
    source: str
    reference_vs_fd: float
    reference_vs_fd_max: float
    oracle_vs_fd: float | None
    energy_difference: float | None
    flagged: bool

    def to_dict(self) -> dict:
        return asdict(self)


def finite_difference_forces(oracle, frame: Frame, delta: float = 0.005,
                             ) -> tuple[float, np.ndarray, np.ndarray | None]:
    """(energy eV, central-difference forces (N, 3) eV/Å, the oracle's own forces or None)."""
    centre = oracle.compute(frame)
    forces = np.zeros((len(frame), 3))
    for a in range(len(frame)):
        for c in range(3):
            energies = []
            for sign in (1.0, -1.0):
                moved = copy.copy(frame)
                moved.positions = frame.positions.copy()
                moved.positions[a, c] += sign * delta
                energies.append(oracle.compute(moved).energy)
            forces[a, c] = -(energies[0] - energies[1]) / (2 * delta)
    return centre.energy, forces, centre.forces


def force_energy_consistency(frames: Sequence[Frame], oracle, *, n_sample: int = 10,
                             indices: Sequence[int] | None = None, delta: float = 0.005,
                             tolerance: float = 0.02, seed: int = 0) -> list[ConsistencyRow]:
    """Check ``n_sample`` random frames with forces (or the given ``indices``).

    A frame is flagged when its reference forces deviate from the oracle's finite-difference
    forces by more than ``tolerance`` eV/Å (RMS). The oracle must be the level of theory the
    labels claim (its energy difference to the reference energy is reported as a check).
    """
    with_forces = [k for k, f in enumerate(frames) if f.forces is not None and len(f) > 1]
    if indices is None:
        rng = np.random.default_rng(seed)
        indices = sorted(rng.choice(with_forces, min(n_sample, len(with_forces)),
                                    replace=False).tolist()) if with_forces else []
    rows = []
    for k in indices:
        frame = frames[k]
        if frame.forces is None:
            raise ValueError(f"{frame.source}: forces: missing, cannot check consistency")
        energy, fd, own = finite_difference_forces(oracle, frame, delta)
        dev = frame.forces - fd
        rms = float(np.sqrt(np.mean(dev**2)))
        rows.append(ConsistencyRow(
            index=int(k), source=frame.source, reference_vs_fd=rms,
            reference_vs_fd_max=float(np.abs(dev).max()),
            oracle_vs_fd=None if own is None else float(np.sqrt(np.mean((own - fd) ** 2))),
            energy_difference=None if frame.energy is None else float(frame.energy - energy),
            flagged=rms > tolerance))
    return rows
