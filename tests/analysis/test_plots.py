import numpy as np
import pytest

from pesforge.analysis.plots import plot_energy_vs_time, plot_parity, plot_training_curve

PNG = b"\x89PNG\r\n\x1a\n"


def test_training_curve(tmp_path):
    history = [{"epoch": k, "train_loss": 1.0 / k, "val_loss": 1.5 / k, "lr": 1e-3}
               for k in range(1, 6)]
    path = plot_training_curve(history, tmp_path / "curve.png")
    assert path.read_bytes()[:8] == PNG
    assert plot_training_curve([], tmp_path / "empty.png").read_bytes()[:8] == PNG


def test_parity_drops_nan_and_checks_shapes(tmp_path):
    ref = np.array([0.0, 1.0, np.nan, 3.0])
    pred = np.array([0.1, 0.9, 2.0, 3.2])
    assert plot_parity(ref, pred, tmp_path / "p.png", "energy", "eV").read_bytes()[:8] == PNG
    with pytest.raises(ValueError, match="differ in size"):
        plot_parity(ref, pred[:3], tmp_path / "q.png")


def test_energy_vs_time_and_svg_suffix(tmp_path):
    t = np.arange(10) * 0.5
    energies = {"kinetic": np.sin(t), "potential": -np.sin(t), "total": np.zeros(10)}
    path = plot_energy_vs_time(t, energies, tmp_path / "md.svg")
    assert b"<svg" in path.read_bytes()[:400]
    with pytest.raises(ValueError, match="shape"):
        plot_energy_vs_time(t, {"total": np.zeros(3)}, tmp_path / "bad.png")


def test_plots_do_not_touch_pyplot(tmp_path):
    import sys

    plot_parity([1.0, 2.0], [1.1, 2.1], tmp_path / "p.png")
    if "matplotlib.pyplot" in sys.modules:  # imported elsewhere: must hold no figures of ours
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []
