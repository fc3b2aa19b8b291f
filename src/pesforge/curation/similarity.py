"""Duplicates, near-duplicates and coverage in descriptor space.

Frames are compared by their per-element summed symmetry functions (standardised per column):
identical structures (also rotated or translated copies) have distance 0, near-duplicates a
distance far below the typical nearest-neighbour distance of the set. Coverage compares each
atomic environment of new frames with the nearest training environment of the same element
(standardised symmetry functions), against the same distance between training frames, so a
prediction on a frame farther out than the training set itself ever is reads as extrapolation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def _nearest(a: np.ndarray, b: np.ndarray, *, exclude: tuple[np.ndarray, np.ndarray] | None = None,
             chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Distance and index of the nearest row of ``b`` for every row of ``a``; ``exclude``
    = (group of a rows, group of b rows) forbids matches within the same group."""
    b_sq = np.sum(b**2, axis=1)
    dist = np.empty(len(a))
    index = np.empty(len(a), dtype=np.int64)
    for lo in range(0, len(a), chunk):
        block = a[lo:lo + chunk]
        d2 = np.sum(block**2, axis=1)[:, None] + b_sq[None] - 2 * block @ b.T
        if exclude is not None:
            d2[exclude[0][lo:lo + chunk, None] == exclude[1][None]] = np.inf
        k = np.argmin(d2, axis=1)
        index[lo:lo + chunk] = k
        # the expanded square loses digits (its error ~ 1e-8 |x|): the winners' distances
        # are recomputed directly, so exact copies come out at ~1e-15, not ~1e-8
        dist[lo:lo + chunk] = np.linalg.norm(block - b[k], axis=1)
    return dist, index


def frame_vectors(desc) -> np.ndarray:
    """Per-frame descriptor vectors standardised per column, scaled so the typical distance is
    O(1): (n_frames, D)."""
    x = np.concatenate([desc.summed, desc.counts], axis=1)
    std = x.std(0)
    std[std == 0] = 1.0
    return (x - x.mean(0)) / std / np.sqrt(x.shape[1])


def near_duplicates(desc, energies: Sequence[float | None] | None = None, *,
                    relative: float = 0.05, exact: float = 1e-8) -> list[dict]:
    """Pairs of frames closer than ``relative`` × the median nearest-neighbour distance.

    Returns dicts ``{i, j, distance, relative, kind ("duplicate" | "near"), energy_gap_eV}``
    sorted by distance; a large energy gap between (near-)identical structures means at least
    one label is wrong.
    """
    x = frame_vectors(desc)
    n = len(x)
    if n < 2:
        return []
    dist, nn = _nearest(x, x, exclude=(np.arange(n), np.arange(n)))
    scale = float(np.median(dist)) or 1.0
    pairs = {}
    for i in np.flatnonzero(dist < relative * scale):
        j = int(nn[i])
        key = (min(int(i), j), max(int(i), j))
        gap = None
        if energies is not None and energies[key[0]] is not None and energies[key[1]] is not None:
            gap = float(abs(energies[key[0]] - energies[key[1]]))
        pairs[key] = {"i": key[0], "j": key[1], "distance": float(dist[i]),
                      "relative": float(dist[i] / scale),
                      "kind": "duplicate" if dist[i] < exact else "near", "energy_gap_eV": gap}
    return sorted(pairs.values(), key=lambda p: p["distance"])


@dataclass
class Coverage:
    """How new frames sit relative to a training set.

    Attributes:
        distance: (n_new,) largest over the frame's atoms of the distance to the nearest
            training environment of the same element (standardised descriptor units).
        quantile: (n_new,) fraction of training frames whose own (leave-frame-out) distance is
            below it; 1.0 means farther out than any training frame.
        extrapolating: (n_new,) distance above the ``level`` quantile of the training frames.
        reference: (n_train,) the training frames' leave-frame-out distances.
    """

    distance: np.ndarray
    quantile: np.ndarray
    extrapolating: np.ndarray
    reference: np.ndarray


def coverage(train_desc, new_desc, *, level: float = 0.99) -> Coverage:
    """Distance of every new frame's atomic environments to the training environments."""
    if list(train_desc.elements) != list(new_desc.elements):
        raise ValueError(f"descriptor elements differ: {train_desc.elements} vs "
                         f"{new_desc.elements}; describe both with the same elements")

    def stack(desc):
        env = np.concatenate(desc.atomic)
        owner = np.repeat(np.arange(len(desc.atomic)), [len(a) for a in desc.atomic])
        return env, owner, np.concatenate(desc.numbers)

    t_env, t_owner, t_species = stack(train_desc)
    n_env, n_owner, n_species = stack(new_desc)
    ref = np.zeros(len(train_desc.atomic))
    new = np.zeros(len(new_desc.atomic))
    for s in np.unique(np.concatenate([t_species, n_species])):
        t_sel, n_sel = t_species == s, n_species == s
        if n_sel.any() and not t_sel.any():
            new[np.unique(n_owner[n_sel])] = np.inf  # an element never seen in training
            continue
        mean, std = t_env[t_sel].mean(0), t_env[t_sel].std(0)
        std[std < 1e-8] = 1.0
        t = (t_env[t_sel] - mean) / std
        if t_sel.sum() > 1:
            d_t, _ = _nearest(t, t, exclude=(t_owner[t_sel], t_owner[t_sel]))
            np.maximum.at(ref, t_owner[t_sel], np.where(np.isfinite(d_t), d_t, 0.0))
        if n_sel.any():
            d_n, _ = _nearest((n_env[n_sel] - mean) / std, t)
            np.maximum.at(new, n_owner[n_sel], d_n)
    sorted_ref = np.sort(ref)
    quantile = np.searchsorted(sorted_ref, new, side="right") / max(len(ref), 1)
    threshold = np.quantile(ref, level) if len(ref) else 0.0
    return Coverage(new, quantile, new > threshold, ref)
