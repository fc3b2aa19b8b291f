"""Deep ensembles: N potentials trained from different seeds; their spread is the uncertainty.

An :class:`Ensemble` is itself a :class:`~pesforge.models.Potential` whose per-atom energies are
the members' mean, so ``compute(ensemble, batch)`` gives the mean energy and forces (the
derivative of a mean is the mean of the derivatives) and it runs anywhere a potential runs.
:func:`ensemble_compute` evaluates each member and adds the spread: the energy standard deviation
(S,) and the per-atom force deviation (A,), multiplied by recalibration factors stored in the
ensemble (fitted on validation data, see :func:`pesforge.uncertainty.evaluation.recalibrate`).

B. Lakshminarayanan, A. Pritzel, C. Blundell, NeurIPS 30 (2017); the force deviation is
DP-GEN's model deviation, Y. Zhang et al., Comput. Phys. Commun. 253, 107206 (2020).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from pesforge.data import keys as K
from pesforge.models.autograd import compute
from pesforge.models.potential import Potential, build, describe, register

Batch = dict[str, torch.Tensor]


@register("ensemble")
class Ensemble(Potential):
    """A committee of potentials; ``forward`` returns the members' mean per-atom energies (A,).

    Args:
        members: two or more potentials of one dtype (any architectures).

    Buffers ``energy_std_scale`` and ``forces_std_scale`` (float64, default 1) multiply the
    stds reported by :func:`ensemble_compute`; they travel with the model file.
    """

    def __init__(self, members: Sequence[Potential]):
        super().__init__()
        members = list(members)
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        dtypes = {m.dtype for m in members}
        if len(dtypes) > 1:
            raise ValueError(f"ensemble members must share one dtype, "
                             f"got {sorted(map(str, dtypes))}")
        self.members = nn.ModuleList(members)
        self.cutoff = max(m.cutoff for m in members)
        self.reads = tuple(dict.fromkeys(k for m in members for k in m.reads))
        self.register_buffer("energy_std_scale", torch.ones((), dtype=torch.float64))
        self.register_buffer("forces_std_scale", torch.ones((), dtype=torch.float64))
        elements = [getattr(m, "elements", None) for m in members]
        if all(e is not None for e in elements):
            self.elements = sorted(set.intersection(*(set(e) for e in elements)))

    def _apply(self, fn, recurse=True):
        # The recalibration factors stay float64 whatever dtype the members are cast to.
        scales = self.energy_std_scale, self.forces_std_scale
        out = super()._apply(fn, recurse)
        self.energy_std_scale = scales[0].to(self.energy_std_scale.device)
        self.forces_std_scale = scales[1].to(self.forces_std_scale.device)
        return out

    def __len__(self) -> int:
        return len(self.members)

    def forward(self, batch: Batch) -> torch.Tensor:
        return sum(m(batch).to(torch.float64) for m in self.members) / len(self.members)

    def readout_features(self, batch: Batch) -> torch.Tensor:
        """The members' :meth:`~pesforge.models.Potential.readout_features` side by side,
        each divided by sqrt(M): their dot products are the mean of the members' (A, D_sum)."""
        scale = len(self.members) ** -0.5
        return torch.cat([scale * m.readout_features(batch).to(torch.float64)
                          for m in self.members], dim=1)

    def config(self):
        return {"members": [describe(m) for m in self.members]}

    @classmethod
    def from_config(cls, config):
        return cls([build(m) for m in config["members"]])

    def set_scales(self, energy: float | None = None, forces: float | None = None) -> None:
        """Set the recalibration factors (positive; ``None`` keeps the current value)."""
        for value, buf in ((energy, self.energy_std_scale), (forces, self.forces_std_scale)):
            if value is not None:
                if not value > 0:
                    raise ValueError(f"a recalibration factor must be positive, got {value}")
                buf.fill_(float(value))


def ensemble_compute(ensemble: Ensemble, batch: Batch, *, stress: bool = False,
                     members: bool = False) -> Batch:
    """Mean predictions of an ensemble and their spread, one :func:`compute` per member.

    Args:
        ensemble: the committee.
        batch: a batch in the members' dtype.
        stress: also average :data:`~pesforge.data.keys.STRESS` and ``VIRIAL``.
        members: also return ``"member_energy"`` (M, S) and ``"member_forces"`` (M, A, 3).

    Returns:
        ENERGY (S,) float64 eV, ATOMIC_ENERGIES (A,), FORCES (A, 3) eV/Å (and STRESS, VIRIAL):
        member means; ENERGY_STD (S,) eV, the population std of the members' total energies
        times ``energy_std_scale``; FORCES_STD (A,) eV/Å, sqrt(mean_m |F_m,i - <F_i>|²) times
        ``forces_std_scale``. When the members have a variance head
        (:class:`~pesforge.uncertainty.noise.NoiseHead`), also the members' mean
        ENERGY_NOISE_VAR (S,) and FORCES_NOISE_VAR (A,) (aleatoric, not rescaled).
        All outputs are detached.
    """
    outs = []
    for m in ensemble.members:
        out = compute(m, batch, forces=True, stress=stress)
        if hasattr(m, "noise"):
            with torch.no_grad():
                out.update(m.noise(batch))
        outs.append(out)
    energy = torch.stack([o[K.ENERGY] for o in outs])  # (M, S)
    forces = torch.stack([o[K.FORCES].to(torch.float64) for o in outs])  # (M, A, 3)
    mean_f = forces.mean(0)
    result: Batch = {
        K.ENERGY: energy.mean(0),
        K.ATOMIC_ENERGIES: torch.stack([o[K.ATOMIC_ENERGIES] for o in outs]).mean(0),
        K.FORCES: mean_f.to(outs[0][K.FORCES].dtype),
        K.ENERGY_STD: energy.std(0, correction=0) * ensemble.energy_std_scale,
        K.FORCES_STD: ((forces - mean_f).pow(2).sum(-1).mean(0).sqrt()
                       * ensemble.forces_std_scale),
    }
    if stress:
        for key in (K.STRESS, K.VIRIAL):
            result[key] = torch.stack([o[key] for o in outs]).mean(0)
    for key in (K.ENERGY_NOISE_VAR, K.FORCES_NOISE_VAR):
        if all(key in o for o in outs):
            result[key] = torch.stack([o[key].to(torch.float64) for o in outs]).mean(0)
    if members:
        result["member_energy"] = energy
        result["member_forces"] = forces
    return {k: v.detach() for k, v in result.items()}
