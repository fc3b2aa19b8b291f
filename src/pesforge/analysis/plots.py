"""Figures written to files (matplotlib's Agg renderer; nothing is ever displayed).

Training curves, parity plots of predicted against reference labels, and energy against time
for molecular dynamics.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from pesforge.fileio import atomic_write


def _axes(size: tuple[float, float]):
    # A bare Figure renders with Agg and never touches pyplot's global backend or windows.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _save(fig, path: str | os.PathLike) -> Path:
    suffix = Path(path).suffix.lstrip(".") or "png"
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format=suffix, dpi=120,
                                                      bbox_inches="tight"))


def plot_training_curve(history: Sequence[Mapping], path: str | os.PathLike) -> Path:
    """Training and validation loss (log scale) and learning rate against epoch.

    Args:
        history: one mapping per epoch with ``epoch``, ``train_loss``, ``val_loss`` and
            optionally ``lr``.
        path: output image file (format from the suffix, PNG by default).
    """
    fig, ax = _axes((6, 4))
    if history:
        epochs = [h["epoch"] for h in history]
        ax.plot(epochs, [h["train_loss"] for h in history], label="train")
        ax.plot(epochs, [h["val_loss"] for h in history], label="validation (EMA)")
        positive = all(h["train_loss"] > 0 and h["val_loss"] > 0 for h in history)
        if positive:
            ax.set_yscale("log")
    handles = ax.get_lines()
    if history and all("lr" in h for h in history):
        lr_ax = ax.twinx()
        handles += lr_ax.plot(epochs, [h["lr"] for h in history], color="gray", ls=":",
                              label="learning rate")
        lr_ax.set_yscale("log")
        lr_ax.set_ylabel("learning rate")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if handles:
        ax.legend(handles=handles, loc="upper right")
    return _save(fig, path)


def plot_parity(reference: np.ndarray, predicted: np.ndarray, path: str | os.PathLike,
                quantity: str = "energy", unit: str = "eV") -> Path:
    """Predicted against reference values with the diagonal; MAE and RMSE in the title.

    ``reference`` and ``predicted`` are flattened; pairs with a NaN are dropped.
    """
    ref = np.asarray(reference, dtype=float).reshape(-1)
    pred = np.asarray(predicted, dtype=float).reshape(-1)
    if ref.shape != pred.shape:
        raise ValueError(f"reference {ref.shape} and predicted {pred.shape} differ in size")
    keep = ~(np.isnan(ref) | np.isnan(pred))
    ref, pred = ref[keep], pred[keep]
    fig, ax = _axes((4.5, 4.5))
    if ref.size:
        lo, hi = float(min(ref.min(), pred.min())), float(max(ref.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], color="gray", lw=1)
        ax.scatter(ref, pred, s=4, alpha=0.5)
        err = pred - ref
        ax.set_title(f"{quantity}: MAE {np.abs(err).mean():.3g}, "
                     f"RMSE {np.sqrt((err**2).mean()):.3g} {unit}")
    ax.set_xlabel(f"reference {quantity} ({unit})")
    ax.set_ylabel(f"predicted {quantity} ({unit})")
    return _save(fig, path)


def plot_energy_vs_time(times_fs: np.ndarray, energies: Mapping[str, np.ndarray],
                        path: str | os.PathLike, unit: str = "eV") -> Path:
    """Energies against time, e.g. ``{"kinetic": ..., "potential": ..., "total": ...}``.

    Args:
        times_fs: (T,) times in fs.
        energies: name -> (T,) energies in ``unit``.
        path: output image file.
    """
    times = np.asarray(times_fs, dtype=float)
    fig, ax = _axes((6, 4))
    for name, values in energies.items():
        values = np.asarray(values, dtype=float)
        if values.shape != times.shape:
            raise ValueError(f"energy {name!r} has shape {values.shape}, times {times.shape}")
        ax.plot(times, values, label=name)
    ax.set_xlabel("time (fs)")
    ax.set_ylabel(f"energy ({unit})")
    ax.legend()
    return _save(fig, path)
