"""Integrators as ``(init, step)`` over an :class:`~pesforge.simulate.state.MDState`.

Each integrator is a small dataclass of parameters (fs, K, GPa) with ``init(state, force_field)``
(first force evaluation, thermostat variables) and ``step(state, force_field)`` (one time step,
updating the state in place and returning it). Thermostat kernels live in
:mod:`pesforge.simulate.thermostats`, the barostat in :mod:`pesforge.simulate.barostat`.
``INTEGRATORS`` maps names to classes so that checkpoints and configs can rebuild them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch

from pesforge.simulate.state import MVV2E, MDState, kinetic_energy
from pesforge.simulate import thermostats as T
from pesforge.units import KB

INTEGRATORS: dict[str, type] = {}


def _integrator(name: str):
    def wrap(cls):
        cls.name = name
        INTEGRATORS[name] = cls
        return cls
    return wrap


def kick(state: MDState, dt: float) -> None:
    """v += dt F / m (in place), dt in fs."""
    state.velocities += (dt / MVV2E) * state.forces / state.masses[:, None]


def drift(state: MDState, dt: float) -> None:
    """x += dt v (in place), dt in fs."""
    state.positions += dt * state.velocities


def _advance(state: MDState, dt: float) -> MDState:
    state.step += 1
    state.time_fs += dt
    return state


@dataclass
class Integrator:
    """Base: a time step in fs; subclasses add parameters and implement ``step``."""

    name: ClassVar[str] = ""
    needs_stress: ClassVar[bool] = False
    timestep_fs: float = 1.0

    def init(self, state: MDState, force_field) -> MDState:
        """Set integrator variables and evaluate forces before the first step."""
        self.prepare(state)
        return force_field(state)

    def prepare(self, state: MDState) -> MDState:
        """Add this integrator's variables (and degrees of freedom) to a state that already has
        forces, e.g. one equilibrated by another integrator; existing variables are kept."""
        return state

    def step(self, state: MDState, force_field) -> MDState:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {"name": self.name, **asdict(self)}


def build_integrator(config: dict[str, Any]) -> Integrator:
    """Inverse of :meth:`Integrator.config`."""
    config = dict(config)
    name = config.pop("name")
    if name not in INTEGRATORS:
        raise KeyError(f"unknown integrator {name!r}; known: {sorted(INTEGRATORS)}")
    return INTEGRATORS[name](**config)


@_integrator("verlet")
@dataclass
class VelocityVerlet(Integrator):
    """Velocity Verlet (NVE). Swope, Andersen, Berens & Wilson, J. Chem. Phys. 76, 637 (1982)."""

    def step(self, state, force_field):
        dt = self.timestep_fs
        kick(state, 0.5 * dt)
        drift(state, dt)
        force_field(state)
        kick(state, 0.5 * dt)
        return _advance(state, dt)


@_integrator("langevin")
@dataclass
class Langevin(Integrator):
    """Langevin dynamics with the BAOAB splitting (NVT); ``friction_per_fs`` is gamma in 1/fs.

    Leimkuhler & Matthews, Appl. Math. Res. Express 2013, 34 (2013). The friction acts on every
    atom, so the centre of mass is not conserved and ``dof`` is set to 3N.
    """

    temperature_K: float = 300.0
    friction_per_fs: float = 0.01

    def prepare(self, state):
        state.dof = 3.0 * state.n_atoms.to(torch.float64)
        return state

    def step(self, state, force_field):
        dt = self.timestep_fs
        kick(state, 0.5 * dt)
        drift(state, 0.5 * dt)
        before = kinetic_energy(state)
        c1 = math.exp(-self.friction_per_fs * dt)
        sd = torch.sqrt((1.0 - c1 * c1) * KB * self.temperature_K / (MVV2E * state.masses))
        noise = torch.randn(state.positions.shape, generator=state.generator,
                            dtype=torch.float64).to(state.device)
        state.velocities = c1 * state.velocities + sd[:, None] * noise
        state.reservoir -= kinetic_energy(state) - before
        drift(state, 0.5 * dt)
        force_field(state)
        kick(state, 0.5 * dt)
        return _advance(state, dt)


@_integrator("bussi")
@dataclass
class Bussi(Integrator):
    """Velocity Verlet with the canonical-sampling velocity-rescaling thermostat (CSVR),
    applied for half a step before and after; ``tau_fs`` is the relaxation time.

    Bussi, Donadio & Parrinello, J. Chem. Phys. 126, 014101 (2007).
    """

    temperature_K: float = 300.0
    tau_fs: float = 100.0

    def step(self, state, force_field):
        dt = self.timestep_fs
        T.csvr(state, 0.5 * dt, self.tau_fs, self.temperature_K)
        kick(state, 0.5 * dt)
        drift(state, dt)
        force_field(state)
        kick(state, 0.5 * dt)
        T.csvr(state, 0.5 * dt, self.tau_fs, self.temperature_K)
        return _advance(state, dt)


@_integrator("nose_hoover_chain")
@dataclass
class NoseHooverChain(Integrator):
    """Velocity Verlet inside a Nosé–Hoover chain (NVT), one chain per system, Trotter split
    with Suzuki–Yoshida order-3 weights. Masses Q_1 = dof kT tau², Q_k = kT tau².

    Martyna, Klein & Tuckerman, J. Chem. Phys. 97, 2635 (1992); Martyna, Tuckerman, Tobias &
    Klein, Mol. Phys. 87, 1117 (1996).
    """

    temperature_K: float = 300.0
    tau_fs: float = 100.0
    chain_length: int = 3

    def prepare(self, state):
        shape = (state.n_systems, self.chain_length)
        for key in ("nhc_xi", "nhc_v"):
            if key not in state.extra or state.extra[key].shape != shape:
                state.extra[key] = torch.zeros(shape, dtype=torch.float64, device=state.device)
        return state

    def step(self, state, force_field):
        dt = self.timestep_fs
        T.nose_hoover_chain_half_step(state, dt, self.tau_fs, self.temperature_K)
        kick(state, 0.5 * dt)
        drift(state, dt)
        force_field(state)
        kick(state, 0.5 * dt)
        T.nose_hoover_chain_half_step(state, dt, self.tau_fs, self.temperature_K)
        state.reservoir = T.nose_hoover_chain_energy(state, self.tau_fs, self.temperature_K)
        return _advance(state, dt)
