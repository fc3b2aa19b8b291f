"""The unit system of pesforge and the converters used at its edges.

Inside pesforge every quantity is in eV, Å, fs, amu and elementary charges; stress is eV/Å³.
Readers, writers and oracles convert with the factors below and nowhere else. Physical
constants come from ASE's CODATA table so that pesforge and ASE agree to the last digit.
"""

from __future__ import annotations

from ase import units as _ase

#: 1 kcal/mol in eV (rMD17 labels are kcal/mol and kcal/mol/Å).
KCAL_PER_MOL = _ase.kcal / _ase.mol
#: 1 kJ/mol in eV.
KJ_PER_MOL = _ase.kJ / _ase.mol
#: 1 Hartree in eV.
HARTREE = _ase.Hartree
#: 1 Bohr in Å.
BOHR = _ase.Bohr
#: 1 GPa in eV/Å³.
GPA = _ase.GPa
#: Boltzmann constant in eV/K.
KB = _ase.kB
#: 1 fs in ASE's internal time unit (Å·sqrt(amu/eV)); multiply a time in fs by this for ASE.
FS_TO_ASE_TIME = _ase.fs

__all__ = ["KCAL_PER_MOL", "KJ_PER_MOL", "HARTREE", "BOHR", "GPA", "KB", "FS_TO_ASE_TIME"]
