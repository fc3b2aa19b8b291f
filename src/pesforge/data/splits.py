"""Reproducible, disjoint random splits of a data set (train / validation / test ...)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pesforge.data.frame import Frame


def split_indices(n: int, sizes: Sequence[int | float], seed: int = 0) -> list[np.ndarray]:
    """Randomly partition ``range(n)`` into disjoint parts of the given sizes.

    Args:
        n: number of items.
        sizes: either all integers (counts, summing to at most ``n``) or all floats
            (fractions in [0, 1], summing to at most 1; counts are rounded by largest
            remainder so that fractions summing to 1 use every item).
        seed: seed of :func:`numpy.random.default_rng`; the same ``(n, sizes, seed)`` always
            gives the same parts.

    Returns:
        One sorted int64 array per entry of ``sizes``. Parts never overlap; they cover
        ``range(n)`` exactly when the sizes sum to ``n`` (or the fractions to 1).
    """
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    counts = _counts(n, list(sizes))
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [np.sort(order[a:b]).astype(np.int64) for a, b in zip(bounds[:-1], bounds[1:])]


def _counts(n: int, sizes: list) -> list[int]:
    if not sizes:
        raise ValueError("sizes must not be empty")
    if any(isinstance(s, (bool, np.bool_)) for s in sizes):
        raise TypeError(f"sizes must be counts or fractions, not booleans: {sizes}")
    if all(isinstance(s, (int, np.integer)) for s in sizes):
        counts = [int(s) for s in sizes]
        if min(counts) < 0 or sum(counts) > n:
            raise ValueError(f"sizes {counts} must be non-negative and sum to at most {n}")
        return counts
    if not all(isinstance(s, (float, np.floating)) for s in sizes):
        raise TypeError(f"sizes must be all integers (counts) or all floats (fractions): "
                        f"{sizes}")
    fractions = np.asarray(sizes, dtype=np.float64)
    if fractions.min() < 0 or fractions.sum() > 1 + 1e-9:
        raise ValueError(f"fractions {sizes} must be non-negative and sum to at most 1")
    exact = fractions * n
    counts = np.floor(exact).astype(int)
    total = min(n, int(round(exact.sum())))
    for k in np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]:
        counts[k] += 1
    return counts.tolist()


def train_validation_split(frames: Sequence[Frame], validation: int | float,
                           seed: int = 0) -> tuple[list[Frame], list[Frame]]:
    """Split frames into (train, validation) at random, reproducibly.

    Args:
        frames: the data set.
        validation: number of validation frames (int), or their fraction (float in (0, 1));
            a positive fraction always gives at least one validation frame.
        seed: as in :func:`split_indices`.

    Returns:
        ``(train, validation)`` lists, each in the original order; every frame is in exactly
        one of them.
    """
    n = len(frames)
    if isinstance(validation, (float, np.floating)):
        if not 0 < validation < 1:
            raise ValueError(f"validation fraction must be in (0, 1), got {validation}")
        validation = max(1, int(round(validation * n)))
    if not 0 < validation < n:
        raise ValueError(f"cannot take {validation} validation frames from {n} frames and "
                         f"keep at least one for training")
    train, valid = split_indices(n, [n - int(validation), int(validation)], seed=seed)
    return [frames[k] for k in train], [frames[k] for k in valid]
