"""Reference methods (oracles): system in, labels in eV/Å with their level of theory out."""

from pesforge.oracles.ase_oracle import ASEOracle
from pesforge.oracles.base import Label, Oracle, OracleFailure

__all__ = ["ASEOracle", "Label", "Oracle", "OracleFailure"]
