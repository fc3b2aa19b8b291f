"""Per-species inputs of graph models: atomic numbers -> species indices -> learned embeddings."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class SpeciesIndex(nn.Module):
    """Maps atomic numbers (A,) int64 to indices (A,) into ``elements`` (sorted).

    An atomic number the model does not know raises a ``ValueError`` naming it.
    """

    def __init__(self, elements: Sequence[int]):
        super().__init__()
        self.elements = sorted(int(z) for z in elements)
        if not self.elements or len(set(self.elements)) != len(self.elements):
            raise ValueError(f"elements must be distinct atomic numbers, got {list(elements)}")
        table = torch.full((max(self.elements) + 1,), -1, dtype=torch.long)
        table[self.elements] = torch.arange(len(self.elements))
        self.register_buffer("table", table, persistent=False)

    def forward(self, atomic_numbers: torch.Tensor) -> torch.Tensor:
        z = atomic_numbers.clamp(0, self.table.shape[0] - 1)
        species = self.table[z]
        unknown = (species < 0) | (atomic_numbers >= self.table.shape[0])
        if bool(unknown.any()):
            bad = sorted(set(atomic_numbers[unknown].tolist()))
            raise ValueError(f"atomic numbers {bad} are not among the model's elements "
                             f"{self.elements}")
        return species


class SpeciesEmbedding(nn.Module):
    """A learned vector per species: (A,) indices -> (A, features)."""

    def __init__(self, n_species: int, features: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_species, features))

    def forward(self, species: torch.Tensor) -> torch.Tensor:
        return self.weight[species]
