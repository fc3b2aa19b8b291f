"""MD drivers for the validation suite: one small interface, two engines.

A driver runs one system in one ensemble and returns an :class:`MDTrace` (energies against
time and a few snapshots). :class:`TorchMD` uses pesforge's torch engine
(:mod:`pesforge.simulate`); :class:`ASEMD` uses ASE's integrators through the pesforge
calculator (or any ASE calculator). The validation functions take the driver as an argument,
so switching engines is one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import torch

from pesforge.data.frame import Frame

Ensemble = Literal["nve", "nvt"]


@dataclass
class MDTrace:
    """Energies of an MD run (eV) sampled every ``log_every`` steps, and snapshots.

    Attributes:
        times_fs: (T,) fs.
        potential, kinetic, conserved: (T,) eV (``conserved`` includes the thermostat's
            reservoir; equal to potential + kinetic in NVE).
        dof: kinetic degrees of freedom used for the temperature (3N - 3 with the centre of
            mass fixed).
        n_atoms: atoms of the system.
        frames: snapshots (every ``frames_every`` steps) for structural analysis.
    """

    times_fs: np.ndarray
    potential: np.ndarray
    kinetic: np.ndarray
    conserved: np.ndarray
    dof: float
    n_atoms: int
    frames: list[Frame] = field(default_factory=list)


class MDDriver(Protocol):
    """What the validation suite needs from an MD engine."""

    def run(self, frame: Frame, *, ensemble: Ensemble, timestep_fs: float, steps: int,
            temperature_K: float, seed: int = 0, log_every: int = 1,
            frames_every: int = 0) -> MDTrace:
        """Run ``steps`` steps from ``frame`` with velocities drawn at ``temperature_K``."""
        ...


@dataclass
class TorchMD:
    """The torch-native engine: velocity Verlet (NVE) or a thermostat (NVT).

    Args:
        potential: the model.
        thermostat: ``"bussi"`` (CSVR), ``"langevin"`` or ``"nose_hoover_chain"`` for NVT.
        tau_fs: thermostat time constant (Langevin: friction 1/tau).
        skin: neighbour-list skin, Å.
        dtype: evaluation dtype (float64 for conservation tests).
    """

    potential: Any
    thermostat: str = "bussi"
    tau_fs: float = 50.0
    skin: float = 1.0
    dtype: torch.dtype = torch.float64

    def _integrator(self, ensemble: Ensemble, timestep_fs: float, temperature_K: float):
        from pesforge.simulate import Bussi, Langevin, NoseHooverChain, VelocityVerlet

        if ensemble == "nve":
            return VelocityVerlet(timestep_fs=timestep_fs)
        if self.thermostat == "bussi":
            return Bussi(timestep_fs=timestep_fs, temperature_K=temperature_K, tau_fs=self.tau_fs)
        if self.thermostat == "langevin":
            return Langevin(timestep_fs=timestep_fs, temperature_K=temperature_K,
                            friction_per_fs=1.0 / self.tau_fs)
        if self.thermostat == "nose_hoover_chain":
            return NoseHooverChain(timestep_fs=timestep_fs, temperature_K=temperature_K,
                                   tau_fs=self.tau_fs)
        raise ValueError(f"unknown thermostat {self.thermostat!r}")

    def run(self, frame, *, ensemble, timestep_fs, steps, temperature_K, seed=0, log_every=1,
            frames_every=0):
        import copy

        from pesforge.simulate import ForceField, init_state
        from pesforge.simulate import run as md_run

        potential = self.potential
        if potential.dtype != self.dtype:
            potential = copy.deepcopy(potential).to(dtype=self.dtype)
        state = init_state(frame.to_atoms(), temperature_K=temperature_K, seed=seed)
        frames: list[Frame] = []

        def snapshot(s):
            if frames_every and s.step % frames_every == 0:
                frames.append(Frame.from_atoms(s.to_atoms(0), source=f"md step {s.step}"))

        result = md_run(state, self._integrator(ensemble, timestep_fs, temperature_K),
                        ForceField(potential, skin=self.skin), steps, log_every=log_every,
                        callback=snapshot if frames_every else None)
        rows = [r for r in result.records if r["system"] == 0]
        get = lambda k: np.array([r[k] for r in rows], dtype=np.float64)  # noqa: E731
        return MDTrace(get("time_fs"), get("potential_energy"), get("kinetic_energy"),
                       get("conserved_energy"), float(result.state.dof[0]), len(frame), frames)


@dataclass
class ASEMD:
    """ASE's integrators: ``VelocityVerlet`` (NVE), ``Bussi`` or ``Langevin`` (NVT).

    Args:
        calculator: a pesforge Potential (wrapped in :class:`pesforge.interfaces.Calculator`,
            float64) or any ASE calculator.
        thermostat: ``"bussi"`` or ``"langevin"``.
        tau_fs: thermostat time constant (Langevin friction 1/tau).
    """

    calculator: Any
    thermostat: str = "bussi"
    tau_fs: float = 50.0

    def run(self, frame, *, ensemble, timestep_fs, steps, temperature_K, seed=0, log_every=1,
            frames_every=0):
        from ase.md.velocitydistribution import Stationary
        from ase.md.verlet import VelocityVerlet

        from pesforge import units
        from pesforge.analysis.vibrations import as_calculator

        atoms = frame.to_atoms()
        atoms.calc = as_calculator(self.calculator)
        rng = np.random.default_rng(seed)
        # Maxwell–Boltzmann momenta p = sqrt(m k_B T) ξ (ASE's internal units: eV, Å, amu)
        atoms.set_momenta(np.sqrt(atoms.get_masses() * units.KB * temperature_K)[:, None]
                          * rng.standard_normal((len(atoms), 3)))
        Stationary(atoms)
        dt = timestep_fs * units.FS_TO_ASE_TIME
        if ensemble == "nve":
            dyn = VelocityVerlet(atoms, timestep=dt)
        elif self.thermostat == "bussi":
            from ase.md.bussi import Bussi

            dyn = Bussi(atoms, timestep=dt, temperature_K=temperature_K,
                        taut=self.tau_fs * units.FS_TO_ASE_TIME, rng=rng)
        elif self.thermostat == "langevin":
            from ase.md.langevin import Langevin

            dyn = Langevin(atoms, timestep=dt, temperature_K=temperature_K,
                           friction=1.0 / (self.tau_fs * units.FS_TO_ASE_TIME), rng=rng)
        else:
            raise ValueError(f"unknown thermostat {self.thermostat!r}")
        log: list[tuple[float, float, float, float]] = []
        frames: list[Frame] = []

        def record():
            step = dyn.nsteps
            if step % log_every == 0:
                e_pot, e_kin = atoms.get_potential_energy(), atoms.get_kinetic_energy()
                added = getattr(dyn, "transferred_energy", 0.0)  # Bussi's thermostat work
                log.append((step * timestep_fs, e_pot, e_kin, e_pot + e_kin - added))
            if frames_every and step % frames_every == 0:
                frames.append(Frame.from_atoms(atoms, source=f"md step {step}"))

        dyn.attach(record, interval=1)
        dyn.run(steps)
        data = np.array(log)
        # VelocityVerlet and Langevin (fixcm=True) keep the centre of mass fixed: 3N - 3; ASE's
        # Bussi targets the kinetic-energy distribution of its own ndof (3N)
        dof = getattr(dyn, "ndof", 3 * len(atoms) - 3)
        return MDTrace(data[:, 0], data[:, 1], data[:, 2], data[:, 3], float(dof), len(atoms),
                       frames)


__all__ = ["MDTrace", "MDDriver", "TorchMD", "ASEMD"]
