"""Calibration metrics on synthetic Gaussian data with known answers."""

import math

import numpy as np
import pytest

from pesforge.uncertainty import calibration as cal


@pytest.fixture(scope="module")
def gaussian():
    """Errors drawn from N(0, std²) with per-sample stds spread over two decades."""
    rng = np.random.default_rng(0)
    std = np.exp(rng.uniform(np.log(0.01), np.log(1.0), 20000))
    return rng.normal(0.0, std), std


def test_spearman_against_scipy_and_edge_cases():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    y = x + rng.normal(size=300)
    y[::7] = 0.5  # ties get average ranks
    assert cal.spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, abs=1e-12)
    assert cal.spearman([1, 2, 3, 4], [10, 20, 30, 1000]) == pytest.approx(1.0)
    assert cal.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(cal.spearman([1, 1, 1], [1, 2, 3]))
    np.testing.assert_array_equal(cal.ranks([3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0])


def test_calibrated_gaussian_has_zero_area_and_unit_scale(gaussian):
    errors, std = gaussian
    assert cal.miscalibration_area(errors, std) < 0.01
    expected, observed = cal.calibration_curve(errors, std)
    assert np.max(np.abs(observed - expected)) < 0.02
    assert cal.fit_scale(errors, std) == pytest.approx(1.0, abs=0.02)
    # stds that track the errors rank-correlate with them
    assert cal.spearman(std, np.abs(errors)) > 0.5


def test_overconfident_stds_are_detected_and_recalibrated(gaussian):
    errors, std = gaussian
    wrong = std / 3.0  # claims three times too little spread
    assert cal.miscalibration_area(errors, wrong) > 0.25  # at most 0.5
    expected, observed = cal.calibration_curve(errors, wrong)
    assert np.all(observed[expected > 0.3] < expected[expected > 0.3])
    scale = cal.fit_scale(errors, wrong)
    assert scale == pytest.approx(3.0, rel=0.02)
    assert cal.miscalibration_area(errors, scale * wrong) < 0.01
    assert cal.gaussian_nll(errors, scale * wrong) < cal.gaussian_nll(errors, wrong)


def test_nll_of_calibrated_gaussian_matches_its_expectation(gaussian):
    errors, std = gaussian
    expected = np.mean(0.5 * np.log(2 * np.pi * std**2)) + 0.5
    assert cal.gaussian_nll(errors, std) == pytest.approx(expected, abs=0.02)
    # for one std the NLL is a function of e/σ only: the exact formula
    assert cal.gaussian_nll([0.3], [0.2]) == pytest.approx(
        0.5 * math.log(2 * math.pi * 0.04) + 0.5 * 0.09 / 0.04, rel=1e-14)


def test_scale_with_kept_noise_variance():
    rng = np.random.default_rng(2)
    std = np.exp(rng.uniform(-3, 0, 20000))
    noise = np.full_like(std, 0.05**2)
    errors = rng.normal(0.0, np.sqrt((2.0 * std) ** 2 + noise))
    assert cal.fit_scale(errors, std, noise_var=noise) == pytest.approx(2.0, rel=0.03)
    # without noise the closed form agrees with the search
    assert cal.fit_scale(errors, std, noise_var=np.zeros_like(std)) == pytest.approx(
        cal.fit_scale(errors, std), rel=1e-6)


def test_report_and_bad_input(gaussian, tmp_path):
    errors, std = gaussian
    report = cal.calibration_report(errors, std, scale=2.0)
    assert report["n"] == len(errors)
    assert report["fitted_scale"] == pytest.approx(0.5, rel=0.02)
    assert report["rms_std"] == pytest.approx(2 * np.sqrt(np.mean(std**2)))
    with pytest.raises(ValueError, match="differ in size"):
        cal.gaussian_nll([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        cal.fit_scale([1.0], [-1.0])
    with pytest.raises(ValueError, match="no finite"):
        cal.miscalibration_area([np.nan], [1.0])
    path = tmp_path / "curve.png"
    cal.plot_calibration({"synthetic": cal.calibration_curve(errors, std)}, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
