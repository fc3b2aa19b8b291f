"""GFN2-xTB (and GFN1-xTB) through ``tblite.interface``: a cheap oracle and sampler.

tblite works in atomic units (Bohr, Hartree); energies, gradients and the virial are converted
to eV, eV/Å and eV/Å³ here, at the oracle boundary. Its forces differ from PBE by ~35 %, so it
is a sampler (exploration, tests), not a labeller for DFT-quality potentials. Set
``OMP_WAIT_POLICY=passive`` on shared machines (its OpenMP threads spin otherwise).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pesforge import units
from pesforge.data.frame import Frame, LevelOfTheory
from pesforge.oracles.base import Label, Oracle, OracleFailure


class TBLiteConfig(BaseModel):
    """Settings of a tblite calculation.

    ``charge`` in e; ``uhf`` the number of unpaired electrons; ``accuracy`` tblite's numerical
    accuracy factor (smaller is tighter); ``electronic_temperature`` in K.
    """

    model_config = ConfigDict(extra="forbid")

    method: Literal["GFN2-xTB", "GFN1-xTB", "IPEA1-xTB"] = "GFN2-xTB"
    charge: float = 0.0
    uhf: int = Field(0, ge=0)
    accuracy: float = Field(1.0, gt=0.0)
    max_iterations: int = Field(250, ge=1)
    electronic_temperature: float = Field(300.0, gt=0.0)


class TBLiteOracle(Oracle):
    """Label systems with tblite (energy, forces, and stress for fully periodic cells).

    Args:
        config: a :class:`TBLiteConfig` or a dict of its fields.
    """

    def __init__(self, config: TBLiteConfig | dict | None = None, **fields):
        if config is None:
            config = TBLiteConfig(**fields)
        elif isinstance(config, dict):
            config = TBLiteConfig(**{**config, **fields})
        self.config = config

    @property
    def level_of_theory(self) -> LevelOfTheory:
        from importlib.metadata import version

        c = self.config
        return LevelOfTheory.parse({"code": "tblite", "version": version("tblite"),
                                    "method": c.method, "charge": c.charge, "uhf": c.uhf,
                                    "accuracy": c.accuracy,
                                    "electronic_temperature": c.electronic_temperature})

    def compute(self, frame: Frame) -> Label:
        try:
            from tblite.interface import Calculator
        except ImportError as err:  # pragma: no cover - optional dependency
            raise ImportError("TBLiteOracle needs tblite: pip install 'pesforge[oracles]' "
                              "(or pip install tblite)") from err
        c = self.config
        periodic = bool(np.any(frame.pbc))
        kwargs = {}
        if periodic:
            kwargs = {"lattice": frame.cell / units.BOHR, "periodic": frame.pbc}
        try:
            calc = Calculator(c.method, frame.numbers, frame.positions / units.BOHR,
                              charge=c.charge, uhf=c.uhf, **kwargs)
            calc.set("verbosity", 0)
            calc.set("accuracy", c.accuracy)
            calc.set("max-iter", c.max_iterations)
            calc.set("temperature", c.electronic_temperature * units.KB / units.HARTREE)
            result = calc.singlepoint()
            energy = float(result.get("energy")) * units.HARTREE
            forces = -np.asarray(result.get("gradient"), dtype=np.float64) * (
                units.HARTREE / units.BOHR)
            stress = None
            if bool(np.all(frame.pbc)):
                volume = abs(float(np.linalg.det(frame.cell)))
                stress = np.asarray(result.get("virial"), dtype=np.float64) * (
                    units.HARTREE / volume)
        except Exception as err:  # tblite raises TBLiteRuntimeError / ValueError on failure
            raise OracleFailure(f"tblite {c.method} failed on {frame.source}: "
                                f"{type(err).__name__}: {err}") from err
        if not np.isfinite(energy) or not np.all(np.isfinite(forces)):
            raise OracleFailure(f"tblite gave non-finite energy or forces on {frame.source}")
        return Label(energy=energy, forces=forces, stress=stress,
                     level_of_theory=self.level_of_theory)
