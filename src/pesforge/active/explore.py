"""Exploration: Langevin MD driven by the committee's mean forces, with optional bias, or by a
cheap reference method (a *driver* oracle such as GFN2-xTB) with the committee as the judge.

Every ``sample_every`` steps the current structure becomes a *candidate* with its committee
uncertainty (max per-atom force std, eV/Å, and energy std, eV). A committee-driven trajectory
stops as soon as the max force std exceeds the ceiling, so the committee never drives into
nonsense; the frame that crossed the ceiling is kept (it is the most informative one). A
driver's trajectory runs its full length; a failed driver call ends it.

Biases (:class:`~pesforge.active.config.BiasConfig`):

* uncertainty bias, ``E_b = -k sigma_E`` (Kulichenko et al., Nat. Comput. Sci. 1, 230 (2021)):
  with sigma_E² = mean_m (E_m - <E>)², its force is
  ``F_b = -dE_b/dR = -(k / (M sigma_E)) sum_m (E_m - <E>) (F_m - <F>)``;
* metadynamics on a distance collective variable (Laio & Parrinello, PNAS 99, 12562 (2002)):
  Gaussian hills ``h exp(-(s - s_k)² / 2w²)`` added every ``pace`` steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from pesforge import units
from pesforge.active.config import BiasConfig, ExploreConfig
from pesforge.data import keys as K
from pesforge.data.frame import Frame
from pesforge.oracles.base import Oracle, OracleFailure


@dataclass
class Candidate:
    """One explored structure: the frame, its max per-atom force std (eV/Å), energy std (eV),
    and where it came from."""

    frame: Frame
    max_force_std: float
    energy_std: float
    origin: str


class CommitteeCalculator(Calculator):
    """ASE calculator: committee-mean energy and forces plus an optional bias; the last
    call's ``forces_std`` (A,) eV/Å and ``energy_std`` eV are in ``results``.

    Args:
        ensemble: a :class:`~pesforge.uncertainty.Ensemble`.
        bias: an optional :class:`BiasConfig`.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, ensemble, bias: BiasConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        self.ensemble = ensemble.eval()
        self.bias = bias
        self.hills: list[float] = []  # metadynamics hill centres, Å

    def collective_variable(self, atoms) -> tuple[float, np.ndarray]:
        """The distance CV (Å) and its unit vector from atom i to atom j."""
        i, j = self.bias.atoms
        vector = atoms.get_distance(i, j, mic=True, vector=True)
        distance = float(np.linalg.norm(vector))
        return distance, vector / distance

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        from pesforge.data.batch import collate
        from pesforge.uncertainty import ensemble_compute

        super().calculate(atoms, properties, system_changes)
        periodic = bool(np.all(self.atoms.pbc)) and self.atoms.cell.rank == 3
        frame = Frame.from_atoms(self.atoms, source="<exploration>")
        frame.info = {}
        batch = collate([frame], self.ensemble.cutoff, dtype=self.ensemble.dtype)
        out = ensemble_compute(self.ensemble, batch, stress=periodic, members=True)
        energy = float(out[K.ENERGY][0])
        forces = out[K.FORCES].double().numpy().copy()
        sigma_e = float(out[K.ENERGY_STD][0])
        bias_energy = 0.0
        e_m = out["member_energy"][:, 0].double().numpy()  # (M,)
        sigma_raw = float(e_m.std())  # the bias uses the unscaled committee spread
        if self.bias is not None and self.bias.kind == "uncertainty" and sigma_raw > 1e-12:
            f_m = out["member_forces"].double().numpy()  # (M, A, 3)
            bias_energy = -self.bias.strength * sigma_raw
            forces -= self.bias.strength / (len(e_m) * sigma_raw) * np.einsum(
                "m,mai->ai", e_m - e_m.mean(), f_m - f_m.mean(0))
        elif self.bias is not None and self.bias.kind == "metadynamics" and self.hills:
            s, unit = self.collective_variable(self.atoms)
            centres = np.asarray(self.hills)
            g = self.bias.height * np.exp(-(s - centres) ** 2 / (2 * self.bias.width ** 2))
            bias_energy = float(g.sum())
            dv_ds = float((-(s - centres) / self.bias.width ** 2 * g).sum())
            i, j = self.bias.atoms
            forces[j] -= dv_ds * unit  # ds/dr_j = unit, ds/dr_i = -unit
            forces[i] += dv_ds * unit
        self.results = {"energy": energy + bias_energy, "free_energy": energy + bias_energy,
                        "forces": forces, "energy_std": sigma_e,
                        "forces_std": out[K.FORCES_STD].double().numpy(),
                        "bias_energy": bias_energy}
        if periodic:
            self.results["stress"] = full_3x3_to_voigt_6_stress(
                out[K.STRESS][0].double().numpy())


