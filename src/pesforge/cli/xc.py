"""``pesforge xc-train`` (fit the learned XC functional to the cached CCSD(T) references) and
``pesforge xc-energy`` (self-consistent energies with a saved functional): parse options and
call one library function each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pesforge.cli.common import friendly


def register(app: typer.Typer) -> None:
    @app.command("xc-train")
    @friendly
    def xc_train_command(
        reactions: str = typer.Option("AE(H2),AE(LiH),IP(Li)", "--reactions",
                                      help="Comma-separated AE(X) / IP(X) / EA(X) targets."),
        steps: int = typer.Option(100, "--steps", min=0),
        sie_weight: float = typer.Option(1.0, "--sie-weight", help="H/H2+ SIE penalty weight."),
        frac_charge_weight: float = typer.Option(
            0.0, "--frac-charge-weight", help="Fractional-charge (H) penalty weight."),
        frac_spin_weight: float = typer.Option(
            0.0, "--frac-spin-weight", help="Fractional-spin (H) penalty weight."),
        rung: str = typer.Option("GGA", "--rung", help="GGA or MGGA (tau via alpha)."),
        scf_every: int = typer.Option(0, "--scf-every",
                                      help="Re-converge densities every k steps (0: never)."),
        output: Path = typer.Option(Path("xc_run"), "--output", help="Run folder."),
        resume: bool = typer.Option(False, "--resume",
                                    help="Continue from the run folder's checkpoint."),
    ) -> None:
        """Train a constrained neural XC correction to PBE; writes xc.safetensors."""
        from pesforge.xc.references import load_references
        from pesforge.xc.training import XCTrainConfig, train_xc

        cfg = XCTrainConfig(reactions=[r.strip() for r in reactions.split(",") if r.strip()],
                            steps=steps, sie_weight=sie_weight, scf_every=scf_every,
                            frac_charge_weight=frac_charge_weight,
                            frac_spin_weight=frac_spin_weight, model={"rung": rung.upper()})
        result = train_xc(cfg, load_references(), output=output, resume=resume)
        last = result.history[-1] if result.history else {}
        nan = float("nan")
        typer.echo(f"fit RMSE {last.get('fit_rmse_kcal', nan):.3f} kcal/mol, "
                   f"SIE RMS {last.get('sie_rms_kcal', nan):.3f}, fractional charge "
                   f"{last.get('frac_charge_rms_kcal', nan):.3f}, fractional spin "
                   f"{last.get('frac_spin_rms_kcal', nan):.3f} kcal/mol")
        typer.echo(f"functional: {output / 'xc.safetensors'}")

    @app.command("xc-energy")
    @friendly
    def xc_energy_command(
        species: str = typer.Argument(..., help="Comma-separated species (H, H2O, OH, Li+...)."),
        functional: Optional[Path] = typer.Option(None, "--functional",
                                                  help="xc.safetensors (default: PBE)."),
    ) -> None:
        """Self-consistent total energies (Ha) with the learned functional (cc-pVDZ)."""
        from pesforge.xc.functional import load_functional
        from pesforge.xc.training import scf_energies

        model = None if functional is None else load_functional(functional)
        names = [s.strip() for s in species.split(",") if s.strip()]
        for name, row in scf_energies(model, names).items():
            typer.echo(f"{name:8s} {row['energy']:.8f} Ha  cycles {row['cycles']}"
                       f"{'' if row['converged'] else '  NOT CONVERGED'}")
