"""The per-iteration report of an active-learning campaign: numbers in JSON, a few plots.

``iter_NNN/report.json`` holds the data count, oracle calls, validation (and test) errors of the
committee, and the distribution of max per-atom force std over the explored frames;
``iter_NNN/uncertainty.png`` its histogram. ``report.json`` and ``learning_curve.png`` at the
campaign root collect all iterations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from pesforge.fileio import write_json

QUANTILES = (0.5, 0.9, 0.95, 0.99, 1.0)


def uncertainty_summary(values: np.ndarray) -> dict[str, Any]:
    """Count, mean and quantiles (eV/Å) of max-force-std values."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return {"n": 0}
    return {"n": int(len(values)), "mean": float(values.mean()),
            **{f"q{int(q * 100)}": float(np.quantile(values, q)) for q in QUANTILES}}


def update(output: Path, iteration: int, record: dict[str, Any]) -> dict[str, Any]:
    """Merge ``record`` into ``iter_NNN/report.json`` and rebuild the campaign's
    ``report.json`` (the learning-curve plot is :func:`plot_campaign`)."""
    path = output / f"iter_{iteration:03d}" / "report.json"
    current = json.loads(path.read_text()) if path.is_file() else {"iteration": iteration}
    current.update(record)
    write_json(path, current)
    _campaign(output)
    return current


def plot_uncertainty(values: np.ndarray, threshold: float, ceiling: float, path: Path) -> None:
    """Histogram of max per-atom force std of explored frames, with the selection threshold
    and the trajectory ceiling marked."""
    from pesforge.analysis.plots import _axes, _save

    fig, ax = _axes((5.0, 3.5))
    if len(values):
        ax.hist(values, bins=30, color="tab:blue", alpha=0.8)
    ax.axvline(threshold, color="tab:orange", label="selection threshold")
    ax.axvline(ceiling, color="tab:red", label="ceiling")
    ax.set_xlabel("max per-atom force std (eV/Å)")
    ax.set_ylabel("explored frames")
    ax.legend(fontsize=8)
    _save(fig, path)


def _campaign(output: Path) -> list[dict[str, Any]]:
    records = [json.loads(p.read_text()) for p in sorted(output.glob("iter_*/report.json"))]
    write_json(output / "report.json", records)
    return records


def plot_campaign(output: Path) -> None:
    """``learning_curve.png``: validation (and test) force MAE against labelled frames."""
    records = _campaign(output)
    points = [(r["n_labelled"], r["validation"]["forces_mae"]) for r in records
              if "validation" in r and "n_labelled" in r]
    tests = [(r["n_labelled"], r["test"]["forces_mae"]) for r in records
             if r.get("test") and "n_labelled" in r]
    if points:
        _plot_curve(points, tests, output / "learning_curve.png")


def _plot_curve(points, tests, path: Path) -> None:
    from pesforge.analysis.plots import _axes, _save

    fig, ax = _axes((5.0, 3.5))
    x, y = zip(*points)
    ax.plot(x, np.asarray(y) * 1000, "o-", label="validation")
    if tests:
        x, y = zip(*tests)
        ax.plot(x, np.asarray(y) * 1000, "s-", label="test")
    ax.set_xlabel("labelled frames")
    ax.set_ylabel("force MAE (meV/Å)")
    ax.legend(fontsize=8)
    _save(fig, path)
