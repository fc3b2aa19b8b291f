"""The MD state: positions, velocities and everything a step needs, batched over systems.

An :class:`MDState` lives on one device and holds many independent systems concatenated along
the atom axis (as a pesforge batch). Dynamics variables are float64 whatever the model's dtype.
Units: Å, Å/fs, amu, eV, fs. Kinetic energy K = sum m v² / 2 * :data:`MVV2E`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.units import FS_TO_ASE_TIME, KB

#: 1 amu Å²/fs² in eV (ASE's time unit is Å sqrt(amu/eV)).
MVV2E = 1.0 / FS_TO_ASE_TIME**2


@dataclass
class MDState:
    """Everything an integrator step reads and writes.

    Attributes:
        positions: (A, 3) Å, float64, unwrapped.
        velocities: (A, 3) Å/fs, float64.
        masses: (A,) amu, float64.
        atomic_numbers: (A,) int64.
        system: (A,) int64 system index of each atom; n_atoms: (S,) int64.
        cell: (S, 3, 3) Å, rows are cell vectors; pbc: (S, 3) bool.
        dof: (S,) float64 kinetic degrees of freedom (3N - 3 with the centre of mass fixed).
        forces: (A, 3) eV/Å, energy: (S,) eV, stress: (S, 3, 3) eV/Å³ (zeros unless computed).
        reservoir: (S,) eV, energy exchanged with thermostats/barostats so that
            ``energy + kinetic + reservoir`` is the conserved quantity.
        extra: integrator variables (thermostat chains, ...), per-system tensors.
        outputs: other model outputs of the last evaluation (e.g. uncertainty ``*_std`` keys).
        step: steps done; time_fs: simulated time.
        generator: the random stream of the stochastic integrators (a CPU generator, so
            runs are reproducible on any device; checkpointed).
        initialized: forces and integrator variables are set (runners call ``init`` if not).
    """

    positions: torch.Tensor
    velocities: torch.Tensor
    masses: torch.Tensor
    atomic_numbers: torch.Tensor
    system: torch.Tensor
    n_atoms: torch.Tensor
    cell: torch.Tensor
    pbc: torch.Tensor
    dof: torch.Tensor
    forces: torch.Tensor
    energy: torch.Tensor
    stress: torch.Tensor
    reservoir: torch.Tensor
    extra: dict[str, torch.Tensor] = field(default_factory=dict)
    outputs: dict[str, torch.Tensor] = field(default_factory=dict)
    step: int = 0
    time_fs: float = 0.0
    generator: torch.Generator | None = None
    initialized: bool = False

    @property
    def device(self) -> torch.device:
        return self.positions.device

    @property
    def n_systems(self) -> int:
        return int(self.n_atoms.shape[0])

    def batch(self, dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
        """The structure keys of a pesforge batch (no edges), positions/cell cast to ``dtype``."""
        return {K.POSITIONS: self.positions.to(dtype), K.ATOMIC_NUMBERS: self.atomic_numbers,
                K.SYSTEM: self.system, K.N_ATOMS: self.n_atoms, K.CELL: self.cell.to(dtype),
                K.PBC: self.pbc}

    def volume(self) -> torch.Tensor:
        """(S,) Å³; zero for systems without a full cell."""
        return torch.linalg.det(self.cell).abs()

    def to_atoms(self, index: int):
        """System ``index`` as an :class:`ase.Atoms` with velocities, energy and forces."""
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        sel = self.system == index
        atoms = Atoms(numbers=self.atomic_numbers[sel].cpu().numpy(),
                      positions=self.positions[sel].cpu().numpy(),
                      cell=self.cell[index].cpu().numpy(), pbc=self.pbc[index].cpu().numpy())
        atoms.set_masses(self.masses[sel].cpu().numpy())
        atoms.set_velocities(self.velocities[sel].cpu().numpy() / FS_TO_ASE_TIME)
        stress = None  # only when evaluated (a barostat's force field computes it)
        if bool(self.pbc[index].all()) and bool(self.stress[index].any()):
            from ase.stress import full_3x3_to_voigt_6_stress

            stress = full_3x3_to_voigt_6_stress(self.stress[index].cpu().numpy())
        atoms.calc = SinglePointCalculator(atoms, energy=float(self.energy[index]),
                                           forces=self.forces[sel].cpu().numpy(), stress=stress)
        atoms.info.update(system=index, step=self.step, time_fs=self.time_fs)
        return atoms


def kinetic_energy(state: MDState) -> torch.Tensor:
    """(S,) kinetic energy in eV."""
    per_atom = 0.5 * MVV2E * state.masses * (state.velocities**2).sum(-1)
    return torch.zeros(state.n_systems, dtype=torch.float64,
                       device=state.device).index_add(0, state.system, per_atom)


def kinetic_tensor(state: MDState) -> torch.Tensor:
    """(S, 3, 3) sum m v_a v_b in eV (twice the kinetic-energy tensor)."""
    mvv = MVV2E * state.masses[:, None, None] * state.velocities[:, :, None] * \
        state.velocities[:, None, :]
    return torch.zeros(state.n_systems, 3, 3, dtype=torch.float64,
                       device=state.device).index_add(0, state.system, mvv)


def temperature(state: MDState) -> torch.Tensor:
    """(S,) instantaneous temperature 2K / (dof k_B) in K."""
    return 2.0 * kinetic_energy(state) / (state.dof * KB)


def pressure_tensor(state: MDState) -> torch.Tensor:
    """(S, 3, 3) instantaneous pressure tensor (sum m v v)/V - stress in eV/Å³ (needs the
    stress from an evaluation with stress); zero for systems without a volume."""
    volume = state.volume()
    safe = torch.where(volume > 0, volume, torch.ones_like(volume))
    p = kinetic_tensor(state) / safe[:, None, None] - state.stress
    return torch.where((volume > 0)[:, None, None], p, torch.zeros_like(p))


def remove_com_velocity(state: MDState) -> None:
    """Set each system's centre-of-mass velocity to zero (in place)."""
    S = state.n_systems
    mass = torch.zeros(S, dtype=torch.float64, device=state.device).index_add(
        0, state.system, state.masses)
    momentum = torch.zeros(S, 3, dtype=torch.float64, device=state.device).index_add(
        0, state.system, state.masses[:, None] * state.velocities)
    state.velocities -= (momentum / mass[:, None])[state.system]


