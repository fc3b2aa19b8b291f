"""``pesforge sample ...`` (generators), ``pesforge audit DATA`` and ``pesforge data info DATA``.

Each command parses its arguments and calls one library function of :mod:`pesforge.sampling`
or :mod:`pesforge.curation`. Oracles are given as a YAML file (``kind: tblite``, ``settings:
{...}``; the fields of :class:`pesforge.active.config.OracleSpec`, optionally under an
``oracle:`` key) or as a bare kind (``emt``, ``tblite``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

import typer

from pesforge.cli.common import friendly

sample_app = typer.Typer(no_args_is_help=True, help="Generate structures (written unlabelled "
                         "unless an oracle labels them).")
data_app = typer.Typer(no_args_is_help=True, help="Inspect data sets.")


def load_oracle(spec: str):
    """An oracle from a YAML/JSON file or a bare kind name."""
    import yaml

    from pesforge.active.config import OracleSpec
    from pesforge.active.loop import build_oracle

    path = Path(spec)
    if path.is_file():
        data = yaml.safe_load(path.read_text()) or {}
        data = data.get("oracle", data) if isinstance(data, dict) else data
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with 'kind', got {type(data).__name__}")
    else:
        data = {"kind": spec}
    try:
        return build_oracle(OracleSpec(**data))
    except Exception as err:  # pydantic errors name the field
        raise ValueError(f"oracle {spec}: {err}") from err


def read_labelled(path: Path, allow_mixed: bool = False):
    """Frames of ``path`` with labels under ``energy``/``forces``/``stress``, or else under
    the ``REF_`` names that :func:`pesforge.data.write_extxyz` writes."""
    from pesforge.data import read

    frames = read(path, allow_mixed=allow_mixed)
    if any(f.energy is not None or f.forces is not None for f in frames):
        return frames
    if str(path).endswith((".xyz", ".extxyz")):
        from pesforge.sampling.provenance import read_written

        return read_written(path, allow_mixed=allow_mixed)
    return frames


def _structure(path: Path, index: int):
    from pesforge.data import read

    return read(path, index=[index], allow_mixed=True)[0]


def _write(frames, output: Path) -> None:
    from pesforge.data import write_extxyz

    write_extxyz(output, frames)
    typer.echo(f"wrote {len(frames)} frame(s) to {output}")


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"expected comma-separated numbers, got {text!r}") from None


@sample_app.command("normal-modes")
@friendly
def normal_modes_command(
    structure: Path = typer.Argument(..., help="Minimum-energy structure (any readable file)."),
    output: Path = typer.Option(..., "--output", "-o", help="extxyz file to write."),
    temperature: float = typer.Option(300.0, "--temperature", help="K."),
    n: int = typer.Option(10, "--n", min=1, help="Number of samples."),
    oracle: Optional[str] = typer.Option(None, "--oracle", help="Hessian by finite differences "
                                         "of this oracle (YAML or kind)."),
    model: Optional[Path] = typer.Option(None, "--model", help="Hessian of a model file."),
    quantum: bool = typer.Option(False, "--quantum", help="Quantum amplitudes (zero point)."),
    index: int = typer.Option(0, "--index", help="Frame of the structure file."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Boltzmann-distributed displacements along the normal modes of a molecule."""
    from pesforge.sampling import normal_mode_samples

    if (oracle is None) == (model is None):
        raise ValueError("give exactly one of --oracle or --model for the Hessian")
    if model is not None:
        from pesforge.models.io import load_model

        reference = load_model(model)
    else:
        reference = load_oracle(oracle)
    frames = normal_mode_samples(_structure(structure, index), n, temperature,
                                 reference=reference, quantum=quantum, seed=seed)
    _write(frames, output)


