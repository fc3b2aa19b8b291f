"""Thermostat kernels acting on an MD state in place: CSVR rescaling and Nosé–Hoover chains.

Each updates ``state.velocities`` and keeps ``state.reservoir`` (eV) so that
``energy + kinetic + reservoir`` is conserved by the extended dynamics.
"""

from __future__ import annotations

import math

import torch

from pesforge.simulate.state import MDState, kinetic_energy
from pesforge.units import KB

#: Suzuki–Yoshida fourth-order weights (three stages).
SUZUKI_YOSHIDA_3 = (1.0 / (2.0 - 2.0 ** (1 / 3)), 1.0 - 2.0 / (2.0 - 2.0 ** (1 / 3)),
                    1.0 / (2.0 - 2.0 ** (1 / 3)))


def _sum_of_squares(state: MDState, counts: torch.Tensor) -> torch.Tensor:
    """(S,) sum of ``counts[s]`` squared standard normals per system, drawn from the state's
    generator (counts[s] <= 3 N_s)."""
    noise = torch.randn(state.positions.shape, generator=state.generator,
                        dtype=torch.float64).to(state.device)
    offsets = torch.cumsum(state.n_atoms, 0) - state.n_atoms
    local = torch.arange(len(state.system), device=state.device) - offsets[state.system]
    k = 3 * local[:, None] + torch.arange(3, device=state.device)
    keep = k < counts[state.system, None]
    sq = torch.where(keep, noise * noise, torch.zeros_like(noise)).sum(-1)
    return torch.zeros(state.n_systems, dtype=torch.float64,
                       device=state.device).index_add(0, state.system, sq)


def csvr(state: MDState, dt: float, tau: float, temperature_K: float) -> None:
    """Stochastic velocity rescaling over ``dt`` fs with relaxation time ``tau`` fs.

    The new kinetic energy K' follows the exact solution of the CSVR stochastic equation
    (Bussi, Donadio & Parrinello 2007, appendix): with c = exp(-dt/tau), K0 = dof kT / 2,
    K' = c K + (1 - c) K0 (R1² + sum_{i<dof} R_i²) / dof + 2 R1 sqrt(c (1 - c) K K0 / dof).
    """
    kinetic = kinetic_energy(state)
    dof = state.dof
    target = 0.5 * dof * KB * temperature_K
    c = math.exp(-dt / tau) if tau > 0 else 0.0
    r1 = torch.randn(state.n_systems, generator=state.generator,
                     dtype=torch.float64).to(state.device)
    rest = _sum_of_squares(state, torch.floor(dof).long() - 1)
    new = (c * kinetic + (1 - c) * target * (r1 * r1 + rest) / dof
           + 2 * r1 * torch.sqrt(c * (1 - c) * kinetic * target / dof))
    scale = torch.where(kinetic > 0, torch.sqrt(new / kinetic.clamp_min(1e-300)),
                        torch.ones_like(kinetic))
    state.velocities *= scale[state.system, None]
    state.reservoir -= new - kinetic


def _chain_masses(state: MDState, tau: float, kT: float, length: int) -> torch.Tensor:
    q = torch.full((state.n_systems, length), kT * tau * tau, dtype=torch.float64,
                   device=state.device)
    q[:, 0] = state.dof * kT * tau * tau
    return q


def nose_hoover_chain_half_step(state: MDState, dt: float, tau: float,
                                temperature_K: float) -> None:
    """Propagate the thermostat chains (``state.extra['nhc_xi']``, ``['nhc_v']``, (S, M) in
    1 and 1/fs) and scale the velocities for half of the step ``dt`` fs."""
    xi, v = state.extra["nhc_xi"], state.extra["nhc_v"]
    M = v.shape[1]
    kT = KB * temperature_K
    q = _chain_masses(state, tau, kT, M)
    kinetic2 = 2.0 * kinetic_energy(state)
    total_scale = torch.ones(state.n_systems, dtype=torch.float64, device=state.device)

    def force(k, kin2):
        if k == 0:
            return (kin2 - state.dof * kT) / q[:, 0]
        return (q[:, k - 1] * v[:, k - 1] ** 2 - kT) / q[:, k]

    for w in SUZUKI_YOSHIDA_3:
        d = w * dt
        v[:, M - 1] += 0.25 * d * force(M - 1, kinetic2)
        for k in range(M - 2, -1, -1):
            damp = torch.exp(-0.125 * d * v[:, k + 1])
            v[:, k] = (v[:, k] * damp + 0.25 * d * force(k, kinetic2)) * damp
        scale = torch.exp(-0.5 * d * v[:, 0])
        total_scale *= scale
        kinetic2 = kinetic2 * scale * scale
        xi += 0.5 * d * v
        for k in range(M - 1):
            damp = torch.exp(-0.125 * d * v[:, k + 1])
            v[:, k] = (v[:, k] * damp + 0.25 * d * force(k, kinetic2)) * damp
        v[:, M - 1] += 0.25 * d * force(M - 1, kinetic2)
    state.velocities *= total_scale[state.system, None]


def nose_hoover_chain_energy(state: MDState, tau: float, temperature_K: float) -> torch.Tensor:
    """(S,) eV: sum Q_k v_k² / 2 + dof kT xi_1 + kT sum_{k>1} xi_k, the chains' share of the
    conserved energy."""
    xi, v = state.extra["nhc_xi"], state.extra["nhc_v"]
    kT = KB * temperature_K
    q = _chain_masses(state, tau, kT, v.shape[1])
    return (0.5 * q * v * v).sum(1) + state.dof * kT * xi[:, 0] + kT * xi[:, 1:].sum(1)
