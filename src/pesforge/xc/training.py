"""Training the learned functional against reference energy differences.

Non-self-consistent: each species' density is fixed (from a PBE, or the current model's, SCF) and
E[theta] = E_rest + E_xc^theta[n] with E_rest = E_tot - E_xc at that density. With
``scf_every = k > 0`` the densities are re-converged with the current model every k steps
(SCF in the loop): at a converged SCF the variational principle makes dE_SCF/dtheta =
dE_xc^theta[n]/dtheta at fixed n (Hellmann–Feynman), so the gradient at each refresh is exact.

Exact conditions that are not built in enter as penalties: one-electron self-interaction
freedom E_xc[n] + J[n] = 0 (H atom, H2+).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from pesforge.xc.features import base_correlation, density_on_grid, spin_variables, to_torch
from pesforge.xc.functional import NeuralXC, NeuralXCConfig
from pesforge.xc.pyscf_hook import make_ks
from pesforge.xc.references import Reaction, atomisation, build_mol, ionisation

HARTREE_TO_KCAL = 627.509474


class XCTrainConfig(BaseModel):
    """What to fit and how (energies in Hartree internally, losses in (kcal/mol)^2)."""

    model_config = ConfigDict(extra="forbid")
    reactions: list[str] = Field(default_factory=lambda: ["AE(H2)", "AE(LiH)", "IP(Li)"],
                                 description="AE(X) atomisation or IP(X) ionisation energies.")
    sie_species: list[str] = Field(default_factory=lambda: ["H", "H2+"],
                                   description="One-electron systems for the SIE penalty.")
    sie_weight: float = Field(1.0, ge=0, description="Weight of the SIE penalty.")
    steps: int = Field(100, ge=0)
    lr: float = Field(1e-2, gt=0)
    scf_every: int = Field(0, ge=0, description="Re-converge densities every k steps (0: never).")
    basis: str = "cc-pvdz"
    grid_level: int = Field(1, ge=0, le=9)
    seed: int = 0
    model: NeuralXCConfig = Field(default_factory=NeuralXCConfig)


def parse_reaction(text: str) -> Reaction:
    """``AE(X)`` or ``IP(X)`` -> :class:`Reaction`."""
    kinds = {"AE": atomisation, "IP": ionisation}
    head, _, rest = text.partition("(")
    if head not in kinds or not rest.endswith(")"):
        raise ValueError(f"reaction {text!r}: expected AE(species) or IP(species)")
    return kinds[head](rest[:-1])


@dataclass
class FixedDensitySample:
    """One species at a fixed density on its grid: weights (N,), spin variables (N,) each,
    base correlation energy per volume (N,), E_rest = E_tot - E_xc (Ha), Coulomb J[n] (Ha)."""

    name: str
    weights: torch.Tensor
    variables: dict[str, torch.Tensor]
    ec_base: torch.Tensor
    e_rest: float
    coulomb: float
    dm: np.ndarray
    converged: bool

    def energy(self, model: NeuralXC) -> torch.Tensor:
        """Total energy (Ha) with ``model``'s E_xc at this density (differentiable in theta)."""
        return self.e_rest + self.xc_energy(model)

    def xc_energy(self, model: NeuralXC) -> torch.Tensor:
        v = self.variables
        e = model.energy_density(v["n_a"], v["n_b"], v["sigma_aa"], v["sigma_ab"],
                                 v["sigma_bb"], self.ec_base)
        return (self.weights * e).sum()


def prepare_sample(name: str, mol, model: NeuralXC | None = None, grid_level: int = 1,
                   dm0=None) -> FixedDensitySample:
    """Converge ``mol`` with ``model`` (None: PBE) and freeze its density on the grid."""
    mf = make_ks(mol, model, grid_level=grid_level, conv_tol=1e-9)
    mf.kernel(dm0=dm0)
    dm = mf.make_rdm1()
    rho = density_on_grid(mol, mf.grids, dm)
    nr = mf._numint.nr_rks if dm.ndim == 2 else mf._numint.nr_uks
    exc = nr(mol, mf.grids, mf.xc, dm)[1]
    dm_total = dm if dm.ndim == 2 else dm[0] + dm[1]
    coulomb = 0.5 * float(np.einsum("ij,ji->", mf.get_j(mol, dm_total), dm_total))
    return FixedDensitySample(
        name=name, weights=torch.as_tensor(mf.grids.weights), variables=to_torch(
            spin_variables(rho)), ec_base=torch.as_tensor(base_correlation(rho)[0]),
        e_rest=float(mf.e_tot - exc), coulomb=coulomb, dm=dm, converged=bool(mf.converged))


