"""``pesforge train-ensemble``: a deep ensemble in one folder (calls
:func:`pesforge.uncertainty.train_ensemble`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pesforge.cli.common import friendly


def register(app: typer.Typer) -> None:
    """Add the uncertainty commands to ``app``."""
    app.command("train-ensemble")(train_ensemble_command)


@friendly
def train_ensemble_command(
    config: Optional[Path] = typer.Argument(None, help="YAML training config; flags override it."),
    n_models: int = typer.Option(4, "--n-models", "-n", min=2, help="Number of members."),
    train_file: Optional[str] = typer.Option(None, "--train-file", help="Training data."),
    test_file: Optional[str] = typer.Option(None, "--test-file", help="Test data."),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes",
                                                help="Time budget per member."),
    max_epochs: Optional[int] = typer.Option(None, "--max-epochs", help="Epoch limit."),
    output: Optional[str] = typer.Option(None, "--output", help="Ensemble folder."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of member 0."),
    bootstrap: bool = typer.Option(False, "--bootstrap", help="Bootstrap-resample training."),
    nll: bool = typer.Option(False, "--nll", help="Variance heads, Gaussian NLL loss."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted ensemble."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars."),
) -> None:
    """Train N members from seeds seed..seed+N-1 on one split; recalibrate their stds on the
    validation frames; write ensemble.safetensors, ensemble_metrics.json, calibration.png."""
    from pesforge.training import load_config
    from pesforge.uncertainty import train_ensemble

    overrides = {"data.train_file": train_file, "data.test_file": test_file,
                 "max_minutes": max_minutes, "optimizer.max_epochs": max_epochs,
                 "output": output, "seed": seed, "loss.kind": "gaussian_nll" if nll else None}
    result = train_ensemble(load_config(config, overrides), n_models, bootstrap=bootstrap,
                            resume=resume, progress=progress)
    s_e, s_f = result.scales
    if s_e is not None:
        typer.echo(f"recalibration factors: energy {s_e:.3f}, forces {s_f:.3f}")
    for split in ("validation", "test"):
        m = result.metrics.get(split)
        if m:
            c = m["calibration"]
            typer.echo(f"{split:>10}: F MAE {m['force_mae_meV_per_A']:.3f} meV/Å, "
                       f"E MAE {m['energy_mae_meV_per_atom']:.3f} meV/atom; Spearman(std, "
                       f"error) energy {c['energy']['spearman']:.3f}, forces per frame "
                       f"{c['forces_per_frame']['spearman_rms']:.3f}")
    typer.echo(f"ensemble: {result.output / 'ensemble.safetensors'}")
