"""The oracle interface: one system in, reference labels (or a recorded failure) out.

An oracle is the expensive reference method that labels structures (PySCF DFT/CCSD(T),
GFN2-xTB, any ASE calculator). Every implementation converts its own units to pesforge's at
this boundary: energies in eV, forces in eV/Å, stress in eV/Å³ (ASE sign), and attaches the
:class:`~pesforge.data.frame.LevelOfTheory` it computed at, so datasets can refuse to mix
levels. A calculation that does not give a trustworthy label (SCF not converged, crashed code)
raises :class:`OracleFailure`; callers record it and never turn it into a label.
"""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pesforge.data.frame import Frame, LevelOfTheory


class OracleFailure(RuntimeError):
    """An oracle call that produced no trustworthy label; ``reason`` says why."""

    def __init__(self, reason: str, *, retryable: bool = True):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass
class Label:
    """What one successful oracle call returns, in pesforge units.

    Attributes:
        energy: total energy, eV.
        forces: (N, 3) eV/Å, or None when the oracle gives no forces.
        stress: (3, 3) eV/Å³ (ASE sign) for periodic systems, else None.
        level_of_theory: the method, basis, code ... of this label.
        seconds: wall time of the call.
        info: oracle-specific extras (SCF iterations, dipole in e·Å, ...).
    """

    energy: float
    forces: np.ndarray | None
    stress: np.ndarray | None
    level_of_theory: LevelOfTheory
    seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)


class Oracle(ABC):
    """Base class of reference methods.

    Subclasses implement :meth:`compute` and set :attr:`level_of_theory`. They must be
    picklable (plain attributes only) so that Dask can ship them to workers.
    """

    #: Whether :meth:`compute` returns forces.
    gives_forces: bool = True

    @property
    @abstractmethod
    def level_of_theory(self) -> LevelOfTheory:
        """The level of theory of every label this oracle returns."""

    @abstractmethod
    def compute(self, frame: Frame) -> Label:
        """Label one system (positions in Å). Raises :class:`OracleFailure` on failure."""

    def label(self, frame: Frame) -> Frame:
        """A copy of ``frame`` carrying this oracle's labels and level of theory."""
        start = time.perf_counter()
        result = self.compute(frame)
        result.seconds = result.seconds or time.perf_counter() - start
        info = dict(frame.info)
        info["oracle_seconds"] = result.seconds
        info.update({f"oracle_{k}": v for k, v in result.info.items()})
        return dataclasses.replace(frame, energy=result.energy, forces=result.forces,
                                   stress=result.stress, level_of_theory=result.level_of_theory,
                                   info=info)

    def __call__(self, frame: Frame) -> Frame:
        return self.label(frame)
