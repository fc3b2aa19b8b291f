"""What every physics check shares: evaluation through the public path, and comparisons that
fail with a diagnostic message (which quantity, how large the error, where).

Every check evaluates a potential through :func:`pesforge.data.batch.collate` and
:func:`pesforge.models.autograd.compute`, in float64, so that it tests exactly what users run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate, to
from pesforge.data.frame import Frame
from pesforge.models.autograd import compute
from pesforge.models.potential import Potential

UNITS = {"energy": "eV", "atomic_energies": "eV", "forces": "eV/Å", "stress": "eV/Å³"}


@dataclass
class Evaluation:
    """One system's results in float64 numpy: energy (eV), atomic_energies (N,) eV,
    forces (N, 3) eV/Å or None, stress (3, 3) eV/Å³ (ASE sign) or None."""

    energy: float
    atomic_energies: np.ndarray
    forces: np.ndarray | None = None
    stress: np.ndarray | None = None


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a passed check: the largest error of each quantity and its tolerance."""

    name: str
    errors: dict[str, float] = field(default_factory=dict)
    tolerances: dict[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [f"{q} {e:.2e} {UNITS.get(q, '')} (tol {self.tolerances[q]:.1e})".replace("  ", " ")
                 for q, e in self.errors.items()]
        return f"{self.name}: " + ", ".join(parts)


def require_float64(potential: Potential) -> None:
    """Raise ValueError unless every floating parameter and buffer of ``potential`` is float64."""
    tensors = list(potential.named_parameters()) + list(potential.named_buffers())
    wrong = [f"{name} ({t.dtype})" for name, t in tensors
             if t.is_floating_point() and t.dtype != torch.float64]
    if wrong:
        raise ValueError(f"{type(potential).__name__}: physics checks run in float64 but "
                         f"{', '.join(wrong[:3])} are not; call potential.double() first")


def device_of(potential: Potential) -> torch.device:
    """The device of the potential's first parameter or buffer (CPU if it has none)."""
    for tensor in list(potential.parameters()) + list(potential.buffers()):
        return tensor.device
    return torch.device("cpu")


def receptive_field(potential: Potential) -> float:
    """How far (Å) an atom's energy can see: ``potential.receptive_field`` if a model defines it
    (message passing: layers x cutoff), else its ``cutoff``."""
    return float(getattr(potential, "receptive_field", potential.cutoff))


def evaluate(potential: Potential, systems: Sequence, *, forces: bool = True,
             stress: bool = False) -> list[Evaluation]:
    """Evaluate ``systems`` (ASE Atoms) as one float64 batch; one :class:`Evaluation` each."""
    frames = [Frame.from_atoms(atoms, source=f"<check system {n}>")
              for n, atoms in enumerate(systems)]
    batch = to(collate(frames, potential.cutoff, dtype=torch.float64), device_of(potential))
    out = compute(potential, batch, forces=forces, stress=stress)
    counts = batch[K.N_ATOMS].tolist()
    atomic = torch.split(out[K.ATOMIC_ENERGIES].double().cpu(), counts)
    force = torch.split(out[K.FORCES].double().cpu(), counts) if forces else [None] * len(counts)
    results = []
    for s in range(len(counts)):
        results.append(Evaluation(
            energy=float(out[K.ENERGY][s]),
            atomic_energies=atomic[s].numpy(),
            forces=None if force[s] is None else force[s].numpy(),
            stress=out[K.STRESS][s].double().cpu().numpy() if stress else None))
    return results


def evaluate_one(potential: Potential, atoms, *, forces: bool = True,
                 stress: bool = False) -> Evaluation:
    """:func:`evaluate` for a single system."""
    return evaluate(potential, [atoms], forces=forces, stress=stress)[0]


def as_systems(systems) -> list:
    """A list of ASE Atoms from one Atoms or a sequence of them."""
    return [systems] if hasattr(systems, "positions") else list(systems)


def periodic_3d(atoms) -> bool:
    """True when the system is periodic along all three cell vectors with a non-zero volume."""
    return bool(np.all(atoms.pbc)) and abs(np.linalg.det(atoms.cell.array)) > 1e-12


def describe_system(atoms) -> str:
    """A short label for messages: formula, size and periodicity."""
    pbc = "".join("T" if p else "F" for p in atoms.pbc)
    return f"{atoms.get_chemical_formula()} ({len(atoms)} atoms, pbc={pbc})"


def _where(index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    axes = "xyz"
    if len(shape) == 0:
        return ""
    if len(shape) == 1:
        return f"index {index[0]}"
    if shape == (3, 3):
        return f"component {axes[index[0]]}{axes[index[1]]}"
    if len(shape) == 2 and shape[1] == 3:
        return f"atom {index[0]}, component {axes[index[1]]}"
    return f"index {index}"


class Recorder:
    """Collects the largest error per quantity of one check; raises on the first violation."""

    def __init__(self, name: str):
        self.name = name
        self.errors: dict[str, float] = {}
        self.tolerances: dict[str, float] = {}

    def compare(self, quantity: str, actual, expected, *, atol: float, rtol: float = 0.0,
                context: str = "") -> float:
        """Max |actual - expected|; AssertionError if above ``atol + rtol * max|expected|``."""
        actual = np.asarray(actual, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if actual.shape != expected.shape:
            raise AssertionError(f"{self.name}: {quantity} has shape {actual.shape}, expected "
                                 f"{expected.shape} {context}")
        diff = np.abs(actual - expected)
        diff = np.where(np.isnan(diff), np.inf, diff)
        error = float(diff.max()) if diff.size else 0.0
        scale = float(np.abs(expected).max()) if expected.size else 0.0
        tol = atol + rtol * scale
        self.record(quantity, error, tol)
        if not error <= tol:  # also catches NaN
            where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
            unit = UNITS.get(quantity, "")
            at = _where(tuple(int(w) for w in where), diff.shape)
            raise AssertionError(
                f"{self.name} check failed {context}: {quantity} max error {error:.3e} {unit}"
                f"{' at ' + at if at else ''} (tolerance {tol:.1e}); "
                f"got {float(actual[where]):.10g}, expected {float(expected[where]):.10g}")
        return error

    def compare_evaluations(self, got: Evaluation, want: Evaluation, context: str,
                            atol: float, rtol: float) -> None:
        """Compare energy, per-atom energies and, where ``want`` has them, forces and stress."""
        self.compare("energy", got.energy, want.energy, atol=atol, rtol=rtol, context=context)
        self.compare("atomic_energies", got.atomic_energies, want.atomic_energies, atol=atol,
                     rtol=rtol, context=context)
        if want.forces is not None:
            self.compare("forces", got.forces, want.forces, atol=atol, rtol=rtol, context=context)
        if want.stress is not None:
            self.compare("stress", got.stress, want.stress, atol=atol, rtol=rtol, context=context)

    def record(self, quantity: str, error: float, tol: float) -> None:
        """Keep the largest error seen for ``quantity``."""
        if error >= self.errors.get(quantity, -1.0):
            self.errors[quantity] = error
            self.tolerances[quantity] = tol

    def result(self) -> CheckResult:
        return CheckResult(self.name, dict(self.errors), dict(self.tolerances))
