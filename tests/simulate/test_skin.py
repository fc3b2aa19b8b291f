"""The skin neighbour list equals a fresh search and is rebuilt only when needed."""

import numpy as np
import pytest
import torch

from pesforge.neighbors import neighbor_list
from pesforge.neighbors.skin import SkinNeighborList


def _pairs(edge_index, shifts):
    return sorted(zip(edge_index[0].tolist(), edge_index[1].tolist(),
                      *[s.tolist() for s in torch.as_tensor(shifts).long().T]))


def _fresh(positions, cell, pbc, n_atoms, cutoff):
    pairs, start = [], 0
    for s, n in enumerate(n_atoms.tolist()):
        ij, sh = neighbor_list(positions[start:start + n].numpy(), cell[s].numpy(),
                               pbc[s].numpy(), cutoff)
        pairs += _pairs(torch.from_numpy(ij) + start, sh)
        start += n
    return sorted(pairs)


def _systems(seed=0):
    rng = np.random.default_rng(seed)
    cells = [np.array([[6.0, 0, 0], [1.0, 5.5, 0], [0.5, -0.7, 7.0]]),  # triclinic, periodic
             np.diag([8.0, 8.0, 0.0]),  # slab: periodic in x, y only
             np.zeros((3, 3))]  # molecule
    pbcs = [[True, True, True], [True, True, False], [False, False, False]]
    counts = [12, 9, 7]
    pos = [rng.uniform(0, 5, size=(n, 3)) for n in counts]
    return (torch.tensor(np.concatenate(pos)), torch.tensor(np.stack(cells)),
            torch.tensor(pbcs), torch.tensor(counts))


def test_skin_list_equals_fresh_list_as_atoms_move():
    positions, cell, pbc, n_atoms = _systems()
    system = torch.repeat_interleave(torch.arange(3), n_atoms)
    nl = SkinNeighborList(cutoff=3.0, skin=1.0)
    gen = torch.Generator().manual_seed(1)
    builds = []
    for step in range(30):
        positions = positions + 0.08 * torch.randn(positions.shape, generator=gen,
                                                   dtype=torch.float64)
        ij, sh = nl.edges(positions, cell, pbc, system, n_atoms)
        assert _pairs(ij, sh) == _fresh(positions, cell, pbc, n_atoms, 3.0), f"step {step}"
        builds.append(nl.n_builds)
    # random walks of ~0.14 Å per step: some rebuilds, but far fewer than steps
    assert 1 < builds[-1] < 25


def test_skin_list_follows_cell_deformation():
    positions, cell, pbc, n_atoms = _systems(2)
    system = torch.repeat_interleave(torch.arange(3), n_atoms)
    nl = SkinNeighborList(cutoff=3.0, skin=0.6)
    for step in range(12):
        strain = torch.eye(3, dtype=torch.float64) + 0.02 * step * torch.tensor(
            [[1.0, 0.3, 0], [0.3, -0.5, 0], [0, 0, 0.8]], dtype=torch.float64)
        new_cell = cell.clone()
        new_cell[0] = cell[0] @ strain
        new_pos = positions.clone()
        new_pos[:12] = positions[:12] @ strain
        ij, sh = nl.edges(new_pos, new_cell, pbc, system, n_atoms)
        assert _pairs(ij, sh) == _fresh(new_pos, new_cell, pbc, n_atoms, 3.0), f"step {step}"
    assert nl.n_builds > 1


def test_no_rebuild_for_small_moves_and_zero_skin_always_rebuilds():
    positions, cell, pbc, n_atoms = _systems(3)
    system = torch.repeat_interleave(torch.arange(3), n_atoms)
    nl = SkinNeighborList(cutoff=3.0, skin=1.0)
    nl.edges(positions, cell, pbc, system, n_atoms)
    nl.edges(positions + 0.2, cell, pbc, system, n_atoms)  # uniform shift, 0.35 Å < skin/2
    assert nl.n_builds == 1
    moved = positions.clone()
    moved[0, 0] += 0.51
    nl.edges(moved, cell, pbc, system, n_atoms)
    assert nl.n_builds == 2
    zero = SkinNeighborList(cutoff=3.0, skin=0.0)
    for _ in range(3):
        zero.edges(positions, cell, pbc, system, n_atoms)
    assert zero.n_builds == 3
    with pytest.raises(ValueError):
        SkinNeighborList(cutoff=3.0, skin=-1.0)
