"""Selection: uncertain candidates, spread over descriptor space.

Candidates whose max per-atom force std exceeds the threshold are eligible. Two ways to pick a
batch among them (``strategy``):

* ``farthest_point``: the most uncertain one first; each next pick is the eligible candidate
  farthest (Euclidean, in a radial distribution fingerprint) from everything already picked
  *and* from the labelled data, so a batch spends no oracle calls on near-copies. It favours
  the extremes of what exploration visited.
* ``clusters``: k-means of the eligible candidates into ``batch_size`` clusters and, from each,
  the member nearest its centroid: typical structures from where the eligible candidates are
  dense, for a test distribution like the exploration's (measured in docs/benchmarks.md:
  farthest-point picks on rMD17 ethanol sat 0.4–1.0 eV above the test frames' mean energy).
* ``cluster_maxima``: the same clusters and, from each, its most uncertain member: one pick
  per dense region, as ``clusters``, but the one the committee knows least there.
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


def kmeans(features: np.ndarray, k: int, *, seed=0,
           iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """k-means of the rows of ``features`` (N >= 1, D) into at most ``k`` clusters (k-means++
    start from ``seed``, Lloyd iterations until no row changes cluster). Deterministic for a
    seed. Returns ``(label (N,), squared distances (N, C) of every row to every centroid)``."""
    n = len(features)
    k = min(k, n)
    rng = np.random.default_rng(seed)
    x = np.asarray(features, dtype=np.float64)
    centres = [x[rng.integers(n)]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    while len(centres) < k and d2.sum() > 0:
        centres.append(x[rng.choice(n, p=d2 / d2.sum())])
        d2 = np.minimum(d2, ((x - centres[-1]) ** 2).sum(1))
    centres = np.array(centres)
    label = None
    for _ in range(iterations):
        dist = ((x[:, None, :] - centres[None]) ** 2).sum(2)
        new = dist.argmin(1)
        if label is not None and np.array_equal(new, label):
            break
        label = new
        centres = np.array([x[label == c].mean(0) if (label == c).any() else centres[c]
                            for c in range(len(centres))])
    return label, ((x[:, None, :] - centres[None]) ** 2).sum(2)


def cluster_representatives(features: np.ndarray, k: int, *, seed=0,
                            score: np.ndarray | None = None) -> list[int]:
    """One row per :func:`kmeans` cluster of ``features`` (N, D): the row nearest the
    centroid (a typical member) or, given ``score`` (N,), the member with the highest score.
    Identical rows give fewer than ``k`` distinct picks only when fewer than ``k`` distinct
    rows exist. Returns row indices in cluster order."""
    if min(k, len(features)) == 0:
        return []
    label, dist = kmeans(features, k, seed=seed)
    picks = []
    for c in range(dist.shape[1]):
        members = np.flatnonzero(label == c)
        if len(members):
            best = (np.argmin(dist[members, c]) if score is None
                    else np.argmax(score[members]))
            picks.append(int(members[best]))
    return picks


STRATEGIES = ("farthest_point", "clusters", "cluster_maxima")


def select(frames: Sequence[Frame], uncertainty: Sequence[float], *, threshold: float,
           batch_size: int, cutoff: float, labelled: Sequence[Frame] = (),
           strategy: str = "farthest_point", seed=0) -> list[int]:
    """Indices of the candidates to label: ``uncertainty`` (max per-atom force std, eV/Å)
    above ``threshold``, at most ``batch_size``, spread by :func:`farthest_point` (from the
    most uncertain, away from ``labelled``) or :func:`cluster_representatives` (``seed``;
    with ``cluster_maxima`` each cluster's most uncertain member)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    eligible = np.flatnonzero(uncertainty > threshold)
    if len(eligible) == 0 or batch_size <= 0:
        return []
    elements = sorted({int(z) for f in [*frames, *labelled] for z in f.numbers})
    features = np.stack([fingerprint(frames[i], elements, cutoff) for i in eligible])
    if strategy in ("clusters", "cluster_maxima"):
        score = uncertainty[eligible] if strategy == "cluster_maxima" else None
        picked = cluster_representatives(features, batch_size, seed=seed, score=score)
    else:
        reference = (np.stack([fingerprint(f, elements, cutoff) for f in labelled])
                     if labelled else None)
        first = int(np.argmax(uncertainty[eligible]))
        picked = farthest_point(features, batch_size, first, reference)
    return [int(eligible[p]) for p in picked]
