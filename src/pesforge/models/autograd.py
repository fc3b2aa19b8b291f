"""Energies, forces, virial and stress for any Potential: the one place autograd is used.

Forces are F = -dE/dR. Stress uses a symmetric strain eps applied to positions and cell,
R' = R (1 + eps), h' = h (1 + eps): the virial is W = -dE/deps and the stress
sigma = -W / V (ASE's sign: positive under tension, Voigt order xx yy zz yz xz xy).
"""

from __future__ import annotations

import torch

from pesforge.data import keys as K
from pesforge.models.potential import Potential


def compute(potential: Potential, batch: dict[str, torch.Tensor], *, forces: bool = True,
            stress: bool = False, training: bool = False) -> dict[str, torch.Tensor]:
    """Evaluate a potential on a batch.

    Args:
        potential: any :class:`Potential`.
        batch: a batch dict (positions in the potential's dtype).
        forces: also return :data:`~pesforge.data.keys.FORCES` (A, 3) eV/Å.
        stress: also return :data:`~pesforge.data.keys.VIRIAL` (S, 3, 3) eV and
            :data:`~pesforge.data.keys.STRESS` (S, 3, 3) eV/Å³ (zero where the volume is zero).
        training: keep the autograd graph of every output (and of the derivatives), so that
            losses on energies, forces and stress can be back-propagated to the parameters.
            Otherwise all outputs are detached.

    Returns:
        A dict with :data:`~pesforge.data.keys.ENERGY` (S,) float64 eV,
        :data:`~pesforge.data.keys.ATOMIC_ENERGIES` (A,) eV, and the requested derivatives.
    """
    potential.check_batch(batch)
    batch = dict(batch)
    system = batch[K.SYSTEM]
    n_systems = batch[K.N_ATOMS].shape[0]
    positions = batch[K.POSITIONS]
    inputs: list[torch.Tensor] = []
    with torch.enable_grad() if (forces or stress or training) else torch.no_grad():
        if forces or stress:
            positions = positions.detach().requires_grad_(True)
            inputs.append(positions)
        if stress:
            strain = torch.zeros((n_systems, 3, 3), dtype=positions.dtype,
                                 device=positions.device, requires_grad=True)
            inputs.append(strain)
            sym = 0.5 * (strain + strain.transpose(1, 2))
            batch[K.POSITIONS] = positions + torch.einsum("ai,aij->aj", positions, sym[system])
            batch[K.CELL] = batch[K.CELL] + torch.bmm(batch[K.CELL], sym)
        else:
            batch[K.POSITIONS] = positions

        atomic = potential(batch).to(torch.float64)
        energy = torch.zeros(n_systems, dtype=torch.float64, device=atomic.device)
        energy = energy.index_add(0, system, atomic)
        out = {K.ENERGY: energy, K.ATOMIC_ENERGIES: atomic}
        if inputs and energy.requires_grad:
            grads = torch.autograd.grad(energy.sum(), inputs, create_graph=training,
                                        allow_unused=True)
        else:  # the energy does not depend on positions or strain at all
            grads = [None] * len(inputs)
    if not inputs:
        return out if training else {k: v.detach() for k, v in out.items()}
    grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]
    if forces:
        out[K.FORCES] = -grads[0]
    if stress:
        virial = -grads[1]
        volume = torch.linalg.det(batch[K.CELL].detach()).abs()
        safe = torch.where(volume > 0, volume, torch.ones_like(volume))
        out[K.VIRIAL] = virial
        out[K.STRESS] = torch.where((volume > 0)[:, None, None], -virial / safe[:, None, None],
                                    torch.zeros_like(virial))
    return out if training else {k: v.detach() for k, v in out.items()}


def position_jvps(fn, positions: torch.Tensor, local: torch.Tensor, *,
                  forward_mode: bool = False) -> dict[tuple[int, int], torch.Tensor]:
    """Derivatives of ``fn(positions)`` along each atom's Cartesian directions, all systems
    of a batch at once: ``{(a, c): d fn / d positions[atom a of every system, c]}``, detached.

    Args:
        fn: positions (A, 3) -> any tensor.
        positions: (A, 3) Å.
        local: (A,) each atom's index within its system.
        forward_mode: use ``torch.autograd.forward_ad`` (what custom Functions with only a
            ``jvp`` rule need, e.g. the numba G5 sums) instead of ``torch.func.jvp``.
    """
    from torch.autograd import forward_ad

    out = {}
    for a in range(int(local.max()) + 1):
        for c in range(3):
            tangent = torch.zeros_like(positions)
            tangent[local == a, c] = 1.0
            if forward_mode:
                with forward_ad.dual_level():
                    dual = fn(forward_ad.make_dual(positions, tangent))
                    out[a, c] = forward_ad.unpack_dual(dual).tangent.detach()
            else:
                out[a, c] = torch.func.jvp(fn, (positions,), (tangent,))[1].detach()
    return out