@sample_app.command("rattle")
@friendly
def rattle_command(
    structure: Path = typer.Argument(...),
    output: Path = typer.Option(..., "--output", "-o"),
    n: int = typer.Option(10, "--n", min=1),
    sigma: Optional[float] = typer.Option(None, "--sigma", help="Å per Cartesian component."),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="K (Einstein)."),
    frequency: float = typer.Option(300.0, "--frequency", help="Einstein frequency, cm^-1."),
    index: int = typer.Option(0, "--index"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Gaussian random displacements, by amplitude or by temperature."""
    from pesforge.sampling import rattle

    _write(rattle(_structure(structure, index), n, sigma, temperature=temperature,
                  frequency_cm1=frequency, seed=seed), output)


@sample_app.command("strain")
@friendly
def strain_command(
    structure: Path = typer.Argument(..., help="Periodic structure."),
    output: Path = typer.Option(..., "--output", "-o"),
    hydrostatic: str = typer.Option("", "--hydrostatic", help="Linear strains, e.g. -0.02,0,0.02."),
    shear: str = typer.Option("", "--shear", help="Shear amplitudes (yz, xz, xy each)."),
    index: int = typer.Option(0, "--index"),
) -> None:
    """Hydrostatic and shear strains of a periodic cell (fractional coordinates kept)."""
    from pesforge.sampling import hydrostatic_strains, shear_strains

    frame = _structure(structure, index)
    frames = hydrostatic_strains(frame, _floats(hydrostatic)) + shear_strains(frame,
                                                                                _floats(shear))
    if not frames:
        raise ValueError("give --hydrostatic and/or --shear strains")
    _write(frames, output)


@sample_app.command("md")
@friendly
def md_command(
    structure: Path = typer.Argument(...),
    oracle: str = typer.Option(..., "--oracle", help="Sampler driving the MD (YAML or kind)."),
    output: Path = typer.Option(..., "--output", "-o"),
    temperatures: str = typer.Option("300", "--temperatures", help="K, comma-separated."),
    n: int = typer.Option(10, "--n", min=1, help="Snapshots per temperature."),
    labeler: Optional[str] = typer.Option(None, "--labeler", help="Oracle labelling snapshots."),
    interval: Optional[int] = typer.Option(None, "--interval", help="Steps between snapshots "
                                           "(default: 2x the energy autocorrelation time)."),
    equilibration: int = typer.Option(200, "--equilibration"),
    timestep: float = typer.Option(0.5, "--timestep", help="fs."),
    friction: float = typer.Option(0.01, "--friction", help="1/fs."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Resume folder."),
    index: int = typer.Option(0, "--index"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Langevin MD with an oracle at several temperatures; labelled, decorrelated snapshots."""
    from pesforge.sampling import langevin_samples

    frames = langevin_samples(_structure(structure, index), load_oracle(oracle),
                              _floats(temperatures), n,
                              labeler=load_oracle(labeler) if labeler else None,
                              interval=interval, equilibration=equilibration,
                              timestep_fs=timestep, friction_per_fs=friction, seed=seed,
                              checkpoint=checkpoint)
    _write(frames, output)


@data_app.command("info")
@friendly
def info_command(data: Path = typer.Argument(..., help="Data file.")) -> None:
    """Frames, elements, labels, levels of theory (fingerprints and counts), generators."""
    from pesforge.data.validate import level_counts

    frames = read_labelled(data, allow_mixed=True)
    sizes = [len(f) for f in frames]
    elements = Counter(int(z) for f in frames for z in f.numbers)
    typer.echo(f"{data}: {len(frames)} frames, {min(sizes)}-{max(sizes)} atoms, "
               f"{sum(bool(f.pbc.any()) for f in frames)} periodic")
    typer.echo("elements: " + ", ".join(f"Z={z} x{n}" for z, n in sorted(elements.items())))
    typer.echo("labels: " + ", ".join(
        f"{name} {sum(getattr(f, name) is not None for f in frames)}"
        for name in ("energy", "forces", "stress")))
    rows = level_counts(frames)
    typer.echo(f"levels of theory: {sum(lvl is not None for lvl, _, _ in rows)}")
    for level, count, sources in rows:
        name = "unknown" if level is None else f"{level}  [{level.fingerprint()}]"
        typer.echo(f"  {count:>7}  {name}  (e.g. {sources[0]})")
    generators = Counter(f.info.get("generator", "-") for f in frames)
    if set(generators) != {"-"}:
        typer.echo("generators: " + ", ".join(f"{g} {n}" for g, n in generators.items()))


def audit_command(
    data: Path = typer.Argument(..., help="Labelled data file."),
    oracle: Optional[str] = typer.Option(None, "--oracle", help="Check forces against finite "
                                         "differences of this oracle's energy (YAML or kind)."),
    output: Path = typer.Option(Path("audit"), "--output", "-o", help="Report folder."),
    n_check: int = typer.Option(10, "--n-check", help="Frames checked against the oracle."),
    top: int = typer.Option(20, "--top", help="Rows of the printed table."),
    allow_mixed_levels: bool = typer.Option(False, "--allow-mixed-levels"),
) -> None:
    """Rank suspicious labels (invariance, LOO outliers, oracle check) and find duplicates."""
    from pesforge.curation import audit, format_table, write_report

    frames = read_labelled(data, allow_mixed=allow_mixed_levels)
    report = audit(frames, oracle=load_oracle(oracle) if oracle else None, n_consistency=n_check)
    folder = write_report(report, output, top=max(top, 30))
    typer.echo(format_table(report, top), nl=False)
    typer.echo(f"{len(report.flagged())} flagged frame(s) of {len(frames)}; report: {folder}")


def register(app: typer.Typer) -> None:
    """Add ``sample``, ``data`` and ``audit`` to the main app."""
    app.add_typer(sample_app, name="sample")
    app.add_typer(data_app, name="data")
    app.command("audit")(friendly(audit_command))
