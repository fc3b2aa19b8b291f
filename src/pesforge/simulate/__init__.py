"""Torch-native molecular dynamics: a batched state, integrators as ``(init, step)``, and a
runner that owns the loop, logs, trajectories, checkpoints and the uncertainty ceiling.

    state = init_state([atoms] * 8, temperature_K=300, seed=0)
    ff = ForceField(potential, skin=1.0)
    result = run(state, Langevin(timestep_fs=1.0, temperature_K=300), ff, steps=1000)
"""

from pesforge.simulate.barostat import StochasticCellRescaling
from pesforge.simulate.checkpoint import load_checkpoint, save_checkpoint
from pesforge.simulate.forcefield import ForceField
from pesforge.simulate.integrators import (INTEGRATORS, Bussi, Integrator, Langevin,
                                           NoseHooverChain, VelocityVerlet, build_integrator)
from pesforge.simulate.reporters import records
from pesforge.simulate.runner import RunResult, resume, run
from pesforge.simulate.state import (MDState, init_state, kinetic_energy, maxwell_boltzmann,
                                     pressure_tensor, temperature)

__all__ = ["MDState", "init_state", "kinetic_energy", "temperature", "pressure_tensor",
           "maxwell_boltzmann", "ForceField", "Integrator", "VelocityVerlet", "Langevin", "Bussi",
           "NoseHooverChain", "StochasticCellRescaling", "INTEGRATORS", "build_integrator",
           "run", "resume", "RunResult", "records", "save_checkpoint", "load_checkpoint"]
