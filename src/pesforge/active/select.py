"""Selection: uncertain candidates, spread over a feature space.

Candidates whose max per-atom force std exceeds the threshold are eligible. The feature space
is a radial distribution fingerprint of each structure (:func:`fingerprint`, the default) or,
with ``describe=readout_descriptor(committee)``, the committee's own last-layer gradient
features (:func:`readout_descriptor`). Ways to pick a batch among the eligible (``strategy``):

* ``farthest_point``: the most uncertain one first; each next pick is the eligible candidate
  farthest (Euclidean) from everything already picked *and* from the labelled data, so a
  batch spends no oracle calls on near-copies. It favours the extremes of what exploration
  visited.
* ``clusters``: k-means of the eligible candidates into ``batch_size`` clusters and, from each,
  the member nearest its centroid: typical structures from where the eligible candidates are
  dense, for a test distribution like the exploration's (measured in docs/benchmarks.md:
  farthest-point picks on rMD17 ethanol sat 0.4–1.0 eV above the test frames' mean energy).
* ``cluster_maxima``: the same clusters and, from each, its most uncertain member: one pick
  per dense region, as ``clusters``, but the one the committee knows least there.
* ``lcmd``: largest-cluster maximum distance (Holzmüller et al., JMLR 24, 164 (2023), the
  "TP" variant): the labelled frames are the first centres, every candidate belongs to its
  nearest centre, and each pick is the farthest member of the cluster with the largest sum
  of squared distances, which then becomes a centre. Dense regions far from the data first,
  one pick each, without k-means' randomness.
* ``max_determinant``: greedy D-optimal design in the feature space: each pick maximises
  the variance a Bayesian linear model on the features (trained on the labelled frames and
  the picks so far) assigns to it (Zaverkin & Kästner, Mach. Learn.: Sci. Technol. 2,
  035009 (2021) for this variance; Holzmüller et al. for the batch rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

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


def lcmd(features: np.ndarray, k: int, reference: np.ndarray | None = None) -> list[int]:
    """Largest-cluster maximum-distance picks of ``k`` rows of ``features`` (N, D), the rows of
    ``reference`` (M, D) being centres already (none: the row nearest the mean starts). Each
    step adds as a centre the row farthest from its centre within the cluster whose squared
    distances sum highest. Stops early when every row coincides with a centre."""
    x = np.asarray(features, dtype=np.float64)
    n = len(x)
    if min(k, n) == 0:
        return []
    chosen: list[int] = []
    if reference is not None and len(reference):
        r = np.asarray(reference, dtype=np.float64)
        d2 = np.full(n, np.inf)
        owner = np.zeros(n, dtype=np.int64)
        for c, row in enumerate(r):
            dc = ((x - row) ** 2).sum(1)
            closer = dc < d2
            d2[closer], owner[closer] = dc[closer], c
        n_centres = len(r)
    else:
        first = int(np.argmin(((x - x.mean(0)) ** 2).sum(1)))
        chosen.append(first)
        d2, owner, n_centres = ((x - x[first]) ** 2).sum(1), np.zeros(n, dtype=np.int64), 1
    while len(chosen) < min(k, n):
        size = np.bincount(owner, weights=d2, minlength=n_centres)
        if size.max() <= 0.0:  # only copies of centres left
            break
        members = np.flatnonzero(owner == int(np.argmax(size)))
        pick = int(members[np.argmax(d2[members])])
        chosen.append(pick)
        dp = ((x - x[pick]) ** 2).sum(1)
        closer = dp < d2
        d2[closer], owner[closer] = dp[closer], n_centres
        n_centres += 1
    return chosen


def max_determinant(features: np.ndarray, k: int, reference: np.ndarray | None = None,
                    ridge: float = 1e-3) -> list[int]:
    """Greedy D-optimal picks of ``k`` rows of ``features`` (N, D) given the labelled rows
    ``reference`` (M, D): each pick has the largest posterior variance
    phi^T (R^T R + lambda I)^-1 phi, with R the reference rows and the picks so far and
    lambda = ``ridge`` x the mean squared row norm; this maximises the determinant of the
    posterior kernel matrix of the batch step by step."""
    x = np.asarray(features, dtype=np.float64)
    n, dim = x.shape
    if min(k, n) == 0:
        return []
    r = (np.asarray(reference, dtype=np.float64).reshape(-1, dim)
         if reference is not None else np.zeros((0, dim)))
    lam = ridge * max(float((np.concatenate([x, r]) ** 2).sum(1).mean()), 1e-300)
    inverse = np.linalg.inv(r.T @ r + lam * np.eye(dim))
    projected = x @ inverse  # (N, D): rows phi^T A^-1
    variance = (projected * x).sum(1)
    chosen: list[int] = []
    while len(chosen) < min(k, n):
        variance[chosen] = -np.inf
        pick = int(np.argmax(variance))
        if variance[pick] <= 0.0:  # only zero rows left
            break
        chosen.append(pick)
        u = projected[pick]  # A^-1 phi_p
        denominator = 1.0 + u @ x[pick]
        coupling = x @ u  # phi_x^T A^-1 phi_p
        variance -= coupling ** 2 / denominator
        projected -= np.outer(coupling, u) / denominator
    return chosen


STRATEGIES = ("farthest_point", "clusters", "cluster_maxima", "lcmd", "max_determinant")

Describe = Callable[[Sequence[Frame]], np.ndarray]


def fingerprint_descriptor(elements: Sequence[int], cutoff: float) -> Describe:
    """Frames -> (N, D) :func:`fingerprint` rows."""
    return lambda frames: np.stack([fingerprint(f, elements, cutoff) for f in frames])


def readout_descriptor(potential, batch_frames: int = 64) -> Describe:
    """Frames -> (N, D) last-layer gradient features of ``potential`` (eV): each frame's sum of
    :meth:`~pesforge.models.Potential.readout_features`, the gradient of its energy w.r.t.
    the final linear layer's weights (for a committee, all members' side by side)."""
    import torch

    from pesforge.data import keys as K
    from pesforge.data.batch import collate, to

    device = next(potential.parameters()).device

    def describe(frames: Sequence[Frame]) -> np.ndarray:
        rows = []
        for lo in range(0, len(frames), batch_frames):
            chunk = frames[lo:lo + batch_frames]
            batch = to(collate(chunk, potential.cutoff, dtype=potential.dtype), device=device)
            with torch.no_grad():
                per_atom = potential.readout_features(batch).to(torch.float64)
            per_frame = per_atom.new_zeros(len(chunk), per_atom.shape[1])
            rows.append(per_frame.index_add_(0, batch[K.SYSTEM], per_atom).cpu().numpy())
        return np.concatenate(rows)

    return describe


def select(frames: Sequence[Frame], uncertainty: Sequence[float], *, threshold: float,
           batch_size: int, cutoff: float, labelled: Sequence[Frame] = (),
           strategy: str = "farthest_point", seed=0, describe: Describe | None = None
           ) -> list[int]:
    """Indices of the candidates to label: ``uncertainty`` (max per-atom force std, eV/Å)
    above ``threshold``, at most ``batch_size``, spread in the space of ``describe`` (default
    :func:`fingerprint` within ``cutoff`` Å) by ``strategy`` (module docstring; ``seed`` for
    the k-means ones; ``farthest_point``, ``lcmd`` and ``max_determinant`` count the
    ``labelled`` frames as picked already)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
    uncertainty = np.asarray(uncertainty, dtype=np.float64)
    eligible = np.flatnonzero(uncertainty > threshold)
    if len(eligible) == 0 or batch_size <= 0:
        return []
    if describe is None:
        elements = sorted({int(z) for f in [*frames, *labelled] for z in f.numbers})
        describe = fingerprint_descriptor(elements, cutoff)
    features = describe([frames[i] for i in eligible])
    if strategy in ("clusters", "cluster_maxima"):
        score = uncertainty[eligible] if strategy == "cluster_maxima" else None
        picked = cluster_representatives(features, batch_size, seed=seed, score=score)
    else:
        reference = describe(list(labelled)) if labelled else None
        if strategy == "lcmd":
            picked = lcmd(features, batch_size, reference)
        elif strategy == "max_determinant":
            picked = max_determinant(features, batch_size, reference)
        else:
            first = int(np.argmax(uncertainty[eligible]))
            picked = farthest_point(features, batch_size, first, reference)
    return [int(eligible[p]) for p in picked]
