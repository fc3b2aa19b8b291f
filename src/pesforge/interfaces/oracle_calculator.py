"""An ASE calculator around an :class:`~pesforge.oracles.Oracle`, so ASE dynamics and
optimisers can run on any reference method (xTB, PySCF, EMT ...).

Each call labels one system with :meth:`Oracle.compute`; an :class:`OracleFailure` propagates
(dynamics on a failed label would be meaningless).
"""

from __future__ import annotations

import numpy as np
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from pesforge.data.frame import Frame


class OracleCalculator(Calculator):
    """ASE calculator giving ``energy``/``free_energy`` (eV), ``forces`` (eV/Å) and, when the
    oracle returns it, ``stress`` (Voigt, eV/Å³, ASE sign). ``last_label`` keeps the last
    :class:`~pesforge.oracles.Label` (with its level of theory)."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, oracle, **kwargs):
        super().__init__(**kwargs)
        self.oracle = oracle
        self.last_label = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        frame = Frame.from_atoms(self.atoms, source="<oracle calculator>")
        label = self.oracle.compute(frame)
        self.last_label = label
        if label.forces is None and "forces" in properties:
            raise PropertyNotImplementedError(f"{type(self.oracle).__name__} gives no forces")
        self.results = {"energy": float(label.energy), "free_energy": float(label.energy)}
        if label.forces is not None:
            self.results["forces"] = np.asarray(label.forces, dtype=np.float64)
        if label.stress is not None:
            self.results["stress"] = full_3x3_to_voigt_6_stress(np.asarray(label.stress))
        elif "stress" in properties:
            raise PropertyNotImplementedError(f"{type(self.oracle).__name__} gave no stress")
