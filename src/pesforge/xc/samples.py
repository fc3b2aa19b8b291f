"""Fixed-density samples for training: a system's density frozen on its integration grid, so
that its total energy with any functional theta is E_rest + E_xc^theta[n] (Hartree).

E_rest = E_nuc + tr(h D) + J[D] depends only on the density matrix D, so a sample is rebuilt
exactly from D alone (that is what a training checkpoint stores). Occupations may be
fractional (n_alpha, n_beta electrons in the lowest orbitals of each spin, the last one partly
filled; Janak, PRB 18, 7165 (1978)): the states of the fractional-charge and fractional-spin
conditions (Perdew, Parr, Levy, Balduz, PRL 49, 1691 (1982); Cohen, Mori-Sánchez, Yang,
Science 321, 792 (2008)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from pesforge.xc.features import base_correlation, density_on_grid, spin_variables, to_torch
from pesforge.xc.functional import NeuralXC
from pesforge.xc.pyscf_hook import make_ks


@dataclass(frozen=True)
class State:
    """A species (a name in :data:`pesforge.xc.references.SPECIES`) with, optionally, fixed
    (possibly fractional) electron counts per spin; None: its integer ground state (RKS for a
    closed shell, UKS otherwise)."""

    species: str
    occupation: tuple[float, float] | None = None

    @property
    def name(self) -> str:
        if self.occupation is None:
            return self.species
        return f"{self.species}[{self.occupation[0]:g}a,{self.occupation[1]:g}b]"


@dataclass
class FixedDensitySample:
    """One system at a fixed density on its grid: weights (N,), spin variables (N,) each (with
    tau_a, tau_b), base correlation energy per volume (N,), E_rest = E_tot - E_xc (Ha), Coulomb
    J[n] (Ha), the density matrix ((nao, nao) or (2, nao, nao)) and SCF convergence."""

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
        """E_xc^theta[n] (Ha), a 0-d tensor."""
        v = self.variables
        e = model.energy_density(v["n_a"], v["n_b"], v["sigma_aa"], v["sigma_ab"],
                                 v["sigma_bb"], self.ec_base, v.get("tau_a"), v.get("tau_b"))
        return (self.weights * e).sum()


def occupation_numbers(n_electrons: float, nmo: int) -> np.ndarray:
    """(nmo,) occupations of one spin: the lowest floor(n) orbitals full, the next one holding
    the fraction n - floor(n)."""
    if not 0 <= n_electrons <= nmo:
        raise ValueError(f"{n_electrons} electrons do not fit in {nmo} spin orbitals")
    occ = np.zeros(nmo)
    full = math.floor(n_electrons)
    occ[:full] = 1.0
    if full < nmo:
        occ[full] = n_electrons - full
    return occ


def make_state_ks(mol, occupation: tuple[float, float], model: NeuralXC | None = None,
                  grid_level: int = 1, **kwargs):
    """A UKS object holding ``occupation`` = (n_alpha, n_beta) electrons (may be fractional)
    in its lowest orbitals of each spin (aufbau, re-applied every SCF cycle); ``kwargs`` as
    for :func:`pesforge.xc.pyscf_hook.make_ks` (``xc="HF"`` gives Hartree–Fock)."""
    from pyscf import dft

    from pesforge.xc.pyscf_hook import attach

    n_a, n_b = (float(x) for x in occupation)
    mf = dft.UKS(mol)
    mf.xc = "PBE,PBE"
    mf.grids.level = grid_level
    for k, v in kwargs.items():
        setattr(mf, k, v)

    def get_occ(mo_energy=None, mo_coeff=None):
        nmo = np.asarray(mo_energy[0]).size
        return np.stack([occupation_numbers(n_a, nmo), occupation_numbers(n_b, nmo)])

    mf.get_occ = get_occ
    return mf if model is None else attach(mf, model)


def sample_from_dm(name: str, mol, grids, dm: np.ndarray, converged: bool = True
                   ) -> FixedDensitySample:
    """The sample of density matrix ``dm`` on ``grids`` (built and kept as is)."""
    from pyscf import scf

    dm = np.asarray(dm)
    dm_total = dm if dm.ndim == 2 else dm[0] + dm[1]
    coulomb = 0.5 * float(np.einsum("ij,ji->", scf.hf.get_jk(mol, dm_total, with_k=False)[0],
                                    dm_total))
    e_rest = float(mol.energy_nuc() + np.einsum("ij,ji->", scf.hf.get_hcore(mol), dm_total)
                   + coulomb)
    rho = density_on_grid(mol, grids, dm, xctype="MGGA")
    return FixedDensitySample(
        name=name, weights=torch.as_tensor(grids.weights), variables=to_torch(
            spin_variables(rho)), ec_base=torch.as_tensor(base_correlation(rho)[0]),
        e_rest=e_rest, coulomb=coulomb, dm=dm, converged=converged)


def state_ks(state: State, mol, model: NeuralXC | None = None, grid_level: int = 1, **kwargs):
    """The (R/U)KS object of ``state`` (see :func:`make_state_ks` and ``make_ks``)."""
    if state.occupation is None:
        return make_ks(mol, model, grid_level=grid_level, **kwargs)
    return make_state_ks(mol, state.occupation, model, grid_level=grid_level, **kwargs)


def converge_state(state: State, mol, model: NeuralXC | None = None, grid_level: int = 1,
                   dm0=None) -> FixedDensitySample:
    """Converge ``state`` with ``model`` (None: PBE) and freeze its density on the grid; a
    state with no electrons is the bare nuclei (E = E_nuc, no SCF)."""
    if state.occupation is not None and sum(state.occupation) == 0:
        return rebuild_sample(state, mol, np.zeros((2, mol.nao_nr(), mol.nao_nr())), grid_level)
    mf = state_ks(state, mol, model, grid_level=grid_level, conv_tol=1e-9)
    mf.kernel(dm0=dm0)
    return sample_from_dm(state.name, mol, mf.grids, mf.make_rdm1(), bool(mf.converged))


def rebuild_sample(state: State, mol, dm: np.ndarray, grid_level: int = 1,
                   converged: bool = True) -> FixedDensitySample:
    """The sample of a stored density matrix (no SCF) on the grid an SCF of ``state`` builds
    (PySCF prunes no grid points by density unless ``small_rho_cutoff`` is set)."""
    mf = state_ks(state, mol, None, grid_level=grid_level)
    mf.grids.build(with_non0tab=True)
    return sample_from_dm(state.name, mol, mf.grids, dm, converged)


def prepare_sample(name: str, mol, model: NeuralXC | None = None, grid_level: int = 1,
                   dm0=None) -> FixedDensitySample:
    """Converge the integer ground state of ``mol`` with ``model`` (None: PBE) and freeze its
    density on the grid (``name`` labels the sample)."""
    return converge_state(State(name), mol, model, grid_level, dm0)
