"""Analysis of models and simulations: error reports and plots."""

from pesforge.analysis.plots import plot_energy_vs_time, plot_parity, plot_training_curve

__all__ = ["plot_training_curve", "plot_parity", "plot_energy_vs_time"]
