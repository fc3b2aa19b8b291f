"""Hessians (second derivatives of the energy) and harmonic normal modes.

:func:`model_hessian` differentiates a model's autograd forces once more (exact, no finite
differences); :func:`finite_difference_hessian` takes central differences of the forces of any
reference (an Oracle, an ASE calculator, a plain function) to check it or to label a
reference; :func:`normal_modes` turns a Hessian and masses into harmonic frequencies (cm⁻¹)
and normal modes with translations and rotations projected out (Wilson, Decius & Cross,
*Molecular Vibrations*, 1955, ch. 2; the Eckart projection as in Gaussian's "Vibrational
Analysis in Gaussian" white paper).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.frame import Frame
from pesforge.models.potential import Potential


def _omega_to_cm1() -> float:
    """Factor from sqrt(eV / (Å² amu)) (an angular frequency) to wavenumbers in cm⁻¹."""
    from ase import units  # CODATA values, as in pesforge.units

    # hbar*omega in eV = sqrt(eigenvalue) * hbar * 1e10 / sqrt(e * amu); cm^-1 = eV / invcm
    return units._hbar * 1e10 / np.sqrt(units._e * units._amu) / units.invcm


#: Multiply sqrt(eigenvalue of the mass-weighted Hessian in eV/(Å² amu)) by this for cm⁻¹.
OMEGA_TO_CM1 = _omega_to_cm1()


class _Displaced(Potential):
    """``potential`` evaluated at positions + u, with u a zero (A, 3) leaf we differentiate by.

    :func:`pesforge.models.autograd.compute` makes its own positions leaf; adding u inside the
    forward pass lets the forces it returns (with their graph) be differentiated by u, which
    equals differentiating them by the positions.
    """

    def __init__(self, potential: Potential, u: torch.Tensor):
        super().__init__()
        self.inner = potential
        self.u = u
        self.cutoff = potential.cutoff
        self.reads = potential.reads

    def forward(self, batch):
        batch = dict(batch)
        batch[K.POSITIONS] = batch[K.POSITIONS] + self.u
        return self.inner(batch)


def model_hessian(potential: Potential, frame: Frame, *,
                  dtype: torch.dtype = torch.float64) -> np.ndarray:
    """The Hessian d²E/dR² of a model at one structure, by autograd through its forces.

    The forces come from :func:`pesforge.models.autograd.compute` with ``training=True`` (their
    graph kept) and each row of the Hessian is one more backward pass. The neighbour list is
    that of ``frame`` (the derivative is local, so this is exact).

    Args:
        potential: any Potential; evaluated on a copy cast to ``dtype`` if its dtype differs.
        frame: the structure (N atoms; periodic or not).
        dtype: evaluation dtype (float64 recommended).

    Returns:
        (3N, 3N) float64 array in eV/Å², index ``3 * atom + axis``, symmetrised.
    """
    from pesforge.data.batch import collate, to
    from pesforge.models.autograd import compute

    if potential.dtype != dtype:
        potential = copy.deepcopy(potential).to(dtype=dtype)
    device = next((p.device for p in potential.parameters()), torch.device("cpu"))
    batch = to(collate([frame], potential.cutoff, dtype=dtype), device)
    u = torch.zeros_like(batch[K.POSITIONS], requires_grad=True)
    wrapped = _Displaced(potential, u)
    was_training = potential.training
    potential.eval()
    try:
        forces = compute(wrapped, batch, forces=True, training=True)[K.FORCES].reshape(-1)
        if not forces.requires_grad:  # energy independent of positions: zero Hessian
            n = forces.numel()
            return np.zeros((n, n))
        rows = _jacobian_rows(forces, u)
    finally:
        potential.train(was_training)
    hessian = -rows.reshape(forces.numel(), -1).detach().cpu().double().numpy()
    return 0.5 * (hessian + hessian.T)


def _jacobian_rows(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """d outputs / d inputs as an (n_out, *inputs.shape) tensor (batched backward if possible)."""
    n = outputs.numel()
    eye = torch.eye(n, dtype=outputs.dtype, device=outputs.device)
    try:
        (jac,) = torch.autograd.grad(outputs, inputs, eye, retain_graph=True,
                                     is_grads_batched=True, allow_unused=True)
    except RuntimeError:  # an op without a batching rule: one backward pass per row
        jac = None
        grads = []
        for k in range(n):
            (g,) = torch.autograd.grad(outputs[k], inputs, retain_graph=True, allow_unused=True)
            grads.append(torch.zeros_like(inputs) if g is None else g)
        return torch.stack(grads)
    return torch.zeros((n, *inputs.shape), dtype=outputs.dtype) if jac is None else jac


EnergyForces = Callable[[Frame], tuple[float, np.ndarray]]


def as_energy_forces(reference: Any) -> EnergyForces:
    """Wrap an Oracle, an ASE calculator, a Potential or a ``frame -> (E, F)`` function.

    Returns a function ``frame -> (energy eV, forces (N, 3) eV/Å)``.
    """
    if isinstance(reference, Potential):
        from pesforge.data.batch import collate
        from pesforge.models.autograd import compute

        def from_potential(frame: Frame):
            batch = collate([frame], reference.cutoff, dtype=reference.dtype)
            out = compute(reference, batch, forces=True)
            return float(out[K.ENERGY][0]), out[K.FORCES].double().cpu().numpy()

        return from_potential
    if hasattr(reference, "compute") and hasattr(reference, "level_of_theory"):  # an Oracle
        def from_oracle(frame: Frame):
            label = reference.compute(frame)
            if label.forces is None:
                raise ValueError(f"oracle {type(reference).__name__} gives no forces")
            return label.energy, np.asarray(label.forces, dtype=np.float64)

        return from_oracle
    if hasattr(reference, "get_potential_energy") or hasattr(reference, "calculate"):
        def from_calculator(frame: Frame):
            atoms = frame.to_atoms()
            atoms.calc = reference
            return float(atoms.get_potential_energy()), np.asarray(atoms.get_forces(),
                                                                   dtype=np.float64)

        return from_calculator
    if callable(reference):
        return reference
    raise TypeError(f"cannot get energies and forces from {type(reference).__name__}; pass a "
                    "Potential, an Oracle, an ASE calculator or a function frame -> (E, F)")


def finite_difference_hessian(energy_forces: EnergyForces | Any, frame: Frame, *,
                              delta: float = 0.005) -> np.ndarray:
    """The Hessian by central differences of forces, H[:, k] = -(F(R+δe_k) - F(R-δe_k)) / 2δ.

    Args:
        energy_forces: ``frame -> (energy, forces)``; an Oracle, ASE calculator or Potential
            is wrapped by :func:`as_energy_forces`.
        frame: the structure (N atoms).
        delta: displacement in Å.

    Returns:
        (3N, 3N) float64 array in eV/Å², symmetrised; 6N force evaluations.
    """
    if delta <= 0:
        raise ValueError(f"delta must be positive, got {delta}")
    energy_forces = as_energy_forces(energy_forces)
    n = len(frame)
    hessian = np.zeros((3 * n, 3 * n))
    for k in range(3 * n):
        forces = []
        for sign in (1.0, -1.0):
            displaced = copy.deepcopy(frame)
            displaced.positions[k // 3, k % 3] += sign * delta
            forces.append(np.asarray(energy_forces(displaced)[1], dtype=np.float64).reshape(-1))
        hessian[:, k] = -(forces[0] - forces[1]) / (2 * delta)
    return 0.5 * (hessian + hessian.T)


def rigid_body_modes(positions: np.ndarray, masses: np.ndarray, *,
                     rotations: bool = True, tol: float = 1e-6) -> np.ndarray:
    """Orthonormal mass-weighted translation (and rotation) vectors, (k, 3N), k = 3, 5 or 6.

    Rotations about the centre of mass are included when ``rotations``; a linear molecule gives
    only two independent ones (directions with norm below ``tol`` relative are dropped).
    """
    positions = np.asarray(positions, dtype=np.float64)
    sqrt_m = np.sqrt(np.asarray(masses, dtype=np.float64))
    n = len(sqrt_m)
    vectors = []
    for axis in range(3):
        t = np.zeros((n, 3))
        t[:, axis] = sqrt_m
        vectors.append(t.reshape(-1))
    if rotations:
        centre = (masses[:, None] * positions).sum(0) / masses.sum()
        r = positions - centre
        for axis in np.eye(3):
            vectors.append((np.cross(axis, r) * sqrt_m[:, None]).reshape(-1))
    basis = np.array(vectors).T  # (3N, k)
    u, s, _ = np.linalg.svd(basis, full_matrices=False)
    keep = s > tol * max(s.max(), 1.0)
    return u[:, keep].T


def normal_modes(hessian: np.ndarray, masses: np.ndarray, positions: np.ndarray | None = None,
                 *, remove: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Harmonic frequencies and normal modes from a Cartesian Hessian.

    The mass-weighted Hessian M^-1/2 H M^-1/2 is projected onto the space orthogonal to rigid
    translations (and rotations) and diagonalised there, so exactly 3N-6 (3N-5 linear) modes
    remain for a molecule.

    Args:
        hessian: (3N, 3N) eV/Å².
        masses: (N,) amu.
        positions: (N, 3) Å; needed to remove rotations.
        remove: ``"auto"`` (translations and rotations if ``positions`` is given, else
            translations), ``"rotations"`` (both), ``"translations"`` or ``"none"``.

    Returns:
        ``frequencies`` (M,) cm⁻¹, ascending; imaginary frequencies are returned negative.
        ``modes`` (M, N, 3): Cartesian displacement vectors, mass-orthonormal
        (``sum_a m_a x_ia . x_ja = δ_ij``, unit Å·amu^½ per unit of normal coordinate), so a
        displacement ``q * modes[i]`` has harmonic energy ``½ (ω_i q)²`` with
        ``ω_i = frequencies[i] / OMEGA_TO_CM1`` in sqrt(eV/(Å² amu)).
    """
    hessian = np.asarray(hessian, dtype=np.float64)
    masses = np.asarray(masses, dtype=np.float64).reshape(-1)
    n = len(masses)
    if hessian.shape != (3 * n, 3 * n):
        raise ValueError(f"hessian must be ({3 * n}, {3 * n}) for {n} masses, "
                         f"got {hessian.shape}")
    if np.any(masses <= 0):
        raise ValueError("masses must be positive")
    if remove == "auto":
        remove = "rotations" if positions is not None else "translations"
    if remove == "rotations" and positions is None:
        raise ValueError("removing rotations needs positions")
    inv_sqrt_m = np.repeat(1.0 / np.sqrt(masses), 3)
    weighted = hessian * inv_sqrt_m[:, None] * inv_sqrt_m[None, :]
    weighted = 0.5 * (weighted + weighted.T)
    if remove == "none":
        internal = np.eye(3 * n)
    elif remove in ("rotations", "translations"):
        rigid = rigid_body_modes(np.zeros((n, 3)) if positions is None else positions, masses,
                                 rotations=remove == "rotations")
        # orthonormal complement of the rigid-body vectors
        projector = np.eye(3 * n) - rigid.T @ rigid
        w, v = np.linalg.eigh(projector)
        internal = v[:, w > 0.5]
    else:
        raise ValueError(f"remove must be auto, rotations, translations or none, not {remove!r}")
    eigvals, eigvecs = np.linalg.eigh(internal.T @ weighted @ internal)
    vectors = internal @ eigvecs  # (3N, M), mass-weighted, orthonormal
    frequencies = np.sign(eigvals) * np.sqrt(np.abs(eigvals)) * OMEGA_TO_CM1
    modes = (vectors * inv_sqrt_m[:, None]).T.reshape(-1, n, 3)
    return frequencies, modes


__all__ = ["model_hessian", "finite_difference_hessian", "normal_modes", "rigid_body_modes",
           "as_energy_forces", "OMEGA_TO_CM1"]
