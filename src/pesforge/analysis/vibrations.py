"""Geometry optimisation and harmonic vibrational analysis of a model.

:func:`optimize` relaxes a structure with an ASE optimiser driven by a pesforge potential
(through :class:`pesforge.interfaces.Calculator`) or any ASE calculator.
:func:`vibrational_analysis` gives harmonic frequencies and normal modes from the autograd
Hessian (:func:`pesforge.analysis.hessian.model_hessian`) and, when a dipole is available,
IR intensities from dipole derivatives along the modes (Wilson, Decius & Cross 1955;
the double-harmonic approximation).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pesforge.analysis.hessian import model_hessian, normal_modes
from pesforge.data.frame import Frame
from pesforge.models.potential import Potential

OPTIMIZERS = ("BFGS", "LBFGS", "FIRE", "BFGSLineSearch")


def _ir_factor() -> float:
    """(dμ/dQ)² in e²/amu to IR intensity in km/mol: N_A / (12 ε0 c²) (SI)."""
    from ase import units

    eps0 = 1.0 / (units._mu0 * units._c ** 2)
    per_si = units._Nav / (12 * eps0 * units._c ** 2)  # m/mol per C²/kg
    return per_si * units._e ** 2 / units._amu / 1000.0


#: IR intensity in km/mol of a mode with dμ/dQ = 1 e/sqrt(amu) (≈ 974.9).
IR_KM_PER_MOL = _ir_factor()


def as_calculator(reference: Any, dtype: torch.dtype = torch.float64):
    """An ASE calculator for a Potential (cast to ``dtype``), or ``reference`` itself."""
    if isinstance(reference, Potential):
        from pesforge.interfaces.ase_calculator import Calculator

        if reference.dtype != dtype:
            reference = copy.deepcopy(reference)
        return Calculator(reference, dtype=dtype)
    if hasattr(reference, "get_potential_energy") or hasattr(reference, "calculate"):
        return reference
    raise TypeError(f"need a pesforge Potential or an ASE calculator, not "
                    f"{type(reference).__name__}")


def optimize(reference: Any, frame: Frame, *, fmax: float = 1e-3, steps: int = 2000,
             optimizer: str = "BFGS", dtype: torch.dtype = torch.float64,
             logfile: str | None = None) -> tuple[Frame, int, float]:
    """Relax atomic positions (cell fixed) with an ASE optimiser.

    Args:
        reference: a Potential or an ASE calculator.
        frame: the starting structure (not modified).
        fmax: convergence threshold on the largest force component norm, eV/Å.
        steps: maximum optimiser steps.
        optimizer: one of :data:`OPTIMIZERS`.
        dtype: evaluation dtype for a Potential.
        logfile: ASE optimiser log (None: silent, "-": stdout).

    Returns:
        (relaxed frame without labels, steps taken, final max force norm eV/Å).

    Raises:
        RuntimeError: not converged within ``steps``.
    """
    import ase.optimize

    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {optimizer!r}")
    atoms = Frame(numbers=frame.numbers, positions=frame.positions.copy(), cell=frame.cell,
                  pbc=frame.pbc).to_atoms()
    atoms.calc = as_calculator(reference, dtype)
    opt = getattr(ase.optimize, optimizer)(atoms, logfile=logfile)
    converged = opt.run(fmax=fmax, steps=steps)
    max_force = float(np.linalg.norm(atoms.get_forces(), axis=1).max())
    if not converged:
        raise RuntimeError(f"{optimizer} did not converge to fmax={fmax} eV/Å in {steps} steps "
                           f"(max force {max_force:.2e} eV/Å) for {frame.source}")
    relaxed = Frame(numbers=frame.numbers, positions=atoms.positions.copy(), cell=frame.cell,
                    pbc=frame.pbc, source=f"{frame.source} (optimised)", info=dict(frame.info))
    return relaxed, int(opt.nsteps), max_force


@dataclass
class VibrationalAnalysis:
    """Harmonic analysis of one structure.

    Attributes:
        frame: the (optimised) structure analysed.
        hessian: (3N, 3N) eV/Å².
        frequencies: (M,) cm⁻¹ ascending, imaginary ones negative (M = 3N-6, 3N-5 linear).
        modes: (M, N, 3) mass-orthonormal Cartesian modes (see
            :func:`~pesforge.analysis.hessian.normal_modes`).
        ir_intensities: (M,) km/mol, or None without a dipole.
        optimizer_steps: optimiser steps taken (0 when not optimised).
        max_force: largest force norm at ``frame``, eV/Å (None when not optimised).
    """

    frame: Frame
    hessian: np.ndarray
    frequencies: np.ndarray
    modes: np.ndarray
    ir_intensities: np.ndarray | None = None
    optimizer_steps: int = 0
    max_force: float | None = None

    def table(self) -> str:
        """A Markdown table of the modes."""
        lines = ["| mode | frequency (cm⁻¹) | IR (km/mol) |", "|---:|---:|---:|"]
        for k, f in enumerate(self.frequencies):
            ir = "" if self.ir_intensities is None else f"{self.ir_intensities[k]:.2f}"
            lines.append(f"| {k + 1} | {f:.1f} | {ir} |")
        return "\n".join(lines)


def dipole_derivatives(frame: Frame, *, charges: np.ndarray | None = None,
                       dipole: Callable[[Frame], np.ndarray] | None = None,
                       delta: float = 0.005) -> np.ndarray:
    """dμ_a/dR_ib as a (3N, 3) array (rows 3i+b, columns a) in e.

    Give ``charges`` (N,) e for fixed point charges (μ = Σ q_i r_i, so dμ_a/dR_ib = q_i δ_ab),
    or ``dipole``: a function ``frame -> (3,)`` e·Å, differentiated by central differences
    with step ``delta`` Å (e.g. a charge model's Σ q_i(R) r_i).
    """
    n = len(frame)
    if (charges is None) == (dipole is None):
        raise ValueError("give exactly one of charges or dipole")
    if charges is not None:
        charges = np.asarray(charges, dtype=np.float64).reshape(-1)
        if charges.shape != (n,):
            raise ValueError(f"charges must have shape ({n},), got {charges.shape}")
        return np.kron(charges[:, None], np.eye(3))
    out = np.zeros((3 * n, 3))
    for k in range(3 * n):
        values = []
        for sign in (1.0, -1.0):
            moved = copy.deepcopy(frame)
            moved.positions[k // 3, k % 3] += sign * delta
            values.append(np.asarray(dipole(moved), dtype=np.float64).reshape(3))
        out[k] = (values[0] - values[1]) / (2 * delta)
    return out


def charge_model_dipole(charge_model) -> Callable[[Frame], np.ndarray]:
    """A ``frame -> dipole (3,) e·Å`` function μ = Σ q_i(R) r_i from a charge model of
    :mod:`pesforge.physics.charges` (evaluated in float64 on its own neighbour list), for
    :func:`dipole_derivatives` / ``vibrational_analysis(dipole=...)``."""
    from pesforge.data.batch import collate

    charge_model = copy.deepcopy(charge_model).to(torch.float64).eval()

    def dipole(frame: Frame) -> np.ndarray:
        batch = collate([frame], float(getattr(charge_model, "cutoff", 0.0)))
        with torch.no_grad():
            q = charge_model(batch).to(torch.float64).cpu().numpy()
        return (q[:, None] * frame.positions).sum(0)

    return dipole


def ir_intensities(modes: np.ndarray, derivatives: np.ndarray) -> np.ndarray:
    """IR intensities (km/mol) of mass-orthonormal ``modes`` (M, N, 3) from dμ/dR (3N, 3)."""
    dmu_dq = modes.reshape(len(modes), -1) @ derivatives  # (M, 3) e/sqrt(amu)
    return (dmu_dq ** 2).sum(1) * IR_KM_PER_MOL


def vibrational_analysis(potential: Potential, frame: Frame, *, relax: bool = True,
                         fmax: float = 1e-4, optimizer: str = "BFGS",
                         charges: np.ndarray | None = None,
                         dipole: Callable[[Frame], np.ndarray] | None = None,
                         remove: str = "auto") -> VibrationalAnalysis:
    """Optimise (optionally) and compute harmonic frequencies, modes and IR intensities.

    Args:
        potential: the model; its Hessian is taken by autograd in float64.
        frame: starting structure (a molecule: rotations are projected out; for a periodic
            frame pass ``remove="translations"``).
        relax: optimise positions first with :func:`optimize` to ``fmax`` eV/Å.
        charges, dipole: a dipole model for IR intensities (see :func:`dipole_derivatives`).
        remove: which rigid-body motions to project out (see ``normal_modes``).
    """
    steps, max_force = 0, None
    if relax:
        frame, steps, max_force = optimize(potential, frame, fmax=fmax, optimizer=optimizer)
    masses = frame.to_atoms().get_masses()
    hessian = model_hessian(potential, frame)
    if remove == "auto":
        remove = "translations" if frame.pbc.any() else "rotations"
    freqs, modes = normal_modes(hessian, masses, frame.positions, remove=remove)
    intensities = None
    if charges is not None or dipole is not None:
        intensities = ir_intensities(modes, dipole_derivatives(frame, charges=charges,
                                                               dipole=dipole))
    return VibrationalAnalysis(frame, hessian, freqs, modes, intensities, steps, max_force)


def write_vibrations(model: str, structure: str, *, fmax: float = 1e-4, relax: bool = True,
                     output: str | None = None) -> VibrationalAnalysis:
    """Load a model file and the first frame of ``structure``, run
    :func:`vibrational_analysis`, and write frequencies (cm⁻¹), modes and the geometry as JSON
    to ``output`` when given."""
    from pesforge.data.readers import read
    from pesforge.fileio import write_json
    from pesforge.models.io import load_model

    frame = read(structure, index=0, validate=False)[0]
    result = vibrational_analysis(load_model(model), frame, relax=relax, fmax=fmax)
    if output is not None:
        write_json(output, {"model": str(model), "structure": str(structure),
                            "numbers": result.frame.numbers.tolist(),
                            "positions": result.frame.positions.tolist(),
                            "frequencies_cm1": result.frequencies.tolist(),
                            "modes": result.modes.tolist(),
                            "optimizer_steps": result.optimizer_steps,
                            "max_force_eV_per_A": result.max_force})
    return result


__all__ = ["optimize", "vibrational_analysis", "write_vibrations", "VibrationalAnalysis",
           "dipole_derivatives",
           "ir_intensities", "charge_model_dipole", "as_calculator", "IR_KM_PER_MOL", "OPTIMIZERS"]
