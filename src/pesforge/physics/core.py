"""Core repulsion that takes over from a learned model where the model has no data.

A learned potential trained on molecules never sees two atoms closer than its shortest training
distance; below that its energy is an extrapolation that can have deep wells (a BPNN trained on
ethanol puts two H atoms 1.9 eV *below* dissociation at 0.8 Å). Adding a repulsive prior does
not remove such a well, it only competes with it. :class:`CoreRepulsion` blends instead: per
pair, the prior's switch s_ij (1 below r_on, 0 above r_off) hands the pair over to the prior,
and each atom's learned interaction energy is faded by the product of its pairs' complements,

    E = sum_i [ E0(Z_i) + w_i (E_i - E0(Z_i)) ] + E_prior,    w_i = prod_j (1 - s_ij),

where E_i are the learned per-atom energies and E0(Z) the learned energy of an isolated atom
of element Z (so the fade removes the interaction, never the atomic reference energy). With
r_off at or below the shortest training distance of every pair (:func:`pair_radii_from_frames`)
w_i = 1 on all training data, so training and the training-set predictions are unchanged;
below r_on any pair is pure prior, steep and monotonic whatever the network learned.
"""

from __future__ import annotations

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.models.potential import Potential, build, describe, register
from pesforge.physics.cutoffs import smoothstep_switch
from pesforge.physics.zbl import _PairRepulsion


def fade_weights(r: torch.Tensor, r_on: torch.Tensor, r_off: torch.Tensor,
                 centres: torch.Tensor, n_atoms: int) -> torch.Tensor:
    """w_i = prod over the edges (i, j) of (1 - s(r_ij)), shape (n_atoms,); 1 for atoms with no
    edge inside r_off. ``r``, ``r_on``, ``r_off`` (E,) Å; ``centres`` (E,) the atom i of each
    edge. Differentiable (a product, so an edge at r <= r_on sets w_i = 0 exactly)."""
    keep = 1.0 - smoothstep_switch(r, r_on, r_off)
    ones = torch.ones(n_atoms, dtype=r.dtype, device=r.device)
    return ones.scatter_reduce(0, centres, keep, reduce="prod", include_self=True)


@register("core_repulsion")
class CoreRepulsion(Potential):
    """``model`` blended into a pair-repulsion ``prior`` (:class:`~pesforge.physics.ZBL` or
    :class:`~pesforge.physics.InversePowerRepulsion`) at short range; see the module docstring.

    Args:
        model: the learned potential (with its fixed terms, if any).
        prior: the pair repulsion whose per-pair switch radii (``pair_radii``) define where
            the model hands over; it needs ``elements`` (the isolated-atom energies of the
            model are evaluated for these).
    """

    def __init__(self, model: Potential, prior: _PairRepulsion):
        super().__init__()
        if not isinstance(prior, _PairRepulsion):
            raise TypeError(f"prior must be a pair repulsion (ZBL, InversePowerRepulsion), "
                            f"got {type(prior).__name__}")
        if prior.elements is None:
            raise ValueError("CoreRepulsion needs prior.elements (the model's elements)")
        self.terms = torch.nn.ModuleList([model, prior])
        self.cutoff = max(model.cutoff, prior.cutoff)
        self.reads = tuple(dict.fromkeys((*model.reads, *prior.reads)))
        self.elements = list(prior.elements)
        self._isolated: dict[tuple, dict[str, torch.Tensor]] = {}

    @property
    def model(self) -> Potential:
        return self.terms[0]

    @property
    def prior(self) -> _PairRepulsion:
        return self.terms[1]

    def config(self):
        return {"model": describe(self.model), "prior": describe(self.prior)}

    @classmethod
    def from_config(cls, config):
        return cls(build(config["model"]), build(config["prior"]))

    def isolated_atom_energies(self, dtype: torch.dtype, device) -> torch.Tensor:
        """E0(Z) of the model for Z in ``self.elements``, shape (n_elements,), eV."""
        key = (dtype, str(device))
        if key not in self._isolated:
            from pesforge.data.batch import collate
            from pesforge.data.frame import Frame

            frames = [Frame(numbers=np.array([z]), positions=np.zeros((1, 3)))
                      for z in self.elements]
            batch = collate(frames, self.model.cutoff, dtype=dtype)
            self._isolated[key] = {k: v.to(device) for k, v in batch.items()}
        return self.model(self._isolated[key])

    def forward(self, batch):
        from pesforge.neighbors import edge_vectors

        numbers = batch[K.ATOMIC_NUMBERS]
        learned = self.model(batch)
        i, j = batch[K.EDGE_INDEX]
        r = edge_vectors(batch).to(torch.float64).norm(dim=1)
        r_on, r_off = self.prior.switch_radii(numbers[i], numbers[j])
        inside = (r < r_off).nonzero().squeeze(1)
        w = fade_weights(r[inside], r_on[inside], r_off[inside], i[inside], numbers.shape[0])
        size = max(int(numbers.max()), *self.elements) + 1
        lookup = torch.full((size,), -1, dtype=torch.long, device=numbers.device)
        lookup[torch.as_tensor(self.elements, device=numbers.device)] = torch.arange(
            len(self.elements), device=numbers.device)
        if (lookup[numbers] < 0).any():
            raise ValueError(f"CoreRepulsion knows elements {self.elements}, the batch has "
                             f"{sorted(set(numbers.tolist()) - set(self.elements))}")
        e0 = self.isolated_atom_energies(batch[K.POSITIONS].dtype,
                                         numbers.device)[lookup[numbers]].to(learned.dtype)
        return e0 + w.to(learned.dtype) * (learned - e0) + self.prior(batch)
