"""Radial distribution functions g(r) of trajectories (periodic or not), and their comparison.

g_ab(r) = V / (N_a N_b) · n_ab(r) / (4π r² dr), averaged over frames, with the pair counts
n_ab from vesin neighbour lists (all periodic images). For non-periodic frames there is no
volume: the counts are normalised per centre atom and shell volume (a number density
profile) and ``g`` is the histogram density divided by the mean density of the whole
histogram range, so only shapes are comparable (Allen & Tildesley, *Computer Simulation of
Liquids*, 2nd ed., §8.2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pesforge.data.frame import Frame


@dataclass
class RDF:
    """A radial distribution function: bin centres ``r`` (Å) and ``g`` (dimensionless)."""

    r: np.ndarray
    g: np.ndarray
    pair: tuple[int, int] | None = None

    def coordination(self, r_max: float, density: float) -> float:
        """Mean number of neighbours within ``r_max`` (whole bins): ∫ 4π r² ρ g(r) dr, with
        ``density`` ρ of the neighbour species in Å⁻³."""
        dr = self.r[1] - self.r[0]
        mask = self.r + dr / 2 <= r_max + 1e-12
        shell = 4.0 / 3.0 * np.pi * ((self.r + dr / 2) ** 3 - (self.r - dr / 2) ** 3)
        return float(np.sum(shell[mask] * density * self.g[mask]))


def rdf(frames: Sequence[Frame], *, r_max: float = 6.0, n_bins: int = 120,
        pair: tuple[int, int] | None = None) -> RDF:
    """g(r) averaged over frames.

    Args:
        frames: structures (same composition); periodic frames need a 3D cell.
        r_max: largest distance, Å.
        n_bins: histogram bins on [0, r_max].
        pair: ``(Z_a, Z_b)`` for a partial g_ab (centres a, neighbours b); None for all atoms.

    Returns:
        :class:`RDF`.
    """
    from pesforge.neighbors import neighbor_list

    if len(frames) == 0:
        raise ValueError("rdf needs at least one frame")
    if r_max <= 0 or n_bins < 1:
        raise ValueError("r_max must be positive and n_bins at least 1")
    edges = np.linspace(0.0, r_max, n_bins + 1)
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    g = np.zeros(n_bins)
    for frame in frames:
        idx, shifts = neighbor_list(frame.positions, frame.cell, frame.pbc, r_max)
        i, j = idx
        d = frame.positions[j] - frame.positions[i] + shifts @ frame.cell
        dist = np.linalg.norm(d, axis=1)
        centres = np.ones(len(frame), dtype=bool)
        targets = np.ones(len(frame), dtype=bool)
        if pair is not None:
            centres, targets = frame.numbers == pair[0], frame.numbers == pair[1]
            keep = centres[i] & targets[j]
            dist = dist[keep]
        n_a, n_b = int(centres.sum()), int(targets.sum())
        if n_a == 0 or n_b == 0:
            raise ValueError(f"{frame.source}: no atoms of pair {pair}")
        counts = np.histogram(dist, bins=edges)[0].astype(np.float64)
        if np.all(frame.pbc):
            volume = abs(np.linalg.det(frame.cell))
            if volume <= 0:
                raise ValueError(f"{frame.source}: periodic frame without a cell volume")
            g += counts / shell / n_a * volume / n_b
        elif frame.pbc.any():
            raise ValueError(f"{frame.source}: rdf supports fully periodic or non-periodic "
                             f"frames, not pbc={frame.pbc.tolist()}")
        else:
            profile = counts / shell / n_a
            mean = counts.sum() / (4.0 / 3.0 * np.pi * r_max ** 3) / n_a
            g += profile / mean if mean > 0 else profile
    return RDF(0.5 * (edges[1:] + edges[:-1]), g / len(frames), pair)


def rdf_difference(a: RDF, b: RDF) -> dict[str, float]:
    """How far two g(r) on the same bins are apart: RMS difference and the integrated
    absolute difference ∫|g_a - g_b| dr / ∫ g_b dr (0 = identical)."""
    if a.r.shape != b.r.shape or not np.allclose(a.r, b.r):
        raise ValueError("the two RDFs must use the same bins")
    dr = a.r[1] - a.r[0] if len(a.r) > 1 else 1.0
    norm = float(np.sum(np.abs(b.g)) * dr)
    return {"rms": float(np.sqrt(np.mean((a.g - b.g) ** 2))),
            "relative_l1": float(np.sum(np.abs(a.g - b.g)) * dr / norm) if norm > 0 else 0.0}


__all__ = ["rdf", "RDF", "rdf_difference"]
