"""Reference energies for training and testing the learned functional: PySCF CCSD(T) totals of
small atoms, molecules and ions, cached as JSON in ``pesforge/xc/data/`` with the command that
made them.

Geometries are ASE's G2 set (``ase.build.molecule``, Å); ions keep the neutral geometry
(vertical ionisation energies and electron affinities). Energies are in Hartree (the unit of
PySCF and of the XC functional). One-electron systems (H, H2+) get their exact in-basis
energy (UHF).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
REFERENCE_FILE = DATA_DIR / "references_ccsdt_ccpvdz.json"
COMMAND = "python -m pesforge.xc.references --basis cc-pvdz"

#: name -> (G2 name, charge, 2S). The cation of X is "X+".
SPECIES: dict[str, tuple[str, int, int]] = {
    "H": ("H", 0, 1), "Li": ("Li", 0, 1), "C": ("C", 0, 2), "N": ("N", 0, 3),
    "O": ("O", 0, 2), "F": ("F", 0, 1),
    "H2": ("H2", 0, 0), "H2+": ("H2", 1, 1), "LiH": ("LiH", 0, 0), "CH4": ("CH4", 0, 0),
    "NH3": ("NH3", 0, 0), "H2O": ("H2O", 0, 0), "HF": ("HF", 0, 0), "N2": ("N2", 0, 0),
    "CO": ("CO", 0, 0), "OH": ("OH", 0, 1), "CN": ("CN", 0, 1),
    "Li+": ("Li", 1, 0), "C+": ("C", 1, 1), "N+": ("N", 1, 2), "O+": ("O", 1, 3),
    "H2O+": ("H2O", 1, 1), "NH3+": ("NH3", 1, 1), "OH-": ("OH", -1, 0), "F-": ("F", -1, 0),
}


@dataclass(frozen=True)
class Reaction:
    """An energy difference sum_k coef_k E(species_k) (Ha), e.g. an atomisation energy."""

    name: str
    terms: tuple[tuple[str, float], ...]


def atomisation(name: str) -> Reaction:
    """Atoms minus molecule (positive for a bound molecule)."""
    from ase.build import molecule

    atoms = molecule(SPECIES[name][0])
    terms = [(name, -1.0)] + [(s, float(list(atoms.get_chemical_symbols()).count(s)))
                              for s in sorted(set(atoms.get_chemical_symbols()))]
    return Reaction(f"AE({name})", tuple(terms))


def ionisation(name: str) -> Reaction:
    """Vertical ionisation potential E(X+) - E(X)."""
    return Reaction(f"IP({name})", ((f"{name}+", 1.0), (name, -1.0)))


def electron_affinity(name: str) -> Reaction:
    """E(X) - E(X-)."""
    return Reaction(f"EA({name})", ((name, 1.0), (f"{name}-", -1.0)))


def build_mol(name: str, basis: str = "cc-pvdz"):
    """The PySCF molecule of a species in :data:`SPECIES` (G2 geometry, Å)."""
    from ase.build import molecule
    from pyscf import gto

    if name not in SPECIES:
        raise KeyError(f"unknown species {name!r}; known: {', '.join(SPECIES)}")
    g2, charge, two_s = SPECIES[name]
    atoms = molecule(g2)
    geom = [(s, tuple(p)) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)]
    return gto.M(atom=geom, basis=basis, charge=charge, spin=two_s, unit="Angstrom",
                 verbose=0)


def ccsd_t_energy(mol) -> float:
    """All-electron (U)CCSD(T) total energy (Ha) on a (U)HF reference; UHF for one electron."""
    from pyscf import cc, scf

    mf = (scf.RHF(mol) if mol.spin == 0 else scf.UHF(mol)).run(conv_tol=1e-10)
    if not mf.converged:
        raise RuntimeError(f"HF did not converge for {mol.atom}")
    if mol.nelectron == 1:
        return float(mf.e_tot)
    mycc = cc.CCSD(mf).run(conv_tol=1e-8)
    if not mycc.converged:
        raise RuntimeError(f"CCSD did not converge for {mol.atom}")
    return float(mycc.e_tot + mycc.ccsd_t())


def load_references(path: str | Path = REFERENCE_FILE) -> dict[str, float]:
    """Cached reference total energies (Ha) by species name."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"reference file {path} does not exist; make it with: {COMMAND}")
    return {k: float(v["energy"]) for k, v in json.loads(path.read_text())["species"].items()}


def compute_references(names=None, basis: str = "cc-pvdz", path: str | Path = REFERENCE_FILE,
                       ) -> dict[str, float]:
    """Compute CCSD(T) energies for ``names`` (default all), writing the JSON after each
    species so an interrupted run resumes where it stopped."""
    from pesforge.fileio import write_json

    path = Path(path)
    data = json.loads(path.read_text()) if path.is_file() else {
        "method": "CCSD(T)", "basis": basis, "code": "PySCF", "unit": "Hartree",
        "geometry": "ASE G2 (ase.build.molecule); ions at the neutral geometry",
        "command": COMMAND, "species": {}}
    for name in names or SPECIES:
        if name in data["species"]:
            continue
        t0 = time.perf_counter()
        energy = ccsd_t_energy(build_mol(name, basis))
        data["species"][name] = {"energy": energy, "seconds": round(time.perf_counter() - t0, 2)}
        write_json(path, data)
        print(f"{name:6s} {energy:.8f} Ha", flush=True)
    return {k: v["energy"] for k, v in data["species"].items()}


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--basis", default="cc-pvdz")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    compute_references(args.names or None, basis=args.basis)