def run_trajectory(ensemble, start: Frame, config: ExploreConfig, temperature: float,
                   strain: float, seed: Sequence[int], origin: str,
                   driver: Oracle | None = None) -> list[Candidate]:
    """One Langevin trajectory from ``start`` at ``temperature`` K (cell scaled by
    ``1 + strain`` when periodic), on the committee's mean forces or, if given, the
    ``driver`` oracle's; returns its candidates."""
    from ase.md.langevin import Langevin
    from ase.md import velocitydistribution as vd

    from pesforge.interfaces.oracle_calculator import OracleCalculator

    atoms = Frame(numbers=start.numbers, positions=start.positions, cell=start.cell,
                  pbc=start.pbc).to_atoms()
    if strain and np.all(atoms.pbc):
        atoms.set_cell(atoms.cell.array * (1.0 + strain), scale_atoms=True)
    calc = CommitteeCalculator(ensemble, config.bias)
    atoms.calc = calc if driver is None else OracleCalculator(driver)
    rng = np.random.default_rng(list(seed))
    thermalize = getattr(vd, "thermalize_momenta", vd.MaxwellBoltzmannDistribution)
    thermalize(atoms, temperature_K=temperature, rng=rng)
    dyn = Langevin(atoms, timestep=config.timestep * units.FS_TO_ASE_TIME,
                   temperature_K=temperature, friction=config.friction / units.FS_TO_ASE_TIME,
                   fixcm=False, rng=rng)
    candidates = []
    for step in range(1, config.n_steps + 1):
        try:
            dyn.run(1)
        except OracleFailure:  # only a driver raises it; its trajectory ends here
            break
        bias = config.bias
        if bias is not None and bias.kind == "metadynamics" and step % bias.pace == 0:
            calc.hills.append(calc.collective_variable(atoms)[0])
        sampled = step % config.sample_every == 0
        if driver is not None and not sampled:
            continue
        if driver is not None:  # the committee judges the driver's frame
            calc.calculate(atoms, ["forces"])
        max_std = float(np.max(calc.results["forces_std"]))
        if not np.isfinite(max_std) or not np.all(np.isfinite(atoms.positions)):
            break
        over = driver is None and max_std > config.uncertainty_ceiling
        if sampled or over:
            frame = Frame(numbers=atoms.numbers, positions=atoms.positions.copy(),
                          cell=atoms.cell.array.copy(), pbc=atoms.pbc,
                          source=f"{origin} step {step}")
            candidates.append(Candidate(frame, max_std, float(calc.results["energy_std"]),
                                        f"{origin} step {step}"))
        if over:
            break
    return candidates


def explore(ensemble, starts: Sequence[Frame], config: ExploreConfig,
            seed: Sequence[int], driver: Oracle | None = None) -> list[Candidate]:
    """Run one trajectory per start x temperature x strain (strains only for periodic
    starts); trajectory ``t`` uses the random stream ``[*seed, t]``. ``driver``: the oracle
    built from ``config.driver`` (see :func:`run_trajectory`)."""
    candidates: list[Candidate] = []
    t = 0
    for s, start in enumerate(starts):
        strains = config.strains if np.all(start.pbc) else [0.0]
        for temperature in config.temperatures:
            for strain in strains:
                origin = f"start {s} T={temperature:g}K strain={strain:g}"
                candidates += run_trajectory(ensemble, start, config, temperature, strain,
                                             [*seed, t], origin, driver)
                t += 1
    return candidates
