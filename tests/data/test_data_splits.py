"""Splits are reproducible from a seed, disjoint and covering."""

import numpy as np
import pytest

from pesforge.data import Frame, split_indices, train_validation_split


def test_counts_reproducible_disjoint_covering():
    train, valid = split_indices(1000, [950, 50], seed=0)
    assert len(train) == 950 and len(valid) == 50
    assert np.intersect1d(train, valid).size == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, valid])), np.arange(1000))
    again = split_indices(1000, [950, 50], seed=0)
    np.testing.assert_array_equal(again[1], valid)
    other = split_indices(1000, [950, 50], seed=1)
    assert not np.array_equal(other[1], valid)


def test_fractions():
    parts = split_indices(10, [0.7, 0.2, 0.1], seed=3)
    assert [len(p) for p in parts] == [7, 2, 1]
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(10))
    parts = split_indices(7, [1 / 3, 1 / 3, 1 / 3], seed=0)
    assert sum(len(p) for p in parts) == 7
    parts = split_indices(100, [0.5, 0.1], seed=0)
    assert [len(p) for p in parts] == [50, 10]
    assert np.intersect1d(*parts).size == 0


@pytest.mark.parametrize("sizes", [[900, 200], [0.9, 0.2], [-1, 5], [0.5, 2], [True, 3]])
def test_bad_sizes(sizes):
    with pytest.raises((ValueError, TypeError)):
        split_indices(1000, sizes, seed=0)


def test_train_validation_split():
    frames = [Frame(numbers=[1], positions=[[0, 0, 0]], energy=float(k), source=f"x:{k}")
              for k in range(20)]
    train, valid = train_validation_split(frames, 0.25, seed=5)
    assert len(train) == 15 and len(valid) == 5
    assert sorted(f.energy for f in train + valid) == [float(k) for k in range(20)]
    assert [f.energy for f in train] == sorted(f.energy for f in train)
    assert [f.source for f in train_validation_split(frames, 5, seed=5)[1]] == \
        [f.source for f in valid]
    assert len(train_validation_split(frames, 0.01, seed=0)[1]) == 1
    with pytest.raises(ValueError):
        train_validation_split(frames, 20, seed=0)
