"""The demo: train a Behler–Parrinello potential on bundled rMD17 ethanol, test it, run NVE MD.

``pesforge demo`` / ``make demo`` call :func:`run_demo`. Everything it needs ships with the
package (rMD17 ethanol split 01, PBE/def2-SVP, CC0), so it runs on a fresh machine.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from pesforge.fileio import write_json


def run_demo(output: str | Path = "demo_output", *, max_minutes: float = 5.0,
             md_steps: int = 2000, timestep_fs: float = 0.5, temperature_K: float = 300.0,
             seed: int = 0, progress: bool = True) -> dict:
    """Train, evaluate and simulate; write a report folder and return its metrics.

    Args:
        output: report folder (created).
        max_minutes: training time budget.
        md_steps: NVE steps through ASE's velocity Verlet with the trained model.
        timestep_fs: MD time step in fs.
        temperature_K: initial Maxwell–Boltzmann temperature of the MD.
        seed: seed for the split, the initialisation and the initial velocities.

    Returns:
        The metrics written to ``output/metrics.json``.
    """
    from pesforge.data.datasets import bundled_path, rmd17
    from pesforge.training import TrainConfig, train

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(output / "training", ignore_errors=True)  # the demo always starts afresh
    started = time.perf_counter()
    config = TrainConfig.model_validate({
        "data": {"train_file": str(bundled_path("rmd17_ethanol_train_01.npz")),
                 "test_file": str(bundled_path("rmd17_ethanol_test_01.npz")),
                 "n_validation": 50},
        "model": {"name": "bpnn"},
        "max_minutes": max_minutes,
        "seed": seed,
        "output": str(output / "training"),
    })
    result = train(config, progress=progress)
    model = result.model
    # The run already evaluated the test frames and drew their parity plots.
    for name in ("parity_energy.png", "parity_forces.png"):
        shutil.copyfile(result.output / name, output / name)

    start = rmd17("ethanol", split="test", index=[0])[0].to_atoms()
    md = run_nve(model, start, output, steps=md_steps,
                 timestep_fs=timestep_fs, temperature_K=temperature_K, seed=seed,
                 progress=progress)
    metrics = {"test": result.metrics["test"], "md": md,
               "training": {k: v for k, v in result.metrics.items() if k != "test"},
               "wall_time_s": time.perf_counter() - started}
    write_json(output / "metrics.json", metrics)
    (output / "report.md").write_text(_report(metrics))
    return metrics


def run_nve(model, atoms, output: Path, *, steps: int, timestep_fs: float, temperature_K: float,
            seed: int, progress: bool = True) -> dict:
    """Velocity-Verlet NVE through ASE with the pesforge calculator; writes a trajectory and
    an energy-vs-time plot, returns drift and fluctuation of the total energy."""
    from ase import units
    from ase.io import Trajectory
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
    from ase.md.verlet import VelocityVerlet

    from pesforge.analysis.plots import plot_energy_vs_time
    from pesforge.interfaces.ase_calculator import Calculator

    atoms = atoms.copy()
    atoms.calc = Calculator(model)
    MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K,
                                 rng=np.random.default_rng(seed))
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = VelocityVerlet(atoms, timestep=timestep_fs * units.fs)
    times, e_pot, e_kin = [], [], []

    def record():
        times.append(dyn.nsteps * timestep_fs)
        e_pot.append(atoms.get_potential_energy())
        e_kin.append(atoms.get_kinetic_energy())

    dyn.attach(record, interval=1)
    with Trajectory(str(output / "md.traj"), "w", atoms) as traj:
        dyn.attach(traj.write, interval=10)
        _run_with_progress(dyn, steps, progress)
    times, e_pot, e_kin = map(np.asarray, (times, e_pot, e_kin))
    total = e_pot + e_kin
    plot_energy_vs_time(times, {"potential": e_pot - e_pot[0], "kinetic": e_kin - e_kin[0],
                                "total": total - total[0]}, output / "md_energy.png")
    slope = np.polyfit(times, total, 1)[0]  # eV/fs
    return {"steps": steps, "timestep_fs": timestep_fs, "temperature_K": temperature_K,
            "n_atoms": len(atoms),
            "total_energy_drift_meV_per_atom_per_ps": float(slope * 1e3 * 1e3 / len(atoms)),
            "total_energy_std_meV": float(total.std() * 1e3),
            "kinetic_energy_std_meV": float(e_kin.std() * 1e3)}


def _run_with_progress(dyn, steps: int, progress: bool) -> None:
    if not progress:
        dyn.run(steps)
        return
    from rich.progress import Progress

    chunk = max(1, steps // 100)
    with Progress(transient=True) as bar:
        task = bar.add_task("NVE MD", total=steps)
        done = 0
        while done < steps:
            n = min(chunk, steps - done)
            dyn.run(n)
            done += n
            bar.update(task, completed=done)


def _report(metrics: dict) -> str:
    t, md = metrics["test"], metrics["md"]
    return (
        "# pesforge demo report\n\n"
        "Behler–Parrinello potential trained on rMD17 ethanol (split 01, PBE/def2-SVP).\n\n"
        f"| test metric ({t['n_frames']} frames) | value |\n|---|---|\n"
        f"| energy MAE | {t['energy_mae_meV']:.2f} meV ({t['energy_mae_meV_per_atom']:.3f} meV/atom) |\n"
        f"| energy RMSE | {t['energy_rmse_meV']:.2f} meV |\n"
        f"| force MAE | {t['force_mae_meV_per_A']:.2f} meV/Å |\n"
        f"| force RMSE | {t['force_rmse_meV_per_A']:.2f} meV/Å |\n\n"
        f"NVE MD: {md['steps']} steps of {md['timestep_fs']} fs from {md['temperature_K']} K; "
        f"total-energy drift {md['total_energy_drift_meV_per_atom_per_ps']:.3f} meV/atom/ps, "
        f"fluctuation {md['total_energy_std_meV']:.3f} meV.\n\n"
        "Files: `training/` (model, curve, checkpoint), `parity_energy.png`, `parity_forces.png`, "
        "`md_energy.png`, `md.traj`, `metrics.json`.\n"
        + "\n```json\n" + json.dumps(metrics, indent=2) + "\n```\n"
    )
