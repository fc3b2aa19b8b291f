"""``pesforge validate MODEL`` (the validation report) and ``pesforge vibrations MODEL XYZ``
(optimisation and harmonic frequencies): parse options and call one library function each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pesforge.cli.common import friendly


def register(app: typer.Typer) -> None:
    @app.command("validate")
    @friendly
    def validate_command(
        model: str = typer.Argument(..., help="Model file (model.safetensors)."),
        structure: Optional[str] = typer.Option(
            None, "--structure", help="Starting structure for the NVE/NVT checks."),
        data: Optional[str] = typer.Option(
            None, "--data", help="Labelled frames: errors by config_type, parity plots."),
        reference: Optional[str] = typer.Option(
            None, "--reference", help="Reference trajectory for the RDF comparison."),
        output: str = typer.Option("validation", "--output", help="Report folder."),
        engine: str = typer.Option("torch", "--engine", help="MD engine: torch or ase."),
        thermostat: str = typer.Option("bussi", "--thermostat",
                                       help="bussi, langevin or nose_hoover_chain."),
        temperature: float = typer.Option(300.0, "--temperature", help="Temperature, K."),
        timesteps: str = typer.Option("0.25,0.5,1.0", "--timesteps",
                                      help="NVE time steps, fs, comma-separated."),
        nve_fs: float = typer.Option(500.0, "--nve-fs", help="NVE duration per time step, fs."),
        nvt_steps: int = typer.Option(4000, "--nvt-steps", help="NVT steps."),
        nvt_timestep: float = typer.Option(0.5, "--nvt-timestep", help="NVT time step, fs."),
        seed: int = typer.Option(0, "--seed", help="Random seed of the velocities."),
    ) -> None:
        """Validation report (Markdown + plots): NVE drift vs time step, NVT canonical
        fluctuations, RDF against a reference, errors by configuration type."""
        from pydantic import ValidationError

        from pesforge.analysis.report import ValidationConfig, validation_report

        try:
            steps = [float(x) for x in timesteps.split(",") if x.strip()]
            config = ValidationConfig(
                model=model, output=output, structure=structure, data=data,
                reference=reference, engine=engine, thermostat=thermostat,
                temperature_K=temperature, timesteps_fs=steps, nve_duration_fs=nve_fs,
                nvt_steps=nvt_steps, nvt_timestep_fs=nvt_timestep, seed=seed)
        except ValidationError as err:
            from pesforge.training.config import format_validation_error

            raise ValueError(f"invalid options: {format_validation_error(err)}") from None
        except ValueError as err:
            raise ValueError(f"--timesteps must be comma-separated numbers: {err}") from None
        for name, path in (("model", model), ("--structure", structure), ("--data", data),
                           ("--reference", reference)):
            if path is not None and not Path(path).is_file():
                raise FileNotFoundError(f"{name}: {path} does not exist")
        report = validation_report(config)
        typer.echo(f"report: {report}")

    @app.command("vibrations")
    @friendly
    def vibrations_command(
        model: str = typer.Argument(..., help="Model file (model.safetensors)."),
        structure: str = typer.Argument(..., help="Structure file (first frame is used)."),
        fmax: float = typer.Option(1e-4, "--fmax", help="Optimiser threshold, eV/Å."),
        relax: bool = typer.Option(True, "--relax/--no-relax", help="Optimise first."),
        output: Optional[str] = typer.Option(None, "--output",
                                             help="Write frequencies and modes as JSON."),
    ) -> None:
        """Optimise a molecule and print its harmonic frequencies (cm⁻¹) from the autograd
        Hessian."""
        from pesforge.analysis.vibrations import write_vibrations

        result = write_vibrations(model, structure, fmax=fmax, relax=relax, output=output)
        typer.echo(result.table())
