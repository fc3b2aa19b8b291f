"""Calibration of predicted uncertainties: pure functions of errors and predicted stds.

Each function takes ``errors`` (prediction - reference) and predicted standard deviations
``std`` of the same shape (any unit, the same for both), flattened. A predicted std is read
as the scale of a zero-mean Gaussian error model, N(0, std²).

* :func:`spearman`: rank correlation of std and |error| (does the model know *where* it is
  wrong?).
* :func:`gaussian_nll`: mean negative log-likelihood of the errors under N(0, std²).
* :func:`calibration_curve` / :func:`miscalibration_area`: observed vs expected fraction of
  errors inside centred Gaussian intervals (Tran et al., Mach. Learn.: Sci. Technol. 1,
  025006 (2020); Kuleshov et al., ICML 2018).
* :func:`fit_scale`: the factor s that makes N(0, (s·std)²) most likely on validation data,
  s² = mean(error² / std²) (σ-scaling; Levi et al., Sensors 22, 5540 (2022)).
"""

from __future__ import annotations

import math
import os
from statistics import NormalDist

import numpy as np

#: Confidence levels of the calibration curve (expected fraction of errors inside).
DEFAULT_LEVELS = np.linspace(0.01, 0.99, 99)


def _pair(errors, std) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(errors, dtype=np.float64).reshape(-1)
    s = np.asarray(std, dtype=np.float64).reshape(-1)
    if e.shape != s.shape:
        raise ValueError(f"errors and std differ in size ({e.size} vs {s.size})")
    keep = np.isfinite(e) & np.isfinite(s)
    e, s = e[keep], s[keep]
    if e.size == 0:
        raise ValueError("no finite (error, std) pairs")
    if np.any(s < 0):
        raise ValueError("predicted standard deviations must be non-negative")
    return e, s


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of ``x`` (ties get their average rank), float64."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    # groups of equal values: average of the ranks they span
    starts = np.flatnonzero(np.concatenate([[True], sorted_x[1:] != sorted_x[:-1]]))
    ends = np.concatenate([starts[1:], [len(x)]])
    average = 0.5 * (starts + ends - 1) + 1.0
    out = np.empty(len(x))
    out[order] = np.repeat(average, ends - starts)
    return out


def spearman(x, y) -> float:
    """Spearman rank correlation of ``x`` and ``y`` (Pearson correlation of their ranks);
    NaN when either is constant."""
    x, y = np.asarray(x, dtype=np.float64).reshape(-1), np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"spearman needs equal sizes ({x.size} vs {y.size})")
    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = math.sqrt(float((rx * rx).sum() * (ry * ry).sum()))
    return float("nan") if denom == 0 else float((rx * ry).sum() / denom)


def gaussian_nll(errors, std, min_std: float = 1e-12) -> float:
    """Mean of 0.5 log(2π σ²) + e² / (2σ²) over all errors (σ clamped to ``min_std``).
    In nats; depends on the unit of the errors (lower is better)."""
    e, s = _pair(errors, std)
    var = np.maximum(s, min_std) ** 2
    return float(np.mean(0.5 * np.log(2.0 * np.pi * var) + 0.5 * e * e / var))


def calibration_curve(errors, std, levels=DEFAULT_LEVELS) -> tuple[np.ndarray, np.ndarray]:
    """(expected, observed) fractions: for each confidence level p, the fraction of errors
    with |e| <= z_p σ, z_p = Φ⁻¹((1 + p) / 2). A calibrated Gaussian model has observed = p."""
    e, s = _pair(errors, std)
    levels = np.asarray(levels, dtype=np.float64)
    if np.any((levels <= 0) | (levels >= 1)):
        raise ValueError("confidence levels must lie strictly between 0 and 1")
    z = np.array([NormalDist().inv_cdf(0.5 + 0.5 * p) for p in levels])
    ratio = np.abs(e) / np.maximum(s, 1e-300)
    observed = (ratio[None, :] <= z[:, None]).mean(axis=1)
    return levels, observed


def miscalibration_area(errors, std, levels=DEFAULT_LEVELS) -> float:
    """Mean |observed - expected| over the calibration curve's levels: the area between the
    curve and the diagonal (0 when calibrated; at most 0.5)."""
    expected, observed = calibration_curve(errors, std, levels)
    return float(np.mean(np.abs(observed - expected)))


def fit_scale(errors, std, noise_var=None, min_std: float = 1e-12) -> float:
    """The recalibration factor s maximising the Gaussian likelihood of ``errors`` under
    N(0, (s·std)² + noise_var). Without ``noise_var``, s = sqrt(mean(e² / std²)); with it
    (aleatoric variances that are kept), a golden-section search on log s. Multiply predicted
    stds by s."""
    e, s = _pair(errors, std)
    closed = math.sqrt(np.mean(e * e / np.maximum(s, min_std) ** 2))
    if noise_var is None:
        return float(closed)
    v = np.asarray(noise_var, dtype=np.float64).reshape(-1)
    keep = np.isfinite(np.asarray(errors, dtype=np.float64).reshape(-1)) \
        & np.isfinite(np.asarray(std, dtype=np.float64).reshape(-1))
    v = v[keep]
    if v.shape != e.shape:
        raise ValueError(f"noise_var and errors differ in size ({v.size} vs {e.size})")

    def nll(log_scale: float) -> float:
        var = np.maximum((math.exp(log_scale) * s) ** 2 + v, min_std**2)
        return float(np.mean(np.log(var) + e * e / var))

    centre = math.log(max(closed, 1e-30))
    lo, hi = centre - 12.0, centre + 2.0  # the noise variances only ever shrink s
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(80):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - golden * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + golden * (hi - lo)
            fb = nll(b)
    return float(math.exp(0.5 * (lo + hi)))


def calibration_report(errors, std, scale: float = 1.0) -> dict[str, float]:
    """Calibration figures of ``std * scale`` for ``errors``: ``spearman`` (std vs |error|),
    ``nll``, ``miscalibration_area``, ``fitted_scale`` (the factor that would recalibrate
    further), ``rmse``, ``rms_std`` and ``n``."""
    e, s = _pair(errors, std)
    s = s * scale
    return {"spearman": spearman(s, np.abs(e)), "nll": gaussian_nll(e, s),
            "miscalibration_area": miscalibration_area(e, s), "fitted_scale": fit_scale(e, s),
            "rmse": float(np.sqrt(np.mean(e * e))), "rms_std": float(np.sqrt(np.mean(s * s))),
            "n": int(e.size)}


def plot_calibration(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                     path: str | os.PathLike, title: str = "calibration") -> None:
    """Plot calibration curves ``{label: (expected, observed)}`` against the diagonal (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pesforge.fileio import atomic_write

    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="calibrated")
    for label, (expected, observed) in curves.items():
        ax.plot(expected, observed, lw=1.6, label=label)
    ax.set_xlabel("expected fraction inside interval")
    ax.set_ylabel("observed fraction inside interval")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
