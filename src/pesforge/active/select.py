"""Selection: uncertain candidates, de-duplicated by farthest-point sampling in descriptor space.

Candidates whose max per-atom force std exceeds the threshold are eligible. The most uncertain
one is taken first; each next pick is the eligible candidate farthest (Euclidean, in a radial
distribution fingerprint) from everything already picked *and* from the labelled data, so a
batch does not spend oracle calls on near-copies of one another or of known structures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pesforge.data.frame import Frame


def fingerprint(frame: Frame, elements: Sequence[int], cutoff: float,
                n_bins: int = 24) -> np.ndarray:
    """A permutation-, rotation- and translation-invariant descriptor of a structure: for each
    element pair, the Gaussian-smeared histogram of interatomic distances (Å) up to ``cutoff``
    with a cosine cutoff, divided by the number of atoms. Shape (n_pairs * n_bins,)."""
    from pesforge.neighbors import neighbor_list

    elements = sorted(int(z) for z in elements)
    pairs = [(a, b) for i, a in enumerate(elements) for b in elements[i:]]
    index = {p: k for k, p in enumerate(pairs)}
    edges, shifts = neighbor_list(frame.positions, frame.cell, frame.pbc, cutoff)
    i, j = edges
    vectors = frame.positions[j] - frame.positions[i] + shifts @ frame.cell
    d = np.linalg.norm(vectors, axis=1)
    centres = np.linspace(0.5, cutoff, n_bins)
    width = (cutoff - 0.5) / n_bins
    weight = 0.5 * (np.cos(np.pi * d / cutoff) + 1.0)
    smeared = np.exp(-((d[:, None] - centres) ** 2) / (2 * width ** 2)) * weight[:, None]
    out = np.zeros((len(pairs), n_bins))
    zi, zj = frame.numbers[i], frame.numbers[j]
    keys = [index[(min(a, b), max(a, b))] for a, b in zip(zi.tolist(), zj.tolist())]
    np.add.at(out, keys, smeared)
    return out.reshape(-1) / max(len(frame), 1)


def farthest_point(features: np.ndarray, k: int, first: int,
                   reference: np.ndarray | None = None) -> list[int]:
    """Greedy farthest-point sampling of ``k`` rows of ``features`` (N, D), starting at row
    ``first``; distances also count to the rows of ``reference`` (M, D), already chosen."""
    n = len(features)
    k = min(k, n)
    if k == 0:
        return []
    dist = np.full(n, np.inf)
    if reference is not None and len(reference):
        for r in reference:
            dist = np.minimum(dist, np.linalg.norm(features - r, axis=1))
    chosen = [int(first)]
    dist = np.minimum(dist, np.linalg.norm(features - features[first], axis=1))
    while len(chosen) < k:
        dist[chosen] = -1.0
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0.0:  # only duplicates left
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(features - features[nxt], axis=1))
    return chosen


def select(frames: Sequence[Frame], uncertainty: Sequence[float], *, threshold: float,
           batch_size: int, cutoff: float, labelled: Sequence[Frame] = ()) -> list[int]:
    """Indices of the candidates to label: ``uncertainty`` (max per-atom force std, eV/Å)
    above ``threshold``, at most ``batch_size``, spread by :func:`farthest_point`."""
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    eligible = np.flatnonzero(uncertainty > threshold)
    if len(eligible) == 0 or batch_size <= 0:
        return []
    elements = sorted({int(z) for f in [*frames, *labelled] for z in f.numbers})
    features = np.stack([fingerprint(frames[i], elements, cutoff) for i in eligible])
    reference = (np.stack([fingerprint(f, elements, cutoff) for f in labelled])
                 if labelled else None)
    first = int(np.argmax(uncertainty[eligible]))
    picked = farthest_point(features, batch_size, first, reference)
    return [int(eligible[p]) for p in picked]
