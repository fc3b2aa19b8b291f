"""Tiny analytic pair potentials used by the analysis tests (harmonic bond, Lennard-Jones)."""

from __future__ import annotations

import torch

from pesforge.data import keys as K
from pesforge.models.potential import Potential
from pesforge.neighbors import edge_vectors


class HarmonicPair(Potential):
    """E = sum over pairs ½ k (r - r0)², split half to each atom (eV, Å)."""

    def __init__(self, k: float = 30.0, r0: float = 1.1, cutoff: float = 3.0):
        super().__init__()
        self.k, self.r0, self.cutoff = k, r0, cutoff
        self.register_buffer("dummy", torch.zeros((), dtype=torch.float64))

    def forward(self, batch):
        r = edge_vectors(batch).norm(dim=-1)
        pair = 0.25 * self.k * (r - self.r0) ** 2  # each pair appears twice (i->j, j->i)
        out = torch.zeros(batch[K.POSITIONS].shape[0], dtype=r.dtype, device=r.device)
        return out.index_add(0, batch[K.EDGE_INDEX][0], pair).to(torch.float64)

    def config(self):
        return {"k": self.k, "r0": self.r0, "cutoff": self.cutoff}


class LennardJones(Potential):
    """ASE's LennardJones form: 4ε[(σ/r)^12 - (σ/r)^6] shifted to zero at the cutoff."""

    def __init__(self, epsilon: float = 1.0, sigma: float = 1.0, cutoff: float = 3.0):
        super().__init__()
        self.epsilon, self.sigma, self.cutoff = epsilon, sigma, cutoff
        self.register_buffer("dummy", torch.zeros((), dtype=torch.float64))

    def forward(self, batch):
        r = edge_vectors(batch).norm(dim=-1)
        shift = 4 * self.epsilon * ((self.sigma / self.cutoff) ** 12
                                    - (self.sigma / self.cutoff) ** 6)
        pair = 4 * self.epsilon * ((self.sigma / r) ** 12 - (self.sigma / r) ** 6) - shift
        out = torch.zeros(batch[K.POSITIONS].shape[0], dtype=r.dtype, device=r.device)
        return out.index_add(0, batch[K.EDGE_INDEX][0], 0.5 * pair).to(torch.float64)

    def config(self):
        return {"epsilon": self.epsilon, "sigma": self.sigma, "cutoff": self.cutoff}
