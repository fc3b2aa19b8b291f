"""Any ASE calculator as an oracle (EMT for quick periodic tests; VASP, ORCA, QE for users)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pesforge.data.frame import Frame, LevelOfTheory
from pesforge.oracles.base import Label, Oracle, OracleFailure


class ASEOracle(Oracle):
    """Label systems with an ASE calculator (results already in eV, Å, as ASE guarantees).

    Args:
        calculator: a calculator instance, or a zero-argument factory that builds one (a
            factory is what Dask workers need for calculators that cannot be pickled).
        level_of_theory: what to record for its labels, e.g. ``{"code": "ase", "method": "EMT"}``.
        stress: compute stress for fully periodic systems.
    """

    def __init__(self, calculator: Any | Callable[[], Any],
                 level_of_theory: LevelOfTheory | str | dict, *, stress: bool = True):
        self._calculator = calculator
        self._level = LevelOfTheory.parse(level_of_theory)
        if self._level is None:
            raise ValueError("ASEOracle needs a level_of_theory")
        self.stress = stress

    @property
    def level_of_theory(self) -> LevelOfTheory:
        return self._level

    def _calc(self):
        calc = self._calculator
        if isinstance(calc, type) or not hasattr(calc, "get_potential_energy"):
            return calc()  # a class or factory: a fresh calculator per call
        return calc

    def compute(self, frame: Frame) -> Label:
        atoms = frame.to_atoms()
        atoms.calc = self._calc()
        try:
            energy = float(atoms.get_potential_energy())
            forces = np.asarray(atoms.get_forces(), dtype=np.float64)
            stress = None
            if self.stress and bool(np.all(frame.pbc)):
                stress = np.asarray(atoms.get_stress(voigt=False), dtype=np.float64)
        except Exception as err:  # any calculator error is a failed call, never a label
            raise OracleFailure(f"{type(err).__name__}: {err}") from err
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            raise OracleFailure("non-finite energy or forces")
        return Label(energy=energy, forces=forces, stress=stress, level_of_theory=self._level)
