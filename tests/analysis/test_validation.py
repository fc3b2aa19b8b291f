"""The validation checks: canonical statistics, NVE conservation with both MD engines,
errors by configuration type in k_B T, RDF comparison."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.lj import LennardJones as AseLJ

from _analysis_pairs import LennardJones
from pesforge import units
from pesforge.analysis.md_drivers import ASEMD, MDTrace, TorchMD
from pesforge.analysis.validation import (block_statistics, canonical_check,
                                          errors_by_config_type, nve_check, nvt_check,
                                          rdf_check)
from pesforge.data.frame import Frame

EPS, SIGMA, RC = 0.0104, 3.4, 7.0  # argon


@pytest.fixture(scope="module")
def argon():
    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)  # 32 atoms
    return Frame.from_atoms(atoms), LennardJones(epsilon=EPS, sigma=SIGMA, cutoff=RC)


def _trace(kinetic, dof):
    t = np.arange(len(kinetic), dtype=float)
    return MDTrace(t, np.zeros_like(t), kinetic, kinetic, dof, 10)


def test_canonical_check_accepts_gamma_and_rejects_narrow_samples():
    rng = np.random.default_rng(0)
    dof, temperature = 30.0, 300.0
    kt = units.KB * temperature
    samples = rng.gamma(dof / 2, kt, size=20000)
    good = canonical_check(_trace(samples, dof), temperature)
    assert good["passed"] and abs(good["z_mean"]) < 3.5
    assert good["temperature_std_K"] == pytest.approx(temperature * np.sqrt(2 / dof), rel=0.03)
    # right mean, half the canonical variance (as in a microcanonical run): rejected
    narrow = samples.mean() + (samples - samples.mean()) / np.sqrt(2)
    bad = canonical_check(_trace(narrow, dof), temperature)
    assert not bad["passed"] and bad["z_var"] < -3.5
    with pytest.raises(ValueError, match="samples"):
        block_statistics(np.ones(5))


@pytest.mark.parametrize("engine", ["torch", "ase"])
def test_nve_conserves_energy_and_fluctuations_scale_as_dt2(argon, engine):
    frame, pot = argon
    driver = TorchMD(pot) if engine == "torch" else ASEMD(pot)
    # a 160 fs run resolves drifts of ~0.1 eV/atom/ns (the fit sees part of an oscillation)
    result = nve_check(driver, frame, timesteps_fs=(4.0, 8.0), duration_fs=160.0,
                       temperature_K=40.0, max_drift_eV_per_atom_per_ns=0.1)
    assert result["passed"], [r["drift_eV_per_atom_per_ns"] for r in result["runs"]]
    assert 1.6 < result["fluctuation_order"] < 2.4
    for run in result["runs"]:
        assert run["fluctuation_eV_per_atom"] < 1e-2 * run["kinetic_std_eV_per_atom"] + 1e-6


def test_nvt_bussi_is_canonical_and_nve_is_not(argon):
    frame, pot = argon
    driver = TorchMD(pot, thermostat="bussi", tau_fs=20.0)
    nvt = nvt_check(driver, frame, temperature_K=40.0, timestep_fs=10.0, steps=200, seed=3)
    assert nvt["passed"], nvt
    assert nvt["dof"] == 3 * len(frame) - 3
    # NVE from 40 K equilibrates near 20 K (equipartition with the potential): not canonical
    nve = driver.run(frame, ensemble="nve", timestep_fs=10.0, steps=100, temperature_K=40.0)
    assert not canonical_check(nve, 40.0)["passed"]


def test_errors_by_config_type_in_kT(argon):
    frame, pot = argon
    calc = AseLJ(epsilon=EPS, sigma=SIGMA, rc=RC, smooth=False)
    frames, shift = [], 0.05  # eV added to the labels of type "shifted"
    for k in range(4):
        atoms = frame.to_atoms()
        atoms.rattle(0.05, seed=k)
        atoms.calc = calc
        kind = "exact" if k < 2 else "shifted"
        energy = atoms.get_potential_energy() + (shift if kind == "shifted" else 0.0)
        f = Frame.from_atoms(atoms, energy=energy, forces=atoms.get_forces())
        f.info["config_type"] = kind
        frames.append(f)
    result = errors_by_config_type(pot, frames, temperature_K=300.0)
    assert set(result) == {"exact", "shifted"}
    assert result["exact"]["energy_mae_kT"] < 1e-6
    assert result["exact"]["force_mae_meV_per_A"] < 1e-6
    kt = units.KB * 300.0
    assert result["shifted"]["energy_mae_kT"] == pytest.approx(shift / kt, rel=1e-6)
    assert result["shifted"]["energy_mae_kT_per_atom"] == pytest.approx(shift / kt / 32,
                                                                        rel=1e-6)


def test_rdf_check_of_identical_and_shifted_lattices(argon):
    frame, _ = argon
    same = rdf_check([frame], [frame], r_max=5.0, n_bins=50)
    assert same["rms"] == 0 and same["relative_l1"] == 0
    expanded = Frame.from_atoms(bulk("Ar", "fcc", a=5.6, cubic=True).repeat(2))
    assert rdf_check([expanded], [frame], r_max=5.0, n_bins=50)["relative_l1"] > 0.5
