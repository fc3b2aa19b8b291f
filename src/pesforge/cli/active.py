"""``pesforge active-learn CONFIG.yaml [--resume]``: run an active-learning campaign."""

from __future__ import annotations

from pathlib import Path

import typer

from pesforge.cli.common import friendly


def register(app: typer.Typer) -> None:
    """Add the active-learning command to ``app``."""

    @app.command("active-learn")
    @friendly
    def active_learn(
        config: Path = typer.Argument(..., help="Active-learning YAML config."),
        resume: bool = typer.Option(False, "--resume",
                                    help="Continue the campaign in the config's output folder."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Print phases."),
    ) -> None:
        """Explore with a committee, label where it disagrees, retrain, repeat."""
        from pesforge.active import load_active_config, run_active_learning

        result = run_active_learning(load_active_config(config), resume=resume,
                                     progress=progress)
        counts = result.counts
        typer.echo(f"stopped: {result.stop_reason} after {result.iterations} iteration(s); "
                   f"labels {counts['done']}, failed calls {counts['failed']}, oracle attempts "
                   f"{counts['attempts']}")
        typer.echo(f"report: {result.output / 'report.json'}")
        if result.final is not None:
            test = result.final.get("test", {}).get("forces_mae")
            typer.echo(f"final model: {result.final['model_file']}"
                       + (f"; test force MAE {test * 1e3:.1f} meV/Å" if test is not None else ""))