def maxwell_boltzmann(state: MDState, temperature_K: float | Sequence[float], *,
                      remove_com: bool = True, rescale: bool = True) -> None:
    """Draw velocities (in place) from the Maxwell–Boltzmann distribution at ``temperature_K``
    (one value or one per system), using ``state.generator``. ``rescale`` makes each system's
    instantaneous temperature exactly the target."""
    temps = torch.as_tensor(temperature_K, dtype=torch.float64, device=state.device)
    temps = temps.expand(state.n_systems) if temps.ndim == 0 else temps
    sd = torch.sqrt(KB * temps[state.system] / (state.masses * MVV2E))
    noise = torch.randn(state.positions.shape, generator=state.generator, dtype=torch.float64,
                        device="cpu").to(state.device)
    state.velocities = noise * sd[:, None]
    if remove_com:
        remove_com_velocity(state)
    if rescale:
        current = temperature(state)
        factor = torch.where(current > 0, torch.sqrt(temps / current.clamp_min(1e-300)),
                             torch.zeros_like(current))
        state.velocities *= factor[state.system, None]


def init_state(systems, *, device: str | torch.device = "cpu", temperature_K: float = 0.0,
               seed: int = 0, remove_com: bool = True) -> MDState:
    """An MD state from one or many :class:`ase.Atoms` (or pesforge ``Frame``\\ s).

    Masses come from the atoms (ASE's standard masses by default). Velocities are taken from
    the atoms when ``temperature_K`` is 0 and any are set, otherwise drawn at ``temperature_K``
    with the seeded generator. ``dof`` is 3N - 3 when ``remove_com`` else 3N.
    """
    from ase import Atoms

    from pesforge.data.frame import Frame

    if isinstance(systems, (Atoms, Frame)):
        systems = [systems]
    atoms_list = [s.to_atoms() if isinstance(s, Frame) else s for s in systems]
    if not atoms_list:
        raise ValueError("init_state needs at least one system")
    for n, atoms in enumerate(atoms_list):
        if len(atoms) == 0:
            raise ValueError(f"system {n} has no atoms")
        if atoms.pbc.any() and atoms.cell.rank < int(atoms.pbc.sum()):
            raise ValueError(f"system {n}: periodic directions {atoms.pbc.tolist()} need "
                             f"cell vectors, got cell {atoms.cell.array.tolist()}")
    device = torch.device(device)
    f64 = dict(dtype=torch.float64, device=device)
    counts = np.array([len(a) for a in atoms_list])

    def cat(get):
        return np.concatenate([get(a) for a in atoms_list])

    n_atoms = torch.as_tensor(counts, device=device)
    A, S = int(counts.sum()), len(atoms_list)
    dof = 3.0 * n_atoms.to(torch.float64) - (3.0 if remove_com else 0.0)
    state = MDState(
        positions=torch.as_tensor(cat(lambda a: a.positions), **f64),
        velocities=torch.as_tensor(cat(lambda a: a.get_velocities()), **f64) * FS_TO_ASE_TIME,
        masses=torch.as_tensor(cat(lambda a: a.get_masses()), **f64),
        atomic_numbers=torch.as_tensor(cat(lambda a: a.numbers), device=device),
        system=torch.repeat_interleave(torch.arange(S, device=device), n_atoms),
        n_atoms=n_atoms,
        cell=torch.as_tensor(np.stack([a.cell.array for a in atoms_list]), **f64),
        pbc=torch.as_tensor(np.stack([a.pbc for a in atoms_list]), device=device),
        dof=dof.clamp_min(1.0),
        forces=torch.zeros(A, 3, **f64), energy=torch.zeros(S, **f64),
        stress=torch.zeros(S, 3, 3, **f64), reservoir=torch.zeros(S, **f64),
        generator=torch.Generator().manual_seed(seed),
    )
    if temperature_K > 0 or not state.velocities.abs().sum() > 0:
        maxwell_boltzmann(state, temperature_K, remove_com=remove_com)
    elif remove_com:
        remove_com_velocity(state)
    return state
