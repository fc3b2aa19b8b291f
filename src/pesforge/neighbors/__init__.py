"""Neighbour lists: (positions, cell, pbc, cutoff) -> directed pairs and lattice shifts.

The search itself is vesin's (periodic, triclinic, mixed periodicity, small cells that need many
images). Pairs are found without gradients; differentiable edge vectors are rebuilt from the
positions and cell in the batch by :func:`edge_vectors`, so forces and stress flow through them.
"""

from pesforge.neighbors.vesin_backend import edge_vectors, neighbor_list

__all__ = ["neighbor_list", "edge_vectors"]
