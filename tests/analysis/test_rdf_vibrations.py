"""g(r) of known structures; optimisation, frequencies and IR intensities of a molecule."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from _analysis_pairs import HarmonicPair
from pesforge.analysis.rdf import rdf, rdf_difference
from pesforge.analysis.vibrations import IR_KM_PER_MOL, optimize, vibrational_analysis
from pesforge.data.frame import Frame


def test_rdf_of_fcc_lattice_has_twelve_nearest_neighbours():
    a = 3.6
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(2)
    result = rdf([Frame.from_atoms(atoms)], r_max=5.0, n_bins=250)
    density = len(atoms) / atoms.get_volume()
    nn = a / np.sqrt(2)
    assert result.r[np.argmax(result.g)] == pytest.approx(nn, abs=0.02)
    assert result.coordination(nn + 0.1, density) == pytest.approx(12.0)
    assert result.coordination(a + 0.1, density) == pytest.approx(18.0)  # + 6 at a


def test_rdf_of_ideal_gas_is_one():
    rng = np.random.default_rng(0)
    frames = []
    for _ in range(4):
        pos = rng.uniform(0, 12.0, size=(400, 3))
        frames.append(Frame(numbers=np.full(400, 18), positions=pos, cell=np.eye(3) * 12.0,
                            pbc=True))
    result = rdf(frames, r_max=5.0, n_bins=10)
    assert np.all(np.abs(result.g[3:] - 1) < 0.1)
    assert rdf_difference(result, result)["rms"] == 0.0


def test_partial_rdf_and_bad_input():
    atoms = bulk("NaCl", "rocksalt", a=5.64).repeat(2)
    frame = Frame.from_atoms(atoms)
    na_cl = rdf([frame], r_max=4.5, n_bins=90, pair=(11, 17))
    na_na = rdf([frame], r_max=4.5, n_bins=90, pair=(11, 11))
    assert na_cl.r[np.argmax(na_cl.g)] == pytest.approx(2.82, abs=0.05)
    assert na_na.r[np.argmax(na_na.g)] == pytest.approx(5.64 / np.sqrt(2), abs=0.05)
    with pytest.raises(ValueError, match="no atoms of pair"):
        rdf([frame], pair=(1, 1))
    with pytest.raises(ValueError, match="at least one frame"):
        rdf([])


def test_optimize_and_ir_of_a_charged_diatomic():
    k, r0, q = 40.0, 1.13, 0.3
    pot = HarmonicPair(k=k, r0=r0)
    frame = Frame.from_atoms(Atoms("CO", positions=[[0, 0, 0], [0, 0, 1.3]]))
    relaxed, steps, fmax = optimize(pot, frame, fmax=1e-6)
    assert steps > 0 and fmax < 1e-6
    assert np.linalg.norm(relaxed.positions[1] - relaxed.positions[0]) == pytest.approx(r0)
    result = vibrational_analysis(pot, frame, charges=[q, -q], fmax=1e-6)
    m = relaxed.to_atoms().get_masses()
    mu = m[0] * m[1] / m.sum()
    assert result.frequencies.shape == (1,)
    # dμ/dQ = q / sqrt(μ) for the stretch; N_A/(12 ε0 c²) in km/mol per e²/amu ≈ 974.86
    assert IR_KM_PER_MOL == pytest.approx(974.86, rel=1e-3)
    assert result.ir_intensities[0] == pytest.approx(q ** 2 / mu * IR_KM_PER_MOL, rel=1e-9)
    # a generic dipole function differentiated numerically gives the same intensity
    by_function = vibrational_analysis(
        pot, frame, fmax=1e-6,
        dipole=lambda f: (np.array([q, -q])[:, None] * f.positions).sum(0))
    assert by_function.ir_intensities[0] == pytest.approx(result.ir_intensities[0], rel=1e-6)
    assert "| 1 |" in result.table()
    # the same through a charge model of pesforge.physics (fixed charges per element)
    from pesforge.analysis.vibrations import charge_model_dipole
    from pesforge.physics.charges import FixedCharges

    by_model = vibrational_analysis(pot, frame, fmax=1e-6,
                                    dipole=charge_model_dipole(FixedCharges({6: q, 8: -q})))
    assert by_model.ir_intensities[0] == pytest.approx(result.ir_intensities[0], rel=1e-6)
