"""DFT-D3 dispersion through the ``dftd3`` (simple-dftd3) Python API, as a Potential.

The energy, its gradient and its strain derivative come from dftd3; a custom autograd
:class:`torch.autograd.Function` hands them to :func:`pesforge.models.autograd.compute`, so
forces and stress of ``model + D3(...)`` come out of the one autograd path. Per-atom energies are
dftd3's pairwise partition (two-body plus three-body, each pair split evenly).

S. Grimme, J. Antony, S. Ehrlich & H. Krieg, J. Chem. Phys. 132, 154104 (2010);
S. Grimme, S. Ehrlich & L. Goerigk, J. Comput. Chem. 32, 1456 (2011) (Becke–Johnson damping).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np
import torch

from pesforge import units
from pesforge.data import keys as K
from pesforge.models.potential import Potential, register

DAMPINGS = ("bj", "zero")
#: Suffixes stripped from a level-of-theory method to find the functional ("PBE-D3(BJ)" -> PBE).
_D3_SUFFIX = re.compile(r"[-+_ ]?d3(\(?bj\)?|\(?0\)?|bj)?$", re.IGNORECASE)


def _dftd3():
    try:
        from dftd3 import interface
    except ImportError as err:  # pragma: no cover - dependency is installed in the venv
        raise ImportError("the D3 term needs the 'dftd3' package (pip install dftd3, extra "
                          "'physics')") from err
    return interface


def functional_of(level_of_theory) -> str:
    """The density functional named by a level of theory (LevelOfTheory, str or dict), with any
    D3 suffix removed: ``"PBE-D3(BJ)/def2-SVP"`` -> ``"pbe"``."""
    from pesforge.data.frame import LevelOfTheory

    level = LevelOfTheory.parse(level_of_theory)
    method = getattr(level, "method", None) if level is not None else None
    if not method and level is not None and level.text:
        # Free text such as "PBE-D3(BJ)/def2-SVP (ORCA)": the method is the first word.
        method = re.split(r"[/\s(;]", level.text.strip(), maxsplit=1)[0]
    if not method:
        raise ValueError(f"level of theory {level_of_theory!r} names no method; pass the "
                         "functional to D3(method=...)")
    return _D3_SUFFIX.sub("", method.strip()).lower()


def d3_system(numbers: np.ndarray, positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray,
              method: str, damping: str = "bj", grad: bool = True,
              cutoff_width: float = 0.0) -> dict[str, np.ndarray]:
    """D3 of one system, in pesforge units.

    Args:
        numbers: (N,) atomic numbers; positions (N, 3) Å; cell (3, 3) Å rows; pbc (3,) bool.
        method: functional name known to dftd3 (``"pbe"``, ``"b3lyp"``, ...).
        damping: ``"bj"`` (rational, Becke–Johnson) or ``"zero"``.
        cutoff_width: Å over which dftd3's real-space cutoffs are smoothed (periodic only; 0
            keeps dftd3's sharp defaults).

    Returns:
        ``energy`` (eV), ``atomic_energies`` (N,) eV, and with ``grad`` ``gradient`` (N, 3)
        eV/Å and ``strain_derivative`` dE/d eps (3, 3) eV.
    """
    api = _dftd3()
    if damping not in DAMPINGS:
        raise ValueError(f"damping must be one of {DAMPINGS}, got {damping!r}")
    pbc = np.asarray(pbc, dtype=bool)
    if pbc.any() and not pbc.all():
        raise NotImplementedError("D3 term: mixed periodicity is not supported (molecules or "
                                  "3D periodic cells only)")
    lattice = cell / units.BOHR if pbc.all() else None
    model = api.DispersionModel(np.asarray(numbers), positions / units.BOHR, lattice,
                                pbc if pbc.all() else None)
    if pbc.all() and cutoff_width > 0:
        # dftd3's default real-space cutoffs (60/40/40 bohr) are sharp; switch them off over
        # ``cutoff_width`` so energies stay differentiable as images cross them.
        width = cutoff_width / units.BOHR
        model.set_realspace_cutoff(disp2=60.0, disp3=40.0, cn=40.0, width2=width, width3=width)
    param_cls = api.RationalDampingParam if damping == "bj" else api.ZeroDampingParam
    try:
        param = param_cls(method=method)
    except RuntimeError as err:
        raise ValueError(f"dftd3 has no D3({damping}) parameters for {method!r}") from err
    res = model.get_dispersion(param, grad=grad)
    pairs = model.get_pairwise_dispersion(param)
    atomic = (pairs["additive pairwise energy"] + pairs["non-additive pairwise energy"]).sum(1)
    out = {"energy": float(res["energy"]) * units.HARTREE,
           "atomic_energies": atomic * units.HARTREE}
    if grad:
        out["gradient"] = res["gradient"] * (units.HARTREE / units.BOHR)
        out["strain_derivative"] = res["virial"] * units.HARTREE
    return out


class _D3Energy(torch.autograd.Function):
    """E(positions, cell) of one system from dftd3; backward from its gradient and virial."""

    @staticmethod
    def forward(ctx, positions, cell, numbers, pbc, method, damping, cutoff_width):
        res = d3_system(numbers, positions.detach().cpu().double().numpy(),
                        cell.detach().cpu().double().numpy(), pbc, method, damping,
                        cutoff_width=cutoff_width)
        grad_r = torch.as_tensor(res["gradient"], dtype=positions.dtype, device=positions.device)
        deps = torch.as_tensor(res["strain_derivative"], dtype=cell.dtype, device=cell.device)
        if bool(np.all(pbc)):
            # dE/deps = R^T dE/dR + h^T dE/dh  =>  dE/dh = h^-T (dE/deps - R^T dE/dR).
            rhs = deps - positions.detach().T @ grad_r
            grad_h = torch.linalg.solve(cell.detach().T, rhs)
        else:
            grad_h = torch.zeros_like(cell)
        ctx.save_for_backward(grad_r, grad_h)
        atomic = torch.as_tensor(res["atomic_energies"], dtype=torch.float64,
                                 device=positions.device)
        ctx.mark_non_differentiable(atomic)
        return torch.tensor(res["energy"], dtype=torch.float64, device=positions.device), atomic

    @staticmethod
    def backward(ctx, grad_energy, grad_atomic):
        # Only the total is differentiable (atomic energies are a fixed partition of it).
        grad_r, grad_h = ctx.saved_tensors
        g = grad_energy.to(grad_r.dtype)
        return g * grad_r, g * grad_h, None, None, None, None, None


@register("d3")
class D3(Potential):
    """DFT-D3 dispersion for the functional ``method`` (BJ damping by default), from dftd3.

    Energies and their first derivatives only: training *through* D3 with force losses
    (double backward) is not supported and not needed, D3 has no parameters.

    Args:
        method: functional name (``"pbe"``); see :meth:`from_level_of_theory`.
        damping: ``"bj"`` or ``"zero"``.
        cutoff_width: Å over which dftd3's sharp real-space cutoffs are smoothed in periodic
            cells (default 5 Å, so forces and stress are exact derivatives; 0 = dftd3 defaults).
    """

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.PBC, K.SYSTEM, K.N_ATOMS)

    def __init__(self, method: str = "pbe", damping: str = "bj", cutoff_width: float = 5.0):
        super().__init__()
        if damping not in DAMPINGS:
            raise ValueError(f"damping must be one of {DAMPINGS}, got {damping!r}")
        self.method, self.damping = method.lower(), damping
        self.cutoff_width = float(cutoff_width)
        _dftd3()  # fail early, naming the package, when dftd3 is missing

    @classmethod
    def from_level_of_theory(cls, level_of_theory, damping: str = "bj") -> "D3":
        """D3 for the functional named by a level of theory (``"PBE-D3(BJ)/def2-SVP"``)."""
        return cls(functional_of(level_of_theory), damping)

    def config(self):
        return {"method": self.method, "damping": self.damping,
                "cutoff_width": self.cutoff_width}

    def forward(self, batch):
        positions, cell = batch[K.POSITIONS], batch[K.CELL]
        numbers = batch[K.ATOMIC_NUMBERS].cpu().numpy()
        pbc = batch[K.PBC].cpu().numpy()
        counts = batch[K.N_ATOMS].tolist()
        parts, start = [], 0
        for s, n in enumerate(counts):
            sl = slice(start, start + n)
            total, atomic = _D3Energy.apply(positions[sl], cell[s], numbers[sl], pbc[s],
                                            self.method, self.damping, self.cutoff_width)
            # Values: dftd3's partition; gradient: that of the total, spread evenly.
            parts.append(atomic + (total - total.detach()) / n)
            start += n
        return torch.cat(parts) if parts else positions.new_zeros(0, dtype=torch.float64)


def subtract_d3(frames: Sequence, method: str | None = None, damping: str = "bj") -> list:
    """Frames whose energy, forces and stress labels have D3 removed (for references that
    include D3, so a model learns the data minus D3 and ``model + D3`` reproduces the data).

    Args:
        frames: :class:`~pesforge.data.frame.Frame` objects (eV, eV/Å, eV/Å³).
        method: the functional; default from each frame's level of theory.

    Returns:
        New frames (inputs unchanged) with ``info["d3_subtracted"] = "<method>-d3<damping>"``.
    """
    out = []
    for frame in frames:
        name = method or functional_of(frame.level_of_theory)
        res = d3_system(frame.numbers, frame.positions, frame.cell, frame.pbc, name, damping)
        energy = None if frame.energy is None else frame.energy - res["energy"]
        forces = None if frame.forces is None else frame.forces + res["gradient"]
        stress = frame.stress
        if stress is not None:
            volume = abs(np.linalg.det(frame.cell))
            stress = stress - res["strain_derivative"] / volume
        info = {**frame.info, "d3_subtracted": f"{name}-d3{damping}"}
        out.append(dataclasses.replace(frame, energy=energy, forces=forces, stress=stress,
                                       info=info))
    return out
