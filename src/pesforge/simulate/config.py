"""The MD configuration (``pesforge md CONFIG.yaml``) and :func:`run_md`, the one library
function the command calls.

Example::

    model: run/model.safetensors        # or  potential: {name: lennard_jones, config: {}}
    structure: {file: start.xyz, repeat: [2, 2, 2], copies: 4}
    integrator: {name: langevin, timestep_fs: 0.5, temperature_K: 300, friction_per_fs: 0.01}
    steps: 10000
    output: md_run
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from pesforge.fileio import atomic_write


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PotentialSpec(_Strict):
    """A registered potential built from its config (e.g. ``lennard_jones``), no weights."""

    name: str
    config: dict[str, Any] = Field(default_factory=dict)


class StructureConfig(_Strict):
    """Starting structure: frame ``index`` of an ASE-readable ``file``, repeated by
    ``repeat`` and run as ``copies`` independent systems (different random velocities)."""

    file: str
    index: int = 0
    repeat: list[int] = Field(default_factory=lambda: [1, 1, 1], min_length=3, max_length=3)
    copies: int = Field(1, ge=1)


class VerletConfig(_Strict):
    name: Literal["verlet"]
    timestep_fs: float = Field(1.0, gt=0)


class LangevinConfig(_Strict):
    name: Literal["langevin"]
    timestep_fs: float = Field(1.0, gt=0)
    temperature_K: float = Field(300.0, ge=0)
    friction_per_fs: float = Field(0.01, gt=0)


class BussiConfig(_Strict):
    name: Literal["bussi"]
    timestep_fs: float = Field(1.0, gt=0)
    temperature_K: float = Field(300.0, ge=0)
    tau_fs: float = Field(100.0, gt=0)


class NoseHooverChainConfig(_Strict):
    name: Literal["nose_hoover_chain"]
    timestep_fs: float = Field(1.0, gt=0)
    temperature_K: float = Field(300.0, gt=0)
    tau_fs: float = Field(100.0, gt=0)
    chain_length: int = Field(3, ge=1)


class NPTConfig(_Strict):
    name: Literal["scr_npt"]
    timestep_fs: float = Field(1.0, gt=0)
    temperature_K: float = Field(300.0, gt=0)
    pressure_GPa: float = 0.0
    tau_t_fs: float = Field(100.0, gt=0)
    tau_p_fs: float = Field(1000.0, gt=0)
    compressibility_per_GPa: float = Field(0.5, gt=0)
    mode: Literal["isotropic", "orthorhombic", "triclinic"] = "isotropic"


IntegratorConfig = Annotated[Union[VerletConfig, LangevinConfig, BussiConfig,
                                   NoseHooverChainConfig, NPTConfig],
                             Field(discriminator="name")]


class MDConfig(_Strict):
    """Everything ``pesforge md`` needs. Give exactly one of ``model`` (a model file) and
    ``potential``. ``temperature_K`` sets the initial Maxwell–Boltzmann velocities (default:
    the integrator's temperature, 0 for NVE unless the file has velocities)."""

    model: str | None = None
    potential: PotentialSpec | None = None
    dtype: Literal["float32", "float64"] | None = None
    structure: StructureConfig
    integrator: IntegratorConfig
    steps: int = Field(..., ge=0)
    temperature_K: float | None = Field(None, ge=0)
    seed: int = 0
    device: str = "cpu"
    skin: float = Field(1.0, ge=0)
    output: str = "md_run"
    trajectory: str = "trajectory.extxyz"
    trajectory_every: int = Field(10, ge=0)
    log_every: int = Field(10, ge=1)
    checkpoint_every: int = Field(100, ge=0)
    uncertainty_key: str | None = None
    uncertainty_max: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_potential(self):
        if (self.model is None) == (self.potential is None):
            raise ValueError("give exactly one of 'model' (a model file) and 'potential'")
        if self.uncertainty_max is not None and self.uncertainty_key is None:
            raise ValueError("uncertainty_max needs uncertainty_key (e.g. forces_std)")
        return self


def load_md_config(path: str | os.PathLike) -> MDConfig:
    """Read and validate a YAML MD config; errors name the file and the fields."""
    from pesforge.training.config import load_typed

    return load_typed(MDConfig, path)


def _potential(config: MDConfig):
    import torch

    if config.model is not None:
        import pesforge.uncertainty.ensemble  # noqa: F401  (registers "ensemble" model files)
        from pesforge.models.io import load_model

        potential = load_model(config.model, device=config.device)
    else:
        import pesforge.physics.lennard_jones  # noqa: F401  (registers the analytic terms)
        from pesforge.models.potential import build

        potential = build(config.potential.model_dump()).to(config.device)
    if config.dtype is not None:
        potential = potential.to(getattr(torch, config.dtype))
    return potential


def _structures(config: MDConfig):
    import ase.io

    s = config.structure
    try:
        atoms = ase.io.read(s.file, index=s.index)
    except FileNotFoundError:
        raise FileNotFoundError(f"structure file {s.file} does not exist") from None
    except Exception as err:  # ASE raises many types for unreadable files
        raise ValueError(f"cannot read frame {s.index} of {s.file}: {err}") from err
    atoms = atoms.repeat(s.repeat)
    return [atoms.copy() for _ in range(s.copies)]


def run_md(config: MDConfig, *, resume: bool = False, progress: bool = True):
    """Run (or, with ``resume``, continue from ``output/checkpoint.safetensors``) the MD of
    ``config`` until ``config.steps`` steps in total; returns a
    :class:`~pesforge.simulate.runner.RunResult`."""
    from pesforge.simulate.forcefield import ForceField
    from pesforge.simulate.integrators import build_integrator
    from pesforge.simulate import runner
    from pesforge.simulate.state import init_state

    output = Path(config.output)
    potential = _potential(config)
    integrator = build_integrator(config.integrator.model_dump())
    ff = ForceField(potential, skin=config.skin, stress=integrator.needs_stress)
    info = None
    if resume and (output / runner.CHECKPOINT).is_file():
        state, integrator, info = runner.resume(output, ff, device=config.device)
    else:
        temperature = config.temperature_K
        if temperature is None:
            temperature = getattr(integrator, "temperature_K", 0.0)
        state = init_state(_structures(config), device=config.device,
                           temperature_K=temperature, seed=config.seed)
        text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
        atomic_write(output / "config.yaml", lambda tmp: Path(tmp).write_text(text))
    return runner.run(state, integrator, ff, max(config.steps - state.step, 0),
                      log_every=config.log_every, output=output,
                      trajectory=config.trajectory, trajectory_every=config.trajectory_every,
                      checkpoint_every=config.checkpoint_every, progress=progress,
                      uncertainty_key=config.uncertainty_key,
                      uncertainty_max=config.uncertainty_max, resume_info=info)
