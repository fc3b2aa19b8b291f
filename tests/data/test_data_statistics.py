"""Per-element reference energies, force RMS and residual spread."""

import numpy as np
import pytest

from pesforge.data import (
    Frame,
    elements_of,
    energy_per_atom_residual_std,
    fit_reference_energies,
    force_rms,
    mean_neighbor_count,
    rmd17,
)


def synthetic(reference, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(40):
        counts = rng.integers(0, 5, size=len(reference))
        counts[k % len(reference)] += 1
        numbers = np.repeat(list(reference), counts)
        positions = np.arange(len(numbers))[:, None] * np.array([1.5, 0.0, 0.0])
        energy = sum(reference[z] for z in numbers) + noise * rng.normal() * len(numbers)
        frames.append(Frame(numbers=numbers, positions=positions, energy=energy,
                            forces=rng.normal(size=(len(numbers), 3))))
    return frames


def test_reference_energies_recovered_from_mixed_compositions():
    reference = {1: -13.6, 6: -1029.9, 8: -2041.3, 7: -1484.2}
    frames = synthetic(reference)
    elements = elements_of(frames)
    assert elements == [1, 6, 7, 8]
    fitted = fit_reference_energies(frames, elements)
    np.testing.assert_allclose(fitted, [reference[z] for z in elements], atol=1e-8)
    assert energy_per_atom_residual_std(frames, elements, fitted) < 1e-9
    noisy = synthetic(reference, noise=0.01, seed=1)
    fitted = fit_reference_energies(noisy, elements)
    std = energy_per_atom_residual_std(noisy, elements, fitted)
    assert 0.003 < std < 0.03


def test_single_composition_is_min_norm_and_fits_the_mean():
    frames = rmd17(index="0:50")
    elements = elements_of(frames)
    fitted = fit_reference_energies(frames, elements)
    counts = np.array([6, 2, 1])  # H, C, O of ethanol
    mean = np.mean([f.energy for f in frames])
    assert counts @ fitted == pytest.approx(mean, rel=1e-12)
    np.testing.assert_allclose(fitted, mean * counts / (counts @ counts), rtol=1e-10)


def test_force_rms_and_errors():
    frames = [Frame(numbers=[1, 1], positions=[[0, 0, 0], [0, 0, 1.0]],
                    forces=[[3.0, 0, 0], [0, 0, -3.0]]),
              Frame(numbers=[1], positions=[[0, 0, 0]])]
    assert force_rms(frames) == pytest.approx(np.sqrt(18 / 6))
    with pytest.raises(ValueError, match="no frame has force labels"):
        force_rms(frames[1:])
    with pytest.raises(ValueError, match="no frame has an energy label"):
        fit_reference_energies(frames, [1])
    with pytest.raises(ValueError, match=r"elements \[8\] are not in \[1\]"):
        fit_reference_energies([Frame(numbers=[8], positions=[[0, 0, 0]], energy=1.0)], [1])


def test_mean_neighbor_count():
    frame = Frame(numbers=[1, 1, 1], positions=[[0, 0, 0], [0, 0, 1.0], [0, 0, 5.0]])
    assert mean_neighbor_count([frame], 1.5) == pytest.approx(2 / 3)