@dataclass
class XCTrainResult:
    model: NeuralXC
    history: list[dict]
    samples: dict[str, FixedDensitySample]


def _losses(model, reactions, refs, samples, sie_species):
    energies = {k: s.energy(model) for k, s in samples.items()}
    fit = torch.stack([sum(c * energies[sp] for sp, c in r.terms) - sum(
        c * refs[sp] for sp, c in r.terms) for r in reactions]) * HARTREE_TO_KCAL
    sie = [(samples[sp].xc_energy(model) + samples[sp].coulomb) * HARTREE_TO_KCAL
           for sp in sie_species]
    sie_loss = torch.stack(sie).pow(2).mean() if sie else torch.zeros((), dtype=torch.float64)
    return fit.pow(2).mean(), sie_loss


def train_xc(config: XCTrainConfig, references: dict[str, float],
             output: str | Path | None = None) -> XCTrainResult:
    """Fit a :class:`NeuralXC` to ``references`` (species -> total energy, Ha); with
    ``output``, write ``xc.safetensors`` and ``history.json`` there (atomically)."""
    torch.manual_seed(config.seed)
    reactions = [parse_reaction(r) for r in config.reactions]
    species = sorted({sp for r in reactions for sp, _ in r.terms} | set(config.sie_species))
    missing = [sp for r in reactions for sp, _ in r.terms if sp not in references]
    if missing:
        raise KeyError(f"no reference energy for {sorted(set(missing))} (needed by reactions)")
    mols = {sp: build_mol(sp, config.basis) for sp in species}
    for sp in config.sie_species:
        if mols[sp].nelectron != 1:
            raise ValueError(f"SIE penalty species {sp!r} has {mols[sp].nelectron} electrons")
    model = NeuralXC(config.model)
    samples = {sp: prepare_sample(sp, mols[sp], None, config.grid_level) for sp in species}
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    history, t0 = [], time.perf_counter()
    for step in range(config.steps):
        if config.scf_every and step and step % config.scf_every == 0:
            samples = {sp: prepare_sample(sp, mols[sp], model, config.grid_level,
                                          samples[sp].dm) for sp in species}
        fit, sie = _losses(model, reactions, references, samples, config.sie_species)
        loss = fit + config.sie_weight * sie
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append({"step": step, "fit_rmse_kcal": float(fit.detach().sqrt()),
                        "sie_rms_kcal": float(sie.detach().sqrt()),
                        "seconds": round(time.perf_counter() - t0, 3)})
    if output is not None:
        from pesforge.fileio import write_json
        from pesforge.xc.functional import save_functional

        output = Path(output)
        save_functional(model, output / "xc.safetensors",
                        extra={"train_config": config.model_dump()})
        write_json(output / "history.json", history)
    return XCTrainResult(model=model, history=history, samples=samples)


def scf_energies(model: NeuralXC | None, names, basis: str = "cc-pvdz", grid_level: int = 1
                 ) -> dict[str, dict]:
    """Self-consistent total energies (Ha), convergence and SCF cycle counts per species."""
    out = {}
    for name in names:
        mf = make_ks(build_mol(name, basis), model, grid_level=grid_level, conv_tol=1e-9)
        mf.kernel()
        out[name] = {"energy": float(mf.e_tot), "converged": bool(mf.converged),
                     "cycles": int(getattr(mf, "cycles", -1))}
    return out


def reaction_errors(energies: dict[str, float], references: dict[str, float], reactions
                    ) -> dict[str, float]:
    """Predicted minus reference reaction energy (kcal/mol) for each reaction text."""
    out = {}
    for text in reactions:
        r = parse_reaction(text)
        out[text] = HARTREE_TO_KCAL * sum(
            c * (energies[sp] - references[sp]) for sp, c in r.terms)
    return out
