"""Lennard-Jones pair potential with a smooth (C²) switch to zero at the cutoff.

A cheap analytic :class:`~pesforge.models.Potential` for tests and MD checks (noble gases).
Per-atom energies split each pair energy equally between its two atoms.
J. E. Lennard-Jones, Proc. R. Soc. Lond. A 106, 463 (1924).
"""

from __future__ import annotations

import torch

from pesforge.data import keys as K
from pesforge.models.potential import Potential, register
from pesforge.neighbors import edge_vectors


def lj_pair_energy(r: torch.Tensor, epsilon: float, sigma: float) -> torch.Tensor:
    """4 eps [(sigma/r)^12 - (sigma/r)^6] in eV for distances ``r`` (Å)."""
    s6 = (sigma / r) ** 6
    return 4.0 * epsilon * (s6 * s6 - s6)


def quintic_switch(r: torch.Tensor, r_on: float, r_cut: float) -> torch.Tensor:
    """1 below ``r_on``, 0 beyond ``r_cut``, 1 - 10x³ + 15x⁴ - 6x⁵ in between (x in [0, 1]);
    continuous with its first and second derivatives."""
    x = ((r - r_on) / (r_cut - r_on)).clamp(0.0, 1.0)
    return 1.0 - x**3 * (10.0 - 15.0 * x + 6.0 * x * x)


@register("lennard_jones")
class LennardJones(Potential):
    """One-species Lennard-Jones potential (all atoms interact alike).

    Args:
        epsilon: well depth, eV (argon: 0.0104).
        sigma: zero-crossing distance, Å (argon: 3.40).
        cutoff: Å; pairs beyond it contribute nothing.
        switch_on: Å where the switch starts (default 0.85 * cutoff).
    """

    reads = (K.POSITIONS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, epsilon: float = 0.0104, sigma: float = 3.40, cutoff: float = 8.5,
                 switch_on: float | None = None):
        super().__init__()
        if not 0 < (switch_on if switch_on is not None else 0.85 * cutoff) < cutoff:
            raise ValueError(f"switch_on must lie in (0, cutoff={cutoff}), got {switch_on}")
        self.epsilon, self.sigma, self.cutoff = float(epsilon), float(sigma), float(cutoff)
        self.switch_on = float(switch_on) if switch_on is not None else 0.85 * self.cutoff
        # Sets the dtype of the potential (float64 unless cast): positions are cast to it.
        self.register_buffer("_dtype_marker", torch.zeros((), dtype=torch.float64))

    def config(self):
        return {"epsilon": self.epsilon, "sigma": self.sigma, "cutoff": self.cutoff,
                "switch_on": self.switch_on}

    def forward(self, batch):
        """Per-atom energies (A,) float64 eV; edges beyond the cutoff are allowed (they add 0)."""
        r = edge_vectors(batch).norm(dim=-1)
        inside = r < self.cutoff
        safe = torch.where(inside, r, torch.full_like(r, self.cutoff))
        pair = lj_pair_energy(safe, self.epsilon, self.sigma) * quintic_switch(
            safe, self.switch_on, self.cutoff)
        pair = torch.where(inside, pair, torch.zeros_like(pair))
        out = torch.zeros(batch[K.POSITIONS].shape[0], dtype=torch.float64, device=r.device)
        return out.index_add(0, batch[K.EDGE_INDEX][0], 0.5 * pair.to(torch.float64))
