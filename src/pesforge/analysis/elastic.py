"""Elastic constants C_ij of crystals from stress–strain finite differences.

For each Voigt strain component e_j (xx yy zz yz xz xy, shear as engineering strain 2ε) the
cell and positions are deformed by ±δ, the stress is evaluated, and
C_ij = (σ_i(+δ) - σ_i(-δ)) / 2δ (eV/Å³; ASE's stress sign, so C is positive for a stable
crystal). Works with a pesforge Potential (stress from autograd) or any ASE calculator.
Clamped-ion constants by default; ``relax_ions=True`` relaxes internal coordinates at each
strain (needed for crystals with more than one atom per primitive cell, e.g. diamond C44).
See Nye, *Physical Properties of Crystals* (1957), and Le Page & Saxe, PRB 65, 104104 (2002).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from pesforge import units
from pesforge.data.frame import Frame

VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def voigt_strain_matrix(j: int, value: float) -> np.ndarray:
    """Symmetric 3x3 strain for Voigt component ``j`` (shears: engineering strain ``value``)."""
    a, b = VOIGT[j]
    eps = np.zeros((3, 3))
    if a == b:
        eps[a, a] = value
    else:
        eps[a, b] = eps[b, a] = value / 2
    return eps


def _stress_voigt(atoms) -> np.ndarray:
    stress = np.asarray(atoms.get_stress(voigt=True), dtype=np.float64)
    if stress.shape != (6,) or not np.all(np.isfinite(stress)):
        raise RuntimeError(f"calculator returned an unusable stress {stress}")
    return stress


@dataclass
class ElasticConstants:
    """A 6x6 stiffness matrix in eV/Å³ (Voigt order xx yy zz yz xz xy) with helpers."""

    C: np.ndarray

    @property
    def gpa(self) -> np.ndarray:
        """C in GPa."""
        return self.C / units.GPA

    def bulk_modulus(self) -> float:
        """Voigt bulk modulus (C11+C22+C33 + 2(C12+C13+C23)) / 9, GPa."""
        c = self.gpa
        return float((c[0, 0] + c[1, 1] + c[2, 2] + 2 * (c[0, 1] + c[0, 2] + c[1, 2])) / 9)

    def cubic(self) -> dict[str, float]:
        """C11, C12, C44 in GPa averaged over the cubic-equivalent entries."""
        c = self.gpa
        return {"C11": float(np.mean(np.diag(c)[:3])),
                "C12": float(np.mean([c[0, 1], c[0, 2], c[1, 2], c[1, 0], c[2, 0], c[2, 1]])),
                "C44": float(np.mean(np.diag(c)[3:]))}

    def markdown(self) -> str:
        """The matrix in GPa as a Markdown table."""
        head = "| GPa | " + " | ".join(f"{j + 1}" for j in range(6)) + " |"
        rows = [head, "|---" * 7 + "|"]
        for i in range(6):
            rows.append(f"| {i + 1} | " + " | ".join(f"{v:.1f}" for v in self.gpa[i]) + " |")
        return "\n".join(rows)


def elastic_constants(reference: Any, frame: Frame, *, delta: float = 5e-3,
                      relax_ions: bool = False, fmax: float = 1e-4,
                      dtype: torch.dtype = torch.float64) -> ElasticConstants:
    """Stress–strain elastic constants of a crystal.

    Args:
        reference: a pesforge Potential (wrapped by :class:`pesforge.interfaces.Calculator`,
            evaluated in ``dtype``) or any ASE calculator giving stress.
        frame: the crystal, periodic in three directions, ideally at zero stress (residual
            stress is reported by the caller; C is the derivative at this cell).
        delta: strain step (dimensionless); errors O(δ²).
        relax_ions: relax internal positions at each strained cell (ASE BFGS to ``fmax``).

    Returns:
        :class:`ElasticConstants` (6x6, eV/Å³), symmetrised.
    """
    from pesforge.analysis.vibrations import as_calculator

    if not (np.all(frame.pbc) and abs(np.linalg.det(frame.cell)) > 1e-9):
        raise ValueError(f"elastic constants need a cell periodic in 3 directions; "
                         f"{frame.source} has pbc={frame.pbc.tolist()}")
    if not 0 < delta < 0.1:
        raise ValueError(f"delta must be a small positive strain, got {delta}")
    calc = as_calculator(reference, dtype)
    base = Frame(numbers=frame.numbers, positions=frame.positions, cell=frame.cell,
                 pbc=frame.pbc).to_atoms()
    C = np.zeros((6, 6))
    for j in range(6):
        stresses = []
        for sign in (1.0, -1.0):
            atoms = base.copy()
            deformation = np.eye(3) + voigt_strain_matrix(j, sign * delta)
            atoms.set_cell(base.cell.array @ deformation, scale_atoms=True)
            atoms.calc = calc
            if relax_ions:
                from ase.optimize import BFGS

                BFGS(atoms, logfile=None).run(fmax=fmax, steps=1000)
            stresses.append(_stress_voigt(atoms))
        C[:, j] = (stresses[0] - stresses[1]) / (2 * delta)
    return ElasticConstants(0.5 * (C + C.T))


__all__ = ["elastic_constants", "ElasticConstants", "voigt_strain_matrix", "VOIGT"]
