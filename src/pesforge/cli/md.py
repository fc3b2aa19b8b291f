"""``pesforge md CONFIG.yaml``: parse the MD config and call :func:`pesforge.simulate.config.run_md`."""

from __future__ import annotations

from pathlib import Path

import typer

from pesforge.cli.common import friendly


def register(app: typer.Typer) -> None:
    @app.command("md")
    @friendly
    def md_command(
        config: Path = typer.Argument(..., help="YAML MD config (see pesforge.simulate.config)."),
        resume: bool = typer.Option(False, "--resume", help="Continue from the checkpoint."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar."),
    ) -> None:
        """Molecular dynamics with the torch engine; writes thermo.csv, a trajectory and a
        checkpoint to the output folder."""
        from pesforge.simulate.config import load_md_config, run_md

        cfg = load_md_config(config)
        result = run_md(cfg, resume=resume, progress=progress)
        last = result.records[-result.state.n_systems:] if result.records else []
        typer.echo(f"stopped: {result.stop_reason}; {result.steps_done} steps in "
                   f"{result.wall_s:.1f} s, {result.neighbor_builds} neighbour-list builds")
        for row in last:
            typer.echo(f"  system {row['system']}: T {row['temperature_K']:.1f} K, "
                       f"E_pot {row['potential_energy']:.4f} eV, "
                       f"E_cons {row['conserved_energy']:.4f} eV")
        typer.echo(f"output: {cfg.output}")
