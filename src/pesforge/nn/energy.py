"""The per-atom energy head shared by graph models, and the statistics it is fitted with.

E_i = e0(Z_i) + scale * (y_i + shift(Z_i)), with y_i the network output, e0 per-element
reference energies from a least-squares fit to the training energies (float64, frozen), ``scale``
the typical size of per-atom energy variations (force RMS x 1 Å, see
:func:`pesforge.training.prepare.energy_scale`) and ``shift`` a trainable per-element offset.
Per-atom energies come out in float64 whatever the model's dtype.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from pesforge.data import keys as K


class ElementEnergyHead(nn.Module):
    """(A,) network outputs and (A,) species indices -> (A,) float64 per-atom energies, eV."""

    def __init__(self, n_species: int):
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(n_species))
        self.register_buffer("energy_scale", torch.ones(()))
        self.register_buffer("reference_energies", torch.zeros(n_species, dtype=torch.float64))

    def _apply(self, fn, recurse=True):
        # Reference energies stay float64 whatever dtype the model is cast to.
        reference = self.reference_energies
        out = super()._apply(fn, recurse)
        self.reference_energies = reference.to(self.energy_scale.device)
        return out

    def forward(self, y: torch.Tensor, species: torch.Tensor) -> torch.Tensor:
        learned = self.energy_scale * (y + self.shift[species])
        return self.reference_energies[species] + learned.to(torch.float64)

    @torch.no_grad()
    def set(self, reference_energies: np.ndarray | None, energy_scale: float | None) -> None:
        """Set the frozen terms: (n_species,) eV per atom and the energy scale, eV."""
        if reference_energies is not None:
            ref = torch.as_tensor(np.asarray(reference_energies), dtype=torch.float64)
            if ref.shape != self.reference_energies.shape:
                raise ValueError(f"reference_energies has shape {tuple(ref.shape)}, expected "
                                 f"{tuple(self.reference_energies.shape)}")
            self.reference_energies.copy_(ref)
        if energy_scale is not None:
            if not energy_scale > 0:
                raise ValueError(f"energy_scale must be positive, got {energy_scale}")
            self.energy_scale.fill_(float(energy_scale))


def average_neighbours(batches: Iterable[dict[str, torch.Tensor]]) -> float:
    """Mean number of neighbours within the cutoff per atom over ``batches`` (1 if no atoms)."""
    edges = atoms = 0
    for batch in batches:
        edges += int(batch[K.EDGE_INDEX].shape[1])
        atoms += int(batch[K.ATOMIC_NUMBERS].shape[0])
    return edges / atoms if atoms and edges else 1.0
