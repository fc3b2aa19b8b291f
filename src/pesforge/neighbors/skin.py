"""A Verlet neighbour list: pairs within cutoff + skin, rebuilt only when some pair may have
entered the cutoff since the last build.

Between builds, :meth:`SkinNeighborList.edges` filters the stored candidates to the pairs
within the cutoff at the current positions (a cheap distance test on the device). A rebuild is
triggered per batch when, in any system, ``2 d_max + eta (cutoff + skin) > skin`` where
``d_max`` is the largest atom displacement relative to the affinely deformed reference
positions and ``eta = ||h_ref^-1 h - 1||_2`` the deformation of the cell since the build. That
bound guarantees that no pair beyond cutoff + skin at the build can be within the cutoff now,
so the filtered list equals a fresh search (tested).
"""

from __future__ import annotations

import numpy as np
import torch

from pesforge.neighbors.vesin_backend import neighbor_list


class SkinNeighborList:
    """Cached neighbour list with a skin over a batch of systems.

    Args:
        cutoff: the potential's cutoff, Å.
        skin: extra radius searched at a build, Å (0 rebuilds every call).
    """

    def __init__(self, cutoff: float, skin: float = 1.0):
        if cutoff <= 0 or skin < 0:
            raise ValueError(f"need cutoff > 0 and skin >= 0, got {cutoff}, {skin}")
        self.cutoff, self.skin = float(cutoff), float(skin)
        self.n_builds = 0
        self.edge_index: torch.Tensor | None = None  # (2, E) candidates within cutoff + skin
        self.shifts: torch.Tensor | None = None  # (E, 3) float integer shifts
        self.ref_positions: torch.Tensor | None = None
        self.ref_cell: torch.Tensor | None = None
        self._offset_cell: torch.Tensor | None = None  # cell of the cached S @ cell offsets
        self._offsets: torch.Tensor | None = None

    def needs_rebuild(self, positions: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor,
                      system: torch.Tensor) -> bool:
        """Whether the cached candidates may miss a pair within the cutoff."""
        if self.edge_index is None or self.ref_positions.shape != positions.shape:
            return True
        if self.skin == 0:
            return True
        n_systems = cell.shape[0]
        if torch.equal(cell, self.ref_cell):
            moved = positions - self.ref_positions
            eta = torch.zeros(n_systems, dtype=positions.dtype, device=positions.device)
        else:
            periodic = pbc.any(dim=1)
            det = torch.linalg.det(self.ref_cell)
            changed = (cell != self.ref_cell).flatten(1).any(dim=1)
            if bool((changed & periodic & (det.abs() < 1e-12)).any()):
                return True
            eye = torch.eye(3, dtype=cell.dtype, device=cell.device).expand_as(cell)
            safe_ref = torch.where((periodic & changed)[:, None, None], self.ref_cell, eye)
            deform = torch.linalg.solve(safe_ref, torch.where(
                (periodic & changed)[:, None, None], cell, eye))
            eta = torch.linalg.matrix_norm(deform - eye, ord=2)
            moved = positions - torch.einsum("ai,aij->aj", self.ref_positions, deform[system])
        d2 = torch.zeros(n_systems, dtype=positions.dtype, device=positions.device)
        d2 = d2.scatter_reduce(0, system, (moved * moved).sum(-1), "amax", include_self=True)
        bound = 2.0 * d2.sqrt() + eta * (self.cutoff + self.skin)
        return bool((bound > self.skin).any())

    def build(self, positions: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor,
              n_atoms: torch.Tensor) -> None:
        """Search all pairs within cutoff + skin (vesin, on the CPU) and store them."""
        pos = positions.detach().cpu().double().numpy()
        cells = cell.detach().cpu().double().numpy()
        pbcs = pbc.detach().cpu().numpy()
        counts = n_atoms.cpu().numpy()
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        pairs, shifts = [], []
        for s, (start, n) in enumerate(zip(offsets, counts)):
            ij, sh = neighbor_list(pos[start:start + n], cells[s], pbcs[s],
                                   self.cutoff + self.skin)
            pairs.append(ij + start)
            shifts.append(sh)
        device = positions.device
        self.edge_index = torch.from_numpy(np.concatenate(pairs, axis=1)).to(device)
        self.shifts = torch.from_numpy(np.concatenate(shifts).astype(np.float64)).to(
            device=device, dtype=positions.dtype)
        self.ref_positions = positions.detach().clone()
        self.ref_cell = cell.detach().clone()
        self._offset_cell = None
        self.n_builds += 1

    def edges(self, positions: torch.Tensor, cell: torch.Tensor, pbc: torch.Tensor,
              system: torch.Tensor, n_atoms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pairs within the cutoff now: ``(edge_index (2, E), shifts (E, 3))``, rebuilding the
        candidates first if needed. Edges keep the build's order (grouped by centre)."""
        with torch.no_grad():
            if self.needs_rebuild(positions, cell, pbc, system):
                self.build(positions, cell, pbc, n_atoms)
            i, j = self.edge_index
            shifts = self.shifts.to(positions.dtype)
            if self._offset_cell is None or not torch.equal(self._offset_cell, cell):
                self._offsets = torch.einsum("ek,ekl->el", shifts, cell[system[i]])
                self._offset_cell = cell.clone()
            # index_select and an index list: faster than [] gathers and boolean masks
            vec = positions.index_select(0, j) - positions.index_select(0, i) + self._offsets
            keep = torch.nonzero((vec * vec).sum(-1) < self.cutoff**2).squeeze(1)
            return self.edge_index.index_select(1, keep), shifts.index_select(0, keep)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Tensors that restore the cache exactly (for bitwise-exact MD restarts)."""
        if self.edge_index is None:
            return {}
        return {"edge_index": self.edge_index, "shifts": self.shifts,
                "ref_positions": self.ref_positions, "ref_cell": self.ref_cell}

    def load_state_dict(self, state: dict[str, torch.Tensor], device=None) -> None:
        if not state:
            return
        self.edge_index = state["edge_index"].to(device)
        self.shifts = state["shifts"].to(device)
        self.ref_positions = state["ref_positions"].to(device)
        self.ref_cell = state["ref_cell"].to(device)
        self._offset_cell = None
