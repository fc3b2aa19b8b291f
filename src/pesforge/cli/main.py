"""The ``pesforge`` command line: each command parses its arguments and calls one library
function (:func:`pesforge.training.train`, :func:`pesforge.training.metrics.evaluate_file`,
:func:`pesforge.demo.run_demo`).

Bad input (unreadable data, an invalid config, a missing file) prints ``error: ...`` on one
line to stderr and exits with status 1; set ``PESFORGE_DEBUG=1`` to see the traceback instead.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from pesforge.cli.common import friendly

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Machine-learned potential energy surfaces: data, training, uncertainty, "
                       "active learning, simulation, validation.")


@app.callback()
def _process_settings() -> None:
    """Before every command: keep large freed blocks for reuse (:mod:`pesforge.runtime`)."""
    from pesforge.runtime import tune_allocator

    tune_allocator()


@app.command("train")
@friendly
def train_command(
    config: Optional[Path] = typer.Argument(None, help="YAML config; flags override it."),
    train_file: Optional[str] = typer.Option(None, "--train-file", help="Training data."),
    test_file: Optional[str] = typer.Option(None, "--test-file", help="Test data."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name (bpnn, painn, equivariant)."),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes", help="Time budget."),
    max_epochs: Optional[int] = typer.Option(None, "--max-epochs", help="Epoch limit."),
    output: Optional[str] = typer.Option(None, "--output", help="Run folder."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed."),
    device: Optional[str] = typer.Option(None, "--device", help="Torch device (cpu, cuda)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the last checkpoint."),
    allow_mixed_levels: bool = typer.Option(
        False, "--allow-mixed-levels", help="Accept labels from different levels of theory."),
    energy_key: Optional[str] = typer.Option(None, "--energy-key", help="Energy label name."),
    forces_key: Optional[str] = typer.Option(None, "--forces-key", help="Forces label name."),
    baseline: Optional[str] = typer.Option(
        None, "--baseline", help="Δ-learning baseline: a model file, oracle:tblite, "
                                 "oracle:pyscf[:PRESET], or labels:ENERGY[,FORCES] naming "
                                 "low-level labels stored in the data files."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
) -> None:
    """Train a potential; writes model.safetensors, metrics.json and plots to the run folder.

    With --baseline the model learns label - baseline (Δ-learning) and, for a baseline model
    or oracle, model.safetensors is the composite baseline + Δ."""
    from pesforge.training import TrainConfig, load_config, train
    from pesforge.training.config import BaselineConfig

    if config is None and resume:  # resume a run from the config saved in its folder
        folder = Path(output or TrainConfig.model_fields["output"].default)
        if (folder / "config.yaml").is_file():
            config = folder / "config.yaml"
    overrides = {"data.train_file": train_file, "data.test_file": test_file,
                 "model.name": model, "max_minutes": max_minutes,
                 "optimizer.max_epochs": max_epochs, "output": output, "seed": seed,
                 "device": device, "data.allow_mixed_levels": True if allow_mixed_levels else None,
                 "data.energy_key": energy_key, "data.forces_key": forces_key,
                 "baseline": None if baseline is None
                 else BaselineConfig.parse(baseline).model_dump(exclude_none=True)}
    result = train(load_config(config, overrides), progress=progress, resume=resume)
    typer.echo(f"stopped: {result.stop_reason} after {len(result.history)} epoch(s)")
    for split, values in result.metrics.items():
        typer.echo(f"{split:>10}: {_summary(values)}")
    typer.echo(f"model: {result.output / 'model.safetensors'}")


@app.command("evaluate")
@friendly
def evaluate_command(
    model: Path = typer.Option(..., "--model",
                               help="Model file (.safetensors) or ensemble folder."),
    data: Path = typer.Option(..., "--data", help="Labelled data (.xyz, .extxyz, .db, .npz)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    batch_size: int = typer.Option(32, "--batch-size", min=1),
    energy_key: str = typer.Option("energy", "--energy-key"),
    forces_key: str = typer.Option("forces", "--forces-key"),
    stress_key: str = typer.Option("stress", "--stress-key"),
    allow_mixed_levels: bool = typer.Option(False, "--allow-mixed-levels"),
    device: str = typer.Option("cpu", "--device"),
) -> None:
    """Energy MAE/RMSE (meV, meV/atom) and force MAE/RMSE (meV/Å) of a model on data; for an
    ensemble also the calibration of its uncertainties (Spearman, NLL, miscalibration area)."""
    from pesforge.training.metrics import evaluate_file

    metrics = evaluate_file(str(model), str(data), batch_size=batch_size, energy_key=energy_key,
                            forces_key=forces_key, stress_key=stress_key,
                            allow_mixed=allow_mixed_levels, device=device)
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    typer.echo(f"{data}: {metrics['n_frames']} frames")
    rows = [("energy", "energy_mae_meV", "energy_rmse_meV", "meV"),
            ("energy / atom", "energy_mae_meV_per_atom", "energy_rmse_meV_per_atom", "meV/atom"),
            ("forces", "force_mae_meV_per_A", "force_rmse_meV_per_A", "meV/Å"),
            ("stress", "stress_mae_meV_per_A3", "stress_rmse_meV_per_A3", "meV/Å³")]
    for name, mae, rmse, unit in rows:
        if mae in metrics:
            typer.echo(f"  {name:<14} MAE {_fmt(metrics[mae])}  RMSE {_fmt(metrics[rmse])}  {unit}")
    for name, c in metrics.get("calibration", {}).items():  # ensembles
        if "nll" in c:
            typer.echo(f"  {name + ' std':<14} Spearman {c['spearman']:.3f}  NLL {c['nll']:.3f}  "
                       f"miscal. area {c['miscalibration_area']:.3f}  RMSE/RMS std "
                       f"{c['rmse'] / c['rms_std']:.3f}")
        else:
            typer.echo(f"  {name:<14} Spearman " + "  ".join(
                f"{k.removeprefix('spearman').strip('_') or 'std'} {v:.3f}"
                for k, v in c.items() if k.startswith("spearman")))


@app.command("demo")
@friendly
def demo_command(
    output: Path = typer.Option(Path("demo_output"), "--output", help="Report folder."),
) -> None:
    """Train a BPNN on bundled rMD17 ethanol, test it, run NVE MD; writes a report folder."""
    from pesforge.demo import run_demo

    metrics = run_demo(output=output)
    md = metrics["md"]
    typer.echo(f"test: {_summary(metrics['test'])}")
    typer.echo(f"NVE: {md['steps']} steps, total-energy drift "
               f"{md['total_energy_drift_meV_per_atom_per_ps']:.3f} meV/atom/ps")
    typer.echo(f"report: {output / 'report.md'}")


def _fmt(value: float | None) -> str:
    return "    n/a" if value is None else f"{value:8.3f}"


def _summary(metrics: dict) -> str:
    parts = [f"E MAE {_fmt(metrics.get('energy_mae_meV_per_atom')).strip()} meV/atom",
             f"F MAE {_fmt(metrics.get('force_mae_meV_per_A')).strip()} meV/Å",
             f"({metrics.get('n_frames')} frames)"]
    return ", ".join(parts[:2]) + " " + parts[2]


#: Command modules under ``pesforge.cli``; each defines ``register(app)`` adding its commands.
COMMAND_MODULES: tuple[str, ...] = ("md", "active", "validate", "uncertainty", "data", "xc")
for _module in COMMAND_MODULES:
    importlib.import_module(f"pesforge.cli.{_module}").register(app)


def main() -> None:  # pragma: no cover - console entry point alternative
    app(prog_name="pesforge")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
