"""NPT by stochastic cell rescaling, isotropic and anisotropic, with a CSVR thermostat.

The cell follows a first-order stochastic equation for the logarithmic strain eps,
isotropic (Bernetti & Bussi, J. Chem. Phys. 153, 114107 (2020)):

    d eps_V = -(beta / tau_p) (P0 - P - kT / V) dt + sqrt(2 kT beta / (V tau_p)) dW

with eps_V = ln V; anisotropically each component of the (symmetric) strain rate follows the
same equation with the pressure tensor and beta / 3 (Del Tatto, Raiteri, Bernetti & Bussi,
Appl. Sci. 12, 1139 (2022), without their shear-stress refinements). Positions and cell
rows are scaled by exp(d eps), velocities by its inverse. The particles are thermostatted by
CSVR. P is the instantaneous pressure tensor (sum m v v) / V - sigma from the model stress.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from pesforge.simulate import thermostats as T
from pesforge.simulate.integrators import Integrator, _advance, _integrator, drift, kick
from pesforge.simulate.state import MDState, kinetic_energy, pressure_tensor
from pesforge.units import GPA, KB


def rescale_cell(state: MDState, dt: float, *, pressure_GPa: float, temperature_K: float,
                 tau_p: float, compressibility_per_GPa: float,
                 mode: Literal["isotropic", "orthorhombic", "triclinic"]) -> None:
    """One stochastic-cell-rescaling update over ``dt`` fs (in place), using
    ``state.stress`` from the last evaluation."""
    volume = state.volume()
    if bool((volume <= 0).any()) or not bool(state.pbc.all()):
        raise ValueError("the barostat needs cells periodic in three directions")
    kT = KB * temperature_K
    beta = compressibility_per_GPa / GPA  # Å³/eV
    p0 = pressure_GPa * GPA
    p = pressure_tensor(state)
    eye = torch.eye(3, dtype=torch.float64, device=state.device)
    S = state.n_systems
    noise = torch.randn(S, 3, 3, generator=state.generator, dtype=torch.float64).to(state.device)
    if mode == "isotropic":
        p_int = p.diagonal(dim1=1, dim2=2).sum(-1) / 3.0
        d_eps = (-(beta / tau_p) * (p0 - p_int - kT / volume) * dt
                 + torch.sqrt(2.0 * kT * beta * dt / (volume * tau_p)) * noise[:, 0, 0])
        strain = (d_eps / 3.0)[:, None, None] * eye
    else:
        drive = -(beta / (3.0 * tau_p)) * ((p0 - kT / volume)[..., None, None] * eye - p) * dt
        amp = torch.sqrt(2.0 * kT * beta * dt / (3.0 * volume * tau_p))[:, None, None]
        sym = torch.triu(noise) + torch.triu(noise, 1).transpose(1, 2)
        strain = drive + amp * sym
        if mode == "orthorhombic":
            strain = strain * eye
        else:
            strain = 0.5 * (strain + strain.transpose(1, 2))
    before = kinetic_energy(state)
    grow = torch.linalg.matrix_exp(strain)
    shrink = torch.linalg.matrix_exp(-strain)
    state.cell = torch.bmm(state.cell, grow)
    state.positions = torch.einsum("ai,aij->aj", state.positions, grow[state.system])
    state.velocities = torch.einsum("ai,aij->aj", state.velocities, shrink[state.system])
    state.reservoir -= kinetic_energy(state) - before


@_integrator("scr_npt")
@dataclass
class StochasticCellRescaling(Integrator):
    """NPT: CSVR thermostat (``tau_t_fs``) + stochastic cell rescaling (``tau_p_fs``) toward the
    hydrostatic ``pressure_GPa``; ``mode`` isotropic, orthorhombic (cell lengths independent)
    or triclinic (symmetric strain). ``compressibility_per_GPa`` only sets the coupling speed.
    ``reservoir`` tracks thermostat and scaling work on the kinetic energy only, so
    ``energy + kinetic + reservoir`` is not conserved under NPT.
    """

    needs_stress = True
    temperature_K: float = 300.0
    pressure_GPa: float = 0.0
    tau_t_fs: float = 100.0
    tau_p_fs: float = 1000.0
    compressibility_per_GPa: float = 0.5
    mode: Literal["isotropic", "orthorhombic", "triclinic"] = "isotropic"

    def __post_init__(self):
        if self.mode not in ("isotropic", "orthorhombic", "triclinic"):
            raise ValueError(f"barostat mode must be isotropic, orthorhombic or triclinic, "
                             f"got {self.mode!r}")

    def step(self, state, force_field):
        dt = self.timestep_fs
        T.csvr(state, 0.5 * dt, self.tau_t_fs, self.temperature_K)
        kick(state, 0.5 * dt)
        drift(state, dt)
        rescale_cell(state, dt, pressure_GPa=self.pressure_GPa, temperature_K=self.temperature_K,
                     tau_p=self.tau_p_fs, compressibility_per_GPa=self.compressibility_per_GPa,
                     mode=self.mode)
        force_field(state)
        kick(state, 0.5 * dt)
        T.csvr(state, 0.5 * dt, self.tau_t_fs, self.temperature_K)
        return _advance(state, dt)
