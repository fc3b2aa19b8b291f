"""An oracle as a :class:`Potential` term: the baseline of Δ-learning, E = E_oracle + Δ_ML.

The oracle (GFN2-xTB, PySCF HF/DFT ...) is called once per system and position set; its
energy is spread evenly over the system's atoms, and a custom autograd function hands its
forces (and, for 3-D periodic systems, its stress) back to :func:`pesforge.models.autograd.compute`,
so ``OracleTerm(...) + model`` gives energies, forces and stress through the one derivative path
and is one ASE calculator. The oracle is described by a JSON spec, so the composite saves and
loads like any model (the oracle is rebuilt, never pickled).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.frame import Frame
from pesforge.models.potential import Potential, register

#: Oracle kinds an OracleTerm can rebuild from its spec: kind -> (module, class).
ORACLE_KINDS = {"tblite": ("pesforge.oracles.tblite_oracle", "TBLiteOracle"),
                "pyscf": ("pesforge.oracles.pyscf_oracle", "PySCFOracle")}


def oracle_from_spec(spec: dict[str, Any]):
    """Build an oracle from ``{"kind": "tblite" | "pyscf", "config": {...}}``."""
    import importlib

    kind = spec.get("kind")
    if kind not in ORACLE_KINDS:
        raise ValueError(f"unknown oracle kind {kind!r}; known: {sorted(ORACLE_KINDS)}")
    module, name = ORACLE_KINDS[kind]
    return getattr(importlib.import_module(module), name)(spec.get("config") or {})


def spec_of(oracle) -> dict[str, Any]:
    """The JSON spec of an oracle built by :func:`oracle_from_spec`."""
    for kind, (module, name) in ORACLE_KINDS.items():
        if type(oracle).__name__ == name and type(oracle).__module__ == module:
            return {"kind": kind, "config": oracle.config.model_dump(mode="json")}
    raise TypeError(f"{type(oracle).__name__} cannot be described as a spec; "
                    f"supported: {sorted(ORACLE_KINDS)}")


class _OracleEnergy(torch.autograd.Function):
    """Per-atom energies E_s/N_s from the oracle; backward uses its forces and stress."""

    @staticmethod
    def forward(ctx, positions, cell, batch_meta, oracle):
        numbers, system, n_atoms, pbc = batch_meta
        pos = positions.detach().cpu().double().numpy()
        cells = cell.detach().cpu().double().numpy()
        per_atom = np.zeros(len(pos))
        grad_pos = np.zeros_like(pos)
        grad_cell = np.zeros_like(cells)
        starts = np.concatenate([[0], np.cumsum(n_atoms)])
        for s in range(len(n_atoms)):
            sl = slice(starts[s], starts[s + 1])
            frame = Frame(numbers=numbers[sl], positions=pos[sl], cell=cells[s], pbc=pbc[s])
            label = oracle.compute(frame)
            per_atom[sl] = label.energy / n_atoms[s]
            forces = np.zeros((n_atoms[s], 3)) if label.forces is None else label.forces
            grad_pos[sl] = -forces
            if label.stress is not None and pbc[s].all():
                # dE/dh at fixed Cartesian positions, from V*sigma = R^T dE/dR + h^T dE/dh.
                volume = abs(np.linalg.det(cells[s]))
                grad_cell[s] = np.linalg.solve(cells[s].T, volume * label.stress
                                               + pos[sl].T @ forces)
        ctx.save_for_backward(torch.as_tensor(grad_pos), torch.as_tensor(grad_cell),
                              torch.as_tensor(system), torch.as_tensor(n_atoms))
        return torch.as_tensor(per_atom, dtype=torch.float64, device=positions.device)

    @staticmethod
    def backward(ctx, grad_out):
        grad_pos, grad_cell, system, n_atoms = ctx.saved_tensors
        device = grad_out.device
        # Each atom carries E_s / N_s, so dL/dE_s is the mean of grad_out over the system.
        g = torch.zeros(len(n_atoms), dtype=torch.float64, device=device)
        g = g.index_add(0, system.to(device), grad_out.double()) / n_atoms.to(device)
        gp = grad_pos.to(device) * g[system.to(device)][:, None]
        gc = grad_cell.to(device) * g[:, None, None]
        return gp, gc, None, None


@register("oracle")
class OracleTerm(Potential):
    """A reference method as a potential term (not trainable; no second derivatives).

    Args:
        oracle: an oracle instance (TBLiteOracle, PySCFOracle) or its spec
            ``{"kind": ..., "config": {...}}``.
    """

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.SYSTEM, K.N_ATOMS, K.CELL, K.PBC)

    def __init__(self, oracle):
        super().__init__()
        self.spec = oracle if isinstance(oracle, dict) else spec_of(oracle)
        self.oracle = oracle_from_spec(self.spec) if isinstance(oracle, dict) else oracle
        self.register_buffer("_dtype_marker", torch.zeros((), dtype=torch.float64),
                             persistent=False)

    def forward(self, batch):
        meta = (batch[K.ATOMIC_NUMBERS].cpu().numpy(), batch[K.SYSTEM].cpu().numpy(),
                batch[K.N_ATOMS].cpu().numpy(), batch[K.PBC].cpu().numpy())
        return _OracleEnergy.apply(batch[K.POSITIONS], batch[K.CELL], meta, self.oracle)

    def config(self):
        return {"oracle": self.spec}
