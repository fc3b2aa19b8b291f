"""Exact conditions that the learned functional does not satisfy by construction, as linear
combinations of state energies that vanish for the exact functional; training penalises their
squares.

* Fractional-charge linearity (Perdew, Parr, Levy, Balduz, PRL 49, 1691 (1982)): between
  integer electron numbers E(N) is a straight line, so
  E(N - 1/2) - 1/2 [E(N - 1) + E(N)] = 0. Semilocal functionals are convex here
  (delocalisation error; Mori-Sánchez, Cohen, Yang, PRL 100, 146401 (2008)).
* Fractional-spin constancy (Cohen, Mori-Sánchez, Yang, JCP 129, 121104 (2008)): a
  one-unpaired-electron system with its unpaired electron half alpha, half beta has the
  integer-spin energy, E(n_a - 1/2, n_b + 1/2) - E(n_a, n_b) = 0 (static-correlation error).
* One-electron self-interaction freedom, E_xc[n] + J[n] = 0, is a property of one sample and is
  kept in :mod:`pesforge.xc.training`.

The states are electron counts per spin (see :class:`pesforge.xc.samples.State`); the cation
of a closed shell loses a beta electron, of an open shell an alpha one (n_a >= n_b).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pesforge.xc.samples import FixedDensitySample, State


@dataclass(frozen=True)
class Condition:
    """sum_k coef_k E(state_k) = 0 for the exact functional (energies in Ha)."""

    name: str
    terms: tuple[tuple[State, float], ...]

    @property
    def states(self) -> tuple[State, ...]:
        return tuple(state for state, _ in self.terms)


def electron_counts(mol) -> tuple[int, int]:
    """(n_alpha, n_beta) of a PySCF molecule (its charge and spin)."""
    n_a, n_b = mol.nelec
    return int(n_a), int(n_b)


def fractional_charge(species: str, mol, delta: float = 0.5) -> Condition:
    """E(N - delta) - (1 - delta) E(N) - delta E(N - 1) = 0 for ``species`` with N electrons
    (``mol`` is its PySCF molecule); delta in (0, 1)."""
    if not 0.0 < delta < 1.0:
        raise ValueError(f"fractional-charge delta {delta} must lie in (0, 1)")
    n_a, n_b = electron_counts(mol)
    if n_a + n_b < 1:
        raise ValueError(f"{species} has no electron to remove")
    lose_alpha = n_a > n_b
    removed = (lambda x: (n_a - x, n_b)) if lose_alpha else (lambda x: (n_a, n_b - x))
    return Condition(f"FC({species})", (
        (State(species, removed(delta)), 1.0),
        (State(species, (float(n_a), float(n_b))), -(1.0 - delta)),
        (State(species, removed(1.0)), -delta)))


def fractional_spin(species: str, mol) -> Condition:
    """E(n_a - 1/2, n_b + 1/2) - E(n_a, n_b) = 0 for ``species`` with one unpaired electron."""
    n_a, n_b = electron_counts(mol)
    if n_a - n_b != 1:
        raise ValueError(f"fractional spin needs one unpaired electron; {species} has "
                         f"{n_a - n_b}")
    return Condition(f"FS({species})", (
        (State(species, (n_a - 0.5, n_b + 0.5)), 1.0),
        (State(species, (float(n_a), float(n_b))), -1.0)))


def deviation(condition: Condition, samples: dict[str, FixedDensitySample], model
              ) -> torch.Tensor:
    """sum_k coef_k E_k (Ha, 0-d tensor, differentiable in theta) at the samples' densities,
    ``samples`` keyed by state name."""
    return sum(coef * samples[state.name].energy(model) for state, coef in condition.terms)
