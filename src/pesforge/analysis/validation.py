"""The physical checks that earn a potential trust: energy conservation, canonical
fluctuations, structure, and errors by configuration type.

Each check runs MD through a passed-in driver (:mod:`pesforge.analysis.md_drivers`) and
returns a plain dict of numbers (JSON-ready) with a ``passed`` verdict where a bound exists.
Statistics of correlated series use block averaging (Flyvbjerg & Petersen, J. Chem. Phys.
91, 461 (1989)); the canonical kinetic-energy distribution is a Gamma distribution with shape
N_f/2 and scale k_B T, so <K> = N_f k_B T / 2 and Var K = N_f (k_B T)² / 2.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from pesforge import units
from pesforge.analysis.md_drivers import MDDriver, MDTrace
from pesforge.analysis.rdf import rdf, rdf_difference
from pesforge.data.frame import Frame

FS_PER_NS = 1e6


def linear_drift(times_fs: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Least-squares slope (per fs) and the RMS of the residual about the line."""
    t = np.asarray(times_fs, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if len(t) < 3:
        raise ValueError("need at least 3 samples to fit a drift")
    slope, intercept = np.polyfit(t, v, 1)
    return float(slope), float(np.sqrt(np.mean((v - slope * t - intercept) ** 2)))


def block_statistics(samples: np.ndarray, n_blocks: int = 10) -> dict[str, float]:
    """Mean and variance of a correlated series with block-averaging standard errors."""
    x = np.asarray(samples, dtype=np.float64)
    if len(x) < 2 * n_blocks:
        raise ValueError(f"need at least {2 * n_blocks} samples, got {len(x)}")
    blocks = np.array_split(x, n_blocks)
    means = np.array([b.mean() for b in blocks])
    variances = np.array([b.var(ddof=1) for b in blocks])
    return {"mean": float(x.mean()), "mean_err": float(means.std(ddof=1) / np.sqrt(n_blocks)),
            "var": float(x.var(ddof=1)),
            "var_err": float(variances.std(ddof=1) / np.sqrt(n_blocks))}


def nve_check(driver: MDDriver, frame: Frame, *, timesteps_fs: Sequence[float] = (0.25, 0.5, 1.0),
              duration_fs: float = 500.0, temperature_K: float = 300.0, seed: int = 0,
              max_drift_eV_per_atom_per_ns: float = 1e-2) -> dict[str, Any]:
    """Energy conservation against the time step.

    For each time step, velocity Verlet from the same initial velocities for ``duration_fs``;
    the conserved energy is fitted by a line: its slope is the drift (eV/atom/ns) and the RMS
    residual the fluctuation (eV/atom). Fluctuations of a symplectic integrator grow as dt²,
    reported as ``fluctuation_order`` (log-log slope; ≈ 2 expected).

    Returns:
        ``{"runs": [{timestep_fs, drift_eV_per_atom_per_ns, fluctuation_eV_per_atom,
        kinetic_std_eV_per_atom, trace}], "fluctuation_order", "passed", "bound"}``; passed when
        every |drift| is below ``max_drift_eV_per_atom_per_ns``.
    """
    runs = []
    for dt in timesteps_fs:
        steps = max(int(round(duration_fs / dt)), 10)
        trace = driver.run(frame, ensemble="nve", timestep_fs=dt, steps=steps,
                           temperature_K=temperature_K, seed=seed,
                           log_every=max(1, steps // 200))
        slope, fluct = linear_drift(trace.times_fs, trace.conserved)
        n = trace.n_atoms
        runs.append({"timestep_fs": float(dt),
                     "drift_eV_per_atom_per_ns": slope * FS_PER_NS / n,
                     "fluctuation_eV_per_atom": fluct / n,
                     "kinetic_std_eV_per_atom": float(np.std(trace.kinetic)) / n,
                     "trace": trace})
    order = None
    fl = np.array([r["fluctuation_eV_per_atom"] for r in runs])
    if len(runs) > 1 and np.all(fl > 0):
        order = float(np.polyfit(np.log(timesteps_fs), np.log(fl), 1)[0])
    worst = max(abs(r["drift_eV_per_atom_per_ns"]) for r in runs)
    return {"runs": runs, "fluctuation_order": order, "bound": max_drift_eV_per_atom_per_ns,
            "passed": bool(worst < max_drift_eV_per_atom_per_ns)}


def canonical_check(trace: MDTrace, temperature_K: float, *, equilibration: float = 0.2,
                    n_blocks: int = 10, z_max: float = 3.5) -> dict[str, Any]:
    """Compare kinetic-energy mean and variance of an NVT trace with the canonical values.

    Args:
        trace: an NVT run (``trace.dof`` degrees of freedom).
        temperature_K: the thermostat's target.
        equilibration: fraction of samples discarded at the start.
        z_max: pass when both |z| = |measured - expected| / standard error are below this.

    Returns:
        Expected and measured <K>, Var K, temperature mean/std, z-scores and ``passed``.
    """
    kt = units.KB * temperature_K
    kinetic = np.asarray(trace.kinetic)[int(equilibration * len(trace.kinetic)):]
    stats = block_statistics(kinetic, n_blocks)
    mean_expected = 0.5 * trace.dof * kt
    var_expected = 0.5 * trace.dof * kt ** 2
    z_mean = (stats["mean"] - mean_expected) / max(stats["mean_err"], 1e-300)
    z_var = (stats["var"] - var_expected) / max(stats["var_err"], 1e-300)
    to_t = 2.0 / (trace.dof * units.KB)
    return {
        "dof": trace.dof, "n_samples": int(len(kinetic)),
        "kinetic_mean_eV": stats["mean"], "kinetic_mean_err_eV": stats["mean_err"],
        "kinetic_mean_expected_eV": mean_expected,
        "kinetic_var_eV2": stats["var"], "kinetic_var_err_eV2": stats["var_err"],
        "kinetic_var_expected_eV2": var_expected,
        "temperature_mean_K": stats["mean"] * to_t,
        "temperature_std_K": float(np.sqrt(stats["var"])) * to_t,
        "temperature_std_expected_K": temperature_K * float(np.sqrt(2.0 / trace.dof)),
        "z_mean": float(z_mean), "z_var": float(z_var),
        "passed": bool(abs(z_mean) < z_max and abs(z_var) < z_max),
    }


def nvt_check(driver: MDDriver, frame: Frame, *, temperature_K: float = 300.0,
              timestep_fs: float = 0.5, steps: int = 4000, seed: int = 0,
              frames_every: int = 0, **kwargs) -> dict[str, Any]:
    """Run NVT with ``driver`` and apply :func:`canonical_check` (``kwargs`` go there).

    Returns the check's dict plus ``"trace"``.
    """
    trace = driver.run(frame, ensemble="nvt", timestep_fs=timestep_fs, steps=steps,
                       temperature_K=temperature_K, seed=seed, log_every=1,
                       frames_every=frames_every)
    return {**canonical_check(trace, temperature_K, **kwargs), "trace": trace}


def rdf_check(frames: Sequence[Frame], reference: Sequence[Frame], *, r_max: float = 6.0,
              n_bins: int = 120, pair: tuple[int, int] | None = None) -> dict[str, Any]:
    """g(r) of model frames against a reference trajectory (same bins): both RDFs and their
    RMS and relative L1 differences."""
    model_g = rdf(frames, r_max=r_max, n_bins=n_bins, pair=pair)
    ref_g = rdf(reference, r_max=r_max, n_bins=n_bins, pair=pair)
    return {"model": model_g, "reference": ref_g, **rdf_difference(model_g, ref_g)}


def errors_by_config_type(potential, frames: Sequence[Frame], *, temperature_K: float = 300.0,
                          key: str = "config_type", batch_size: int = 32) -> dict[str, Any]:
    """Error metrics per configuration type (``frame.info[key]``, "all" when missing).

    Uses :func:`pesforge.training.metrics.predict`; adds the energy MAE/RMSE in units of
    k_B T (per system and per atom) at ``temperature_K``.

    Returns:
        ``{type: {metrics..., "energy_mae_kT", "energy_mae_kT_per_atom", "predictions"}}``.
    """
    from pesforge.training.metrics import metrics_from_predictions, predict

    if len(frames) == 0:
        raise ValueError("errors_by_config_type needs labelled frames")
    groups: dict[str, list[Frame]] = defaultdict(list)
    for f in frames:
        groups[str(f.info.get(key, "all"))].append(f)
    kt_mev = units.KB * temperature_K * 1e3
    out = {}
    for name in sorted(groups):
        predictions = predict(potential, groups[name], batch_size)
        metrics = metrics_from_predictions(predictions)
        for stat in ("mae", "rmse"):
            value = metrics.get(f"energy_{stat}_meV")
            per_atom = metrics.get(f"energy_{stat}_meV_per_atom")
            metrics[f"energy_{stat}_kT"] = None if value is None else value / kt_mev
            metrics[f"energy_{stat}_kT_per_atom"] = None if per_atom is None else \
                per_atom / kt_mev
        metrics["predictions"] = predictions
        out[name] = metrics
    return out


__all__ = ["nve_check", "nvt_check", "canonical_check", "rdf_check", "errors_by_config_type",
           "block_statistics", "linear_drift"]
