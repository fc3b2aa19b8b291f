"""Reference methods (oracles): system in, labels in eV/Å with their level of theory out.

Implementations: :class:`PySCFOracle` (Kohn–Sham DFT, ``rmd17`` preset), :class:`TBLiteOracle`
(GFN2-xTB), :class:`ASEOracle` (any ASE calculator). :class:`LabelStore` keeps labels, pending
and failed calls in an SQLite file; :func:`label_pending` runs the calls through Dask.
"""

from pesforge.oracles.ase_oracle import ASEOracle
from pesforge.oracles.base import Label, Oracle, OracleFailure
from pesforge.oracles.labeling import LabelingConfig, LabelingReport, label_pending
from pesforge.oracles.pyscf_oracle import PRESETS, PySCFConfig, PySCFOracle
from pesforge.oracles.store import LabelStore, structure_hash
from pesforge.oracles.tblite_oracle import TBLiteConfig, TBLiteOracle

__all__ = ["ASEOracle", "Label", "Oracle", "OracleFailure", "PySCFOracle", "PySCFConfig",
           "PRESETS", "TBLiteOracle", "TBLiteConfig", "LabelStore", "structure_hash",
           "LabelingConfig", "LabelingReport", "label_pending"]
