"""A potential bound to a skin neighbour list: evaluates an :class:`MDState` in place.

Model outputs beyond energy/forces/stress (for instance the ``*_std`` keys of an ensemble) are
kept in ``state.outputs`` so that runners can log them and stop on an uncertainty ceiling.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from pesforge.data import keys as K
from pesforge.models.autograd import compute
from pesforge.models.potential import Potential
from pesforge.neighbors.skin import SkinNeighborList
from pesforge.simulate.state import MDState
from pesforge.uncertainty.ensemble import Ensemble, ensemble_compute

#: ``evaluate(potential, batch, stress) -> outputs`` with at least ENERGY and FORCES.
Evaluator = Callable[[Potential, dict, bool], dict]


def default_evaluator(potential: Potential, batch: dict, stress: bool) -> dict:
    """:func:`pesforge.models.autograd.compute` with forces (and stress when asked).

    An :class:`~pesforge.uncertainty.Ensemble` is evaluated by
    :func:`~pesforge.uncertainty.ensemble_compute`, which adds ``energy_std`` (S,) and
    ``forces_std`` (A,); a potential that defines ``md_outputs(batch, stress)`` is evaluated
    through that method.
    """
    own = getattr(potential, "md_outputs", None)
    if callable(own):
        return own(batch, stress)
    if isinstance(potential, Ensemble):
        return ensemble_compute(potential, batch, stress=stress)
    return compute(potential, batch, forces=True, stress=stress)


class ForceField:
    """Evaluate a potential on MD states with a cached skin neighbour list.

    Args:
        potential: any :class:`Potential`; it is evaluated in its own dtype and device.
        skin: neighbour-list skin in Å (see :class:`~pesforge.neighbors.skin.SkinNeighborList`).
        stress: also compute the stress (needed by barostats; costs a strain derivative).
        evaluate: replaces :func:`default_evaluator`.
    """

    def __init__(self, potential: Potential, *, skin: float = 1.0, stress: bool = False,
                 evaluate: Evaluator | None = None):
        self.potential = potential.eval()
        self.dtype = potential.dtype
        self.stress = stress
        self.neighbors = SkinNeighborList(max(potential.cutoff, 1e-6), skin)
        self.evaluate_fn = evaluate or default_evaluator
        self.n_evaluations = 0

    def __call__(self, state: MDState) -> MDState:
        """Set ``state.energy``, ``forces``, ``stress`` (if enabled) and ``outputs``; returns it."""
        batch = state.batch(self.dtype)
        edge_index, shifts = self.neighbors.edges(state.positions, state.cell, state.pbc,
                                                  state.system, state.n_atoms)
        batch[K.EDGE_INDEX] = edge_index
        batch[K.EDGE_SHIFTS] = shifts.to(self.dtype)
        out = self.evaluate_fn(self.potential, batch, self.stress)
        state.energy = out[K.ENERGY].detach().to(torch.float64)
        state.forces = out[K.FORCES].detach().to(torch.float64)
        if self.stress:
            state.stress = out[K.STRESS].detach().to(torch.float64)
        state.outputs = {k: v.detach() for k, v in out.items()
                         if k not in (K.ENERGY, K.FORCES, K.STRESS, K.VIRIAL, K.ATOMIC_ENERGIES)}
        self.n_evaluations += 1
        return state
