"""EMT copper: stress–strain elastic constants and phonopy phonons at X and L (cm⁻¹).

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/analysis/copper_elastic_phonons.py
"""

from __future__ import annotations

import time

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.eos import EquationOfState
from ase.units import GPa

from pesforge.analysis.elastic import elastic_constants
from pesforge.analysis.phonons import phonon_frequencies
from pesforge.data.frame import Frame


def main() -> None:
    atoms = bulk("Cu", "fcc", a=3.6)
    volumes, energies = [], []
    for x in np.linspace(0.97, 1.03, 7):
        a = atoms.copy()
        a.set_cell(atoms.cell * x, scale_atoms=True)
        a.calc = EMT()
        volumes.append(a.get_volume())
        energies.append(a.get_potential_energy())
    v0, _, b0 = EquationOfState(volumes, energies).fit()
    atoms.set_cell(atoms.cell * (v0 / atoms.get_volume()) ** (1 / 3), scale_atoms=True)
    frame = Frame.from_atoms(atoms)
    start = time.time()
    c = elastic_constants(EMT(), frame)
    t_elastic = time.time() - start
    print(f"a0 = {(4 * v0) ** (1 / 3):.4f} Å; EOS bulk modulus {b0 / GPa:.1f} GPa")
    print("C (GPa):", {k: round(v, 1) for k, v in c.cubic().items()},
          f"B = {c.bulk_modulus():.1f} GPa ({t_elastic:.1f} s)")
    start = time.time()
    q = np.array([[0, 0, 0], [0.5, 0, 0.5], [0.5, 0.5, 0.5]])  # Γ, X, L (primitive fcc)
    freqs = phonon_frequencies(EMT(), frame, q, supercell=(4, 4, 4))
    for name, f in zip("ΓXL", freqs):
        print(f"{name}: {np.round(f, 1).tolist()} cm-1")
    print(f"phonopy 4x4x4 supercell: {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
