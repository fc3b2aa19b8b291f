"""Relabel rMD17 ethanol frames at CCSD(T)/cc-pVDZ and MP2/cc-pVDZ with PySCF (Δ-learning data).

For each chosen frame of the bundled rMD17 ethanol split 01 this computes, with one RHF
reference (cc-pVDZ, conv_tol 1e-10, frozen 1s cores of C and O):

- energy_hf, energy_mp2, energy_ccsd, energy_ccsdt (eV);
- forces_mp2 (eV/Å, analytic MP2 gradient);

and keeps the rMD17 PBE/def2-SVP labels as energy_pbe / forces_pbe (the low level). Frames are
taken in the order test, train, train, test, train, train, ... from seeded permutations, so
any prefix of the output is a usable (1/3 test, 2/3 train) data set.

Output: one extxyz file (ASE-readable), rewritten atomically after every frame; a killed run
restarts where it stopped (frames already in the file are skipped, nothing is recomputed).
About 15 s a frame on 2 idle cores.

    python benchmarks/data/make_ethanol_cc.py --n-train 200 --n-test 100 \
        --output src/pesforge/resources/ethanol_cc_pvdz.xyz
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write

from pesforge.data.datasets import rmd17
from pesforge.fileio import atomic_write
from pesforge.units import BOHR, HARTREE

LEVEL = ("PySCF {version}; RHF/cc-pVDZ reference, conv_tol 1e-10; frozen core (C, O 1s); "
         "MP2 analytic gradient; CCSD conv_tol 1e-8 + (T)")


def order(n_train: int, n_test: int, seed: int) -> list[tuple[str, int]]:
    """(split, index) pairs, interleaved one test to two train frames."""
    rng = np.random.default_rng(seed)
    train = list(rng.permutation(1000)[:n_train])
    test = list(rng.permutation(1000)[:n_test])
    out = []
    while train or test:
        if test:
            out.append(("test", int(test.pop(0))))
        for _ in range(2):
            if train:
                out.append(("train", int(train.pop(0))))
    return out


def label(numbers: np.ndarray, positions: np.ndarray) -> dict:
    """CCSD(T), CCSD, MP2 and HF energies (eV) and MP2 forces (eV/Å) at cc-pVDZ."""
    from pyscf import cc, gto, mp, scf

    mol = gto.M(atom=[(int(z), p) for z, p in zip(numbers, positions)], basis="cc-pvdz",
                unit="Angstrom", verbose=0)
    n_core = int(sum(1 for z in numbers if z > 2))
    mf = scf.RHF(mol)
    mf.conv_tol = 1e-10
    e_hf = mf.kernel()
    if not mf.converged:
        raise RuntimeError("RHF did not converge")
    mp2 = mp.MP2(mf).set(frozen=n_core)
    e_mp2 = mp2.kernel()[0]
    grad = mp2.nuc_grad_method().kernel()
    ccsd = cc.CCSD(mf).set(frozen=n_core)
    ccsd.conv_tol = 1e-8
    e_ccsd = ccsd.kernel()[0]
    if not ccsd.converged:
        raise RuntimeError("CCSD did not converge")
    e_t = ccsd.ccsd_t()
    return {
        "energy_hf": e_hf * HARTREE,
        "energy_mp2": (e_hf + e_mp2) * HARTREE,
        "energy_ccsd": (e_hf + e_ccsd) * HARTREE,
        "energy_ccsdt": (e_hf + e_ccsd + e_t) * HARTREE,
        "forces_mp2": -np.asarray(grad) * HARTREE / BOHR,
    }


def main() -> None:
    import pyscf

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=200)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--output", type=Path,
                        default=Path("src/pesforge/resources/ethanol_cc_pvdz.xyz"))
    args = parser.parse_args()

    frames: list[Atoms] = read(args.output, ":") if args.output.is_file() else []
    done = {(a.info["rmd17_split"], a.info["rmd17_index"]) for a in frames}
    data = {s: rmd17("ethanol", s) for s in ("train", "test")}
    todo = [k for k in order(args.n_train, args.n_test, args.seed) if k not in done]
    print(f"{len(done)} frames labelled, {len(todo)} to go -> {args.output}", flush=True)
    for split, index in todo:
        frame = data[split][index]
        start = time.perf_counter()
        result = label(frame.numbers, frame.positions)
        atoms = Atoms(numbers=frame.numbers, positions=frame.positions)
        atoms.info.update(rmd17_split=split, rmd17_index=index,
                          energy_pbe=float(frame.energy),
                          level_of_theory=LEVEL.format(version=pyscf.__version__),
                          **{k: float(v) for k, v in result.items() if k.startswith("energy")})
        atoms.arrays["forces_pbe"] = np.asarray(frame.forces, dtype=float)
        atoms.arrays["forces_mp2"] = result["forces_mp2"]
        frames.append(atoms)
        atomic_write(args.output, lambda tmp: write(tmp, frames, format="extxyz"))
        print(f"{len(frames):4d} {split:5s} {index:4d}  E_CCSD(T)-E_PBE = "
              f"{result['energy_ccsdt'] - frame.energy:.4f} eV  "
              f"({time.perf_counter() - start:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
