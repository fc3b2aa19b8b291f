"""Oracle-driven Langevin dynamics at a list of temperatures, with decorrelated snapshots.

A cheap *sampler* oracle (GFN2-xTB, EMT, a trained model behind an ASEOracle) drives the
dynamics; the snapshots are labelled either with the sampler's own energies and forces or by an
expensive *labeler* oracle (PySCF ...). Snapshots are taken every ``interval`` steps after an
equilibration; with ``interval=None`` it is set to twice the integrated autocorrelation time of
the potential energy measured during equilibration (Sokal's windowed estimator). Each finished
temperature is written atomically to ``checkpoint/T_<temperature>K.xyz``; a rerun with the same
folder skips temperatures already done.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pesforge.data.frame import Frame
from pesforge.sampling.provenance import derived, read_written
from pesforge.units import FS_TO_ASE_TIME


def autocorrelation_time(series: np.ndarray, c: float = 5.0) -> float:
    """Integrated autocorrelation time (in samples) with Sokal's automatic window M >= c·τ."""
    x = np.asarray(series, dtype=np.float64) - np.mean(series)
    n = len(x)
    if n < 4 or not np.any(x):
        return 1.0
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    acf /= acf[0]
    tau = 1.0
    for m in range(1, n):
        tau = 1.0 + 2.0 * acf[1:m + 1].sum()
        if m >= c * tau:
            break
    return max(float(tau), 1.0)


def langevin_samples(frame: Frame, sampler, temperatures: Sequence[float], n_snapshots: int, *,
                     labeler=None, interval: int | None = 20, equilibration: int = 200,
                     timestep_fs: float = 0.5, friction_per_fs: float = 0.01, seed: int = 0,
                     checkpoint: str | Path | None = None) -> list[Frame]:
    """Run Langevin MD with ``sampler`` at each temperature and collect labelled snapshots.

    Args:
        frame: the starting structure (each temperature starts from it).
        sampler: the :class:`~pesforge.oracles.Oracle` that drives the dynamics.
        temperatures: K.
        n_snapshots: snapshots per temperature.
        labeler: an Oracle that labels the snapshots; None keeps the sampler's labels.
            Labeler failures (:class:`OracleFailure`) are skipped with a warning.
        interval: MD steps between snapshots; None: 2x the autocorrelation time of the
            potential energy over the equilibration (at least 1 step).
        equilibration: steps discarded before the first snapshot.
        timestep_fs: fs. friction_per_fs: Langevin friction, 1/fs.
        seed: random seed (velocities and the thermostat).
        checkpoint: folder for per-temperature results; finished temperatures are reused.

    Returns:
        Labelled frames; ``info`` records generator ``"langevin_md"``, temperature, step,
        interval, timestep, friction, seed, the sampler's level of theory and the parent.
    """
    from pesforge.data.writers import write_extxyz

    out: list[Frame] = []
    for k, temperature in enumerate(temperatures):
        path = Path(checkpoint) / f"T_{temperature:g}K.xyz" if checkpoint else None
        if path is not None and path.is_file():
            out += read_written(path, allow_mixed=True)
            continue
        frames = _run_one(frame, sampler, float(temperature), n_snapshots, labeler=labeler,
                          interval=interval, equilibration=equilibration,
                          timestep_fs=timestep_fs, friction_per_fs=friction_per_fs,
                          seed=seed + 1000 * k)
        if path is not None and frames:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_extxyz(path, frames)
        out += frames
    return out


def _run_one(frame: Frame, sampler, temperature: float, n_snapshots: int, *, labeler,
             interval, equilibration: int, timestep_fs: float, friction_per_fs: float,
             seed: int) -> list[Frame]:
    from ase.md.langevin import Langevin
    from ase.md import velocitydistribution as vd

    from pesforge.interfaces.oracle_calculator import OracleCalculator
    from pesforge.oracles.base import OracleFailure

    atoms = frame.to_atoms()
    atoms.calc = OracleCalculator(sampler)
    rng = np.random.default_rng(seed)
    thermalize = getattr(vd, "thermalize_momenta", None) or vd.MaxwellBoltzmannDistribution
    thermalize(atoms, temperature_K=temperature, rng=rng)
    vd.Stationary(atoms)
    dyn = Langevin(atoms, timestep_fs * FS_TO_ASE_TIME, temperature_K=temperature,
                   friction=friction_per_fs / FS_TO_ASE_TIME, rng=rng, fixcm=False)
    energies = []
    for _ in range(equilibration):
        dyn.run(1)
        energies.append(atoms.get_potential_energy())
    if interval is None:
        interval = max(1, math.ceil(2 * autocorrelation_time(np.array(energies))))
    params = {"temperature_K": temperature, "interval": interval, "timestep_fs": timestep_fs,
              "friction_per_fs": friction_per_fs, "equilibration": equilibration, "seed": seed,
              "sampler": sampler.level_of_theory.fingerprint()}
    out = []
    for n in range(n_snapshots):
        dyn.run(interval)
        step = equilibration + (n + 1) * interval
        snap = derived(frame, atoms.positions.copy(), cell=atoms.cell.array.copy(),
                       generator="langevin_md", parameters={**params, "step": step}, index=n)
        if labeler is None:
            label = atoms.calc.last_label
            snap = dataclasses.replace(snap, energy=label.energy, forces=label.forces,
                                       stress=label.stress, level_of_theory=label.level_of_theory)
        else:
            try:
                snap = labeler.label(snap)
            except OracleFailure as err:
                warnings.warn(f"{snap.source}: labeler failed ({err.reason}); snapshot skipped",
                              stacklevel=3)
                continue
        out.append(snap)
    return out
