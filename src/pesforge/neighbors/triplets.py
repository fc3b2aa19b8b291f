"""Angle triplets (i; j, k) from a directed edge list, without Python loops."""

from __future__ import annotations

import torch


def triplets(centers: torch.Tensor, n_atoms: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unordered pairs of edges that share a centre atom.

    Args:
        centers: (E,) centre atom of each edge; edges need not be sorted.
        n_atoms: number of atoms A in the batch.

    Returns:
        ``(first, second)``: (T,) indices into the edges, with ``first != second`` and each
        unordered pair of edges around one centre listed once.
    """
    if len(centers) < 2 or bool((centers[1:] >= centers[:-1]).all()):  # grouped (the usual)
        order = torch.arange(len(centers), device=centers.device)
    else:
        order = torch.argsort(centers, stable=True)
    counts = torch.bincount(centers, minlength=n_atoms)
    starts = torch.cumsum(counts, 0) - counts
    sorted_centers = centers[order]
    local = torch.arange(len(centers), device=centers.device) - starts[sorted_centers]
    partners = counts[sorted_centers] - 1 - local  # edges after this one around the same centre
    first_sorted = torch.repeat_interleave(torch.arange(len(centers), device=centers.device),
                                           partners)
    block_start = torch.repeat_interleave(torch.cumsum(partners, 0) - partners, partners)
    step = torch.arange(len(first_sorted), device=centers.device) - block_start
    second_sorted = first_sorted + 1 + step
    return order[first_sorted], order[second_sorted]
