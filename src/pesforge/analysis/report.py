"""The validation report: run the checks of :mod:`pesforge.analysis.validation` on one model
and write one Markdown file with plots and a JSON file of the numbers.

    config = ValidationConfig(model="model.safetensors", structure="cell.xyz", data="test.xyz")
    validation_report(config)   # -> <output>/report.md, results.json, *.png
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pesforge import units
from pesforge.analysis.plots import _axes, _save, plot_energy_vs_time, plot_parity


class ValidationConfig(BaseModel):
    """What ``pesforge validate`` runs. Sections without their input are skipped.

    Attributes:
        model: model file. structure: starting structure for MD (any readable file, first
        frame). data: labelled frames for errors by ``config_type``. reference: a reference
        trajectory (e.g. DFT MD) for the RDF. engine: ``torch`` (pesforge.simulate) or
        ``ase``. Times in fs, temperature in K.
    """

    model_config = ConfigDict(extra="forbid")

    model: str
    output: str = "validation"
    structure: str | None = None
    data: str | None = None
    reference: str | None = None
    engine: Literal["torch", "ase"] = "torch"
    thermostat: Literal["bussi", "langevin", "nose_hoover_chain"] = "bussi"
    temperature_K: float = Field(300.0, gt=0)
    timesteps_fs: list[float] = Field(default_factory=lambda: [0.25, 0.5, 1.0])
    nve_duration_fs: float = Field(500.0, gt=0)
    nvt_timestep_fs: float = Field(0.5, gt=0)
    nvt_steps: int = Field(4000, ge=100)
    rdf_r_max: float = Field(6.0, gt=0)
    rdf_bins: int = Field(120, ge=1)
    max_drift_eV_per_atom_per_ns: float = Field(1e-2, gt=0)
    seed: int = 0


def _driver(config: ValidationConfig, potential):
    from pesforge.analysis.md_drivers import ASEMD, TorchMD

    if config.engine == "torch":
        return TorchMD(potential, thermostat=config.thermostat)
    if config.thermostat == "nose_hoover_chain":
        raise ValueError("the ASE engine supports the bussi and langevin thermostats")
    return ASEMD(potential, thermostat=config.thermostat)


def _plot_kinetic(result: dict, temperature_K: float, path: Path) -> Path:
    from scipy.stats import gamma

    trace = result["trace"]
    kinetic = np.asarray(trace.kinetic)[int(0.2 * len(trace.kinetic)):]
    fig, ax = _axes((5, 3.5))
    ax.hist(kinetic, bins=40, density=True, alpha=0.6, label="MD")
    x = np.linspace(kinetic.min(), kinetic.max(), 200)
    ax.plot(x, gamma.pdf(x, 0.5 * trace.dof, scale=units.KB * temperature_K),
            label=f"canonical, N_f = {trace.dof:g}")
    ax.set_xlabel("kinetic energy (eV)")
    ax.set_ylabel("density")
    ax.legend()
    return _save(fig, path)


def _plot_rdf(result: dict, path: Path) -> Path:
    fig, ax = _axes((5, 3.5))
    ax.plot(result["reference"].r, result["reference"].g, label="reference")
    ax.plot(result["model"].r, result["model"].g, label="model", ls="--")
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.legend()
    return _save(fig, path)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _nve_section(config, driver, frame, out: Path, results: dict) -> list[str]:
    from pesforge.analysis.validation import nve_check

    nve = nve_check(driver, frame, timesteps_fs=config.timesteps_fs,
                    duration_fs=config.nve_duration_fs, temperature_K=config.temperature_K,
                    seed=config.seed,
                    max_drift_eV_per_atom_per_ns=config.max_drift_eV_per_atom_per_ns)
    lines = ["## NVE energy conservation", "",
             f"Velocity Verlet, {config.nve_duration_fs:g} fs per time step, initial velocities "
             f"at {config.temperature_K:g} K. Verdict: **{'pass' if nve['passed'] else 'FAIL'}** "
             f"(|drift| < {nve['bound']:g} eV/atom/ns). Fluctuation ∝ dt^"
             f"{_fmt(nve['fluctuation_order'])} (2 expected).", "",
             "| dt (fs) | drift (eV/atom/ns) | fluctuation (eV/atom) | σ(K) (eV/atom) |",
             "|---:|---:|---:|---:|"]
    energies = {}
    for run in nve["runs"]:
        lines.append(f"| {run['timestep_fs']:g} | {run['drift_eV_per_atom_per_ns']:.3g} | "
                     f"{run['fluctuation_eV_per_atom']:.3g} | "
                     f"{run['kinetic_std_eV_per_atom']:.3g} |")
        trace = run.pop("trace")
        energies[f"dt={run['timestep_fs']:g} fs"] = (trace.times_fs,
                                                     trace.conserved - trace.conserved[0])
    fig, ax = _axes((6, 4))
    for name, (t, e) in energies.items():
        ax.plot(t, e, label=name)
    ax.set_xlabel("time (fs)")
    ax.set_ylabel("conserved energy - initial (eV)")
    ax.legend()
    _save(fig, out / "nve_energy.png")
    results["nve"] = nve
    return lines + ["", "![NVE](nve_energy.png)", ""]


def _nvt_section(config, driver, frame, out: Path, results: dict, want_frames: bool):
    from pesforge.analysis.validation import nvt_check

    nvt = nvt_check(driver, frame, temperature_K=config.temperature_K,
                    timestep_fs=config.nvt_timestep_fs, steps=config.nvt_steps,
                    seed=config.seed + 1, frames_every=10 if want_frames else 0)
    trace = nvt.pop("trace")
    _plot_kinetic({"trace": trace}, config.temperature_K, out / "nvt_kinetic.png")
    plot_energy_vs_time(trace.times_fs, {"kinetic": trace.kinetic, "potential":
                                         trace.potential - trace.potential[0]},
                        out / "nvt_energy.png")
    results["nvt"] = nvt
    lines = ["## NVT canonical check", "",
             f"{config.engine} engine, {config.thermostat} thermostat, {config.nvt_steps} steps "
             f"of {config.nvt_timestep_fs:g} fs at {config.temperature_K:g} K; first 20% "
             f"discarded; errors by block averaging. Verdict: "
             f"**{'pass' if nvt['passed'] else 'FAIL'}** (|z| < 3.5).", "",
             "| quantity | measured | expected | z |", "|---|---:|---:|---:|",
             f"| ⟨K⟩ (eV) | {nvt['kinetic_mean_eV']:.4g} ± {nvt['kinetic_mean_err_eV']:.2g} | "
             f"{nvt['kinetic_mean_expected_eV']:.4g} | {nvt['z_mean']:.2f} |",
             f"| Var K (eV²) | {nvt['kinetic_var_eV2']:.3g} ± {nvt['kinetic_var_err_eV2']:.2g} | "
             f"{nvt['kinetic_var_expected_eV2']:.3g} | {nvt['z_var']:.2f} |",
             f"| σ(T) (K) | {nvt['temperature_std_K']:.1f} | "
             f"{nvt['temperature_std_expected_K']:.1f} | |", "",
             "![kinetic energy distribution](nvt_kinetic.png) ![NVT energies](nvt_energy.png)", ""]
    return lines, trace.frames


def validation_report(config: ValidationConfig) -> Path:
    """Run every section whose inputs are given and write ``report.md`` and ``results.json``
    into ``config.output``; returns the report path."""
    from pesforge.data.readers import read
    from pesforge.fileio import atomic_write, write_json
    from pesforge.models.io import load_model

    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    potential = load_model(config.model)
    results: dict[str, Any] = {"config": config.model_dump()}
    lines = [f"# Validation report: {config.model}", "",
             f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}; "
             f"engine `{config.engine}`; numbers in `results.json`.", ""]
    if config.structure:
        frame = read(config.structure, index=0)[0]
        driver = _driver(config, potential)
        lines += _nve_section(config, driver, frame, out, results)
        nvt_lines, md_frames = _nvt_section(config, driver, frame, out, results,
                                            want_frames=config.reference is not None)
        lines += nvt_lines
        if config.reference:
            lines += _rdf_section(config, md_frames, read(config.reference), out, results)
    if config.data:
        lines += _errors_section(config, potential, read(config.data), out, results)
    if len(lines) == 4:
        lines.append("Nothing to validate: give a structure (MD checks) and/or data (errors).")
    report = out / "report.md"
    atomic_write(report, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    write_json(out / "results.json", _jsonable(results))
    return report


def _rdf_section(config, md_frames, reference, out: Path, results: dict) -> list[str]:
    from pesforge.analysis.validation import rdf_check

    check = rdf_check(md_frames, reference, r_max=config.rdf_r_max, n_bins=config.rdf_bins)
    _plot_rdf(check, out / "rdf.png")
    results["rdf"] = {"rms": check["rms"], "relative_l1": check["relative_l1"],
                      "r": check["model"].r, "g_model": check["model"].g,
                      "g_reference": check["reference"].g}
    return ["## Radial distribution function", "",
            f"g(r) of the NVT run ({len(md_frames)} frames) against {config.reference} "
            f"({len(reference)} frames): RMS difference {check['rms']:.3g}, relative L1 "
            f"{check['relative_l1']:.3g}.", "", "![RDF](rdf.png)", ""]


def _errors_section(config, potential, frames, out: Path, results: dict) -> list[str]:
    from pesforge.analysis.validation import errors_by_config_type

    groups = errors_by_config_type(potential, frames, temperature_K=config.temperature_K)
    kt = units.KB * config.temperature_K * 1e3
    lines = ["## Errors by configuration type", "",
             f"k_B T = {kt:.2f} meV at {config.temperature_K:g} K.", "",
             "| type | frames | E MAE (meV/atom) | E MAE (k_B T) | E MAE (k_B T/atom) | "
             "F MAE (meV/Å) | F RMSE (meV/Å) |", "|---|---:|---:|---:|---:|---:|---:|"]
    results["errors"] = {}
    for name, m in groups.items():
        p = m.pop("predictions")
        safe = "".join(c if c.isalnum() else "_" for c in name)
        plot_parity(p.energy_ref / p.n_atoms, p.energy_pred / p.n_atoms,
                    out / f"parity_energy_{safe}.png", "energy per atom", "eV/atom")
        plot_parity(p.forces_ref, p.forces_pred, out / f"parity_forces_{safe}.png", "forces",
                    "eV/Å")
        results["errors"][name] = m
        lines.append(f"| {name} | {m['n_frames']} | {_fmt(m['energy_mae_meV_per_atom'])} | "
                     f"{_fmt(m['energy_mae_kT'])} | {_fmt(m['energy_mae_kT_per_atom'])} | "
                     f"{_fmt(m['force_mae_meV_per_A'])} | {_fmt(m['force_rmse_meV_per_A'])} |")
    lines.append("")
    for name in groups:
        safe = "".join(c if c.isalnum() else "_" for c in name)
        lines.append(f"**{name}**: ![energy](parity_energy_{safe}.png) "
                     f"![forces](parity_forces_{safe}.png)")
    return lines + [""]


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


__all__ = ["ValidationConfig", "validation_report"]
