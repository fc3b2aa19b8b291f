"""Ethanol frequency benchmark reference: PySCF RKS PBE/def2-SVP analytic harmonic frequencies.

The geometry (rMD17 ethanol, training frame 0) is pre-relaxed with GFN2-xTB (tblite), then
optimised with ASE's BFGS on PySCF gradients (started from the xTB Hessian to save steps);
the analytic Hessian (density fitting, def2-universal-jfit) gives the frequencies through
pesforge.analysis.hessian.normal_modes, the same projection used for the model. The optimised
geometry is checkpointed (``<out>.geometry.json``) so a rerun goes straight to the Hessian.
Writes JSON (geometry, energy, frequencies cm⁻¹, timings). Run once, in the background:

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/analysis/ethanol_pyscf_reference.py \
        benchmarks/analysis/results/ethanol_pyscf_pbe_def2svp.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

from pesforge import units
from pesforge.analysis.hessian import finite_difference_hessian, normal_modes, rigid_body_modes
from pesforge.data.datasets import rmd17
from pesforge.data.frame import Frame
from pesforge.fileio import write_json

XC, BASIS, AUXBASIS = "PBE", "def2-SVP", "def2-universal-jfit"


def build(atoms):
    from pyscf import dft, gto

    mol = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                basis=BASIS, unit="Angstrom", verbose=0)
    mf = dft.RKS(mol).density_fit(auxbasis=AUXBASIS)
    mf.xc = XC
    mf.conv_tol = 1e-10
    mf.grids.level = 3
    return mf


class PySCFCalculator(Calculator):
    """Energy and forces of the PySCF method above (eV, eV/Å); reuses the last density."""

    implemented_properties = ["energy", "forces"]
    dm = None

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        mf = build(self.atoms)
        energy = mf.kernel(dm0=self.dm)
        if not mf.converged:
            raise RuntimeError("SCF not converged")
        self.dm = mf.make_rdm1()
        grad = mf.nuc_grad_method().kernel()
        self.results = {"energy": energy * units.HARTREE,
                        "forces": -grad * units.HARTREE / units.BOHR}


def xtb_start(atoms):
    """GFN2-xTB relaxed geometry and a positive-definite Cartesian Hessian for BFGS."""
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    atoms = atoms.copy()
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    BFGS(atoms, logfile=None).run(fmax=1e-3, steps=500)
    h = finite_difference_hessian(TBLite(method="GFN2-xTB", verbosity=0),
                                  Frame.from_atoms(atoms), delta=0.005)
    rigid = rigid_body_modes(atoms.positions, np.ones(len(atoms)))
    p = rigid.T @ rigid
    q = np.eye(len(p)) - p
    w, v = np.linalg.eigh(q @ h @ q + 70.0 * p)
    return atoms, (v * np.maximum(w, 0.5)) @ v.T


def optimise(atoms, checkpoint: Path) -> tuple:
    from ase.optimize import BFGS

    if checkpoint.is_file():
        data = json.loads(checkpoint.read_text())
        atoms.positions = np.array(data["positions"])
        return atoms, data
    start = time.time()
    atoms, h0 = xtb_start(atoms)
    atoms.calc = PySCFCalculator()
    opt = BFGS(atoms, logfile="-")
    opt.H0 = h0
    opt.run(fmax=2e-3, steps=200)
    data = {"positions": atoms.positions.tolist(), "optimiser_steps": opt.nsteps,
            "max_force_eV_per_A": float(np.linalg.norm(atoms.get_forces(), axis=1).max()),
            "seconds_optimise": time.time() - start}
    write_json(checkpoint, data)
    return atoms, data


def main(out: str) -> None:
    atoms = rmd17("ethanol", "train", index=0)[0].to_atoms()
    atoms, geometry = optimise(atoms, Path(out + ".geometry.json"))
    print(f"optimised: {geometry}", flush=True)
    mf = build(atoms)
    energy = mf.kernel()
    t0 = time.time()
    hess = mf.Hessian().kernel()  # (N, N, 3, 3) Hartree/Bohr²
    t_hess = time.time() - t0
    n = len(atoms)
    hessian = hess.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n) * units.HARTREE / units.BOHR ** 2
    freqs, _ = normal_modes(hessian, atoms.get_masses(), atoms.positions)
    result = {
        "method": f"RKS {XC}/{BASIS} (density fitting {AUXBASIS}, grid level 3), PySCF",
        "symbols": atoms.get_chemical_symbols(), "energy_eV": energy * units.HARTREE,
        **geometry, "frequencies_cm1": freqs.tolist(), "hessian_eV_per_A2": hessian.tolist(),
        "seconds_hessian": t_hess,
    }
    write_json(out, result)
    print("frequencies (cm-1):", np.round(freqs, 1).tolist())
    print(f"Hessian {t_hess:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1
         else "benchmarks/analysis/results/ethanol_pyscf_pbe_def2svp.json")
