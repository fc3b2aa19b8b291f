"""Δ-learning: labels minus a baseline (file keys or a frozen model); the composite predicts
baseline + Δ."""

import numpy as np
import pytest
from ase.io import read as ase_read
from ase.io import write as ase_write

from pesforge.data.readers import read
from pesforge.data.validate import DataError
from pesforge.interfaces import Calculator
from pesforge.models.io import load_model, read_header
from pesforge.training import load_config, train
from pesforge.training.baseline import BaselineLabels, subtract
from pesforge.training.config import BaselineConfig, ConfigError
from pesforge.training.metrics import predict


def test_parse_cli_baseline():
    assert BaselineConfig.parse("base.safetensors").model == "base.safetensors"
    cfg = BaselineConfig.parse("labels:energy_pbe,forces_pbe")
    assert (cfg.energy_key, cfg.forces_key, cfg.stress_key) == ("energy_pbe", "forces_pbe", None)
    with pytest.raises(ValueError):
        BaselineConfig.parse("labels:")
    with pytest.raises(ValueError):
        BaselineConfig()


def test_subtract_refuses_missing_baseline_forces(ethanol_files):
    frames = read(ethanol_files[1])
    low = BaselineLabels(np.zeros(len(frames)), [None] * len(frames), [None] * len(frames))
    with pytest.raises(DataError, match="forces"):
        subtract(frames, low, "test")
    ok = BaselineLabels(np.ones(len(frames)), [f.forces * 0.5 for f in frames],
                        [None] * len(frames))
    delta = subtract(frames, ok, "test")
    assert np.allclose(delta[0].forces, 0.5 * frames[0].forces)
    assert delta[0].energy == pytest.approx(frames[0].energy - 1.0)


@pytest.fixture(scope="module")
def two_level_file(tmp_path_factory, ethanol_files):
    """extxyz with a 'high' level (the rMD17 labels) and a 'low' level (0.9 x forces and a
    geometry-dependent energy shift), so high - low is a smooth, non-trivial difference."""
    folder = tmp_path_factory.mktemp("delta")
    paths = []
    for name, src in (("train.xyz", ethanol_files[0]), ("test.xyz", ethanol_files[1])):
        atoms = []
        for f in read(src):
            a = f.to_atoms()
            d = a.get_all_distances()
            a.info.update(energy_high=f.energy, energy_low=f.energy - 0.05 * d.sum() / 2)
            a.arrays["forces_high"] = f.forces
            a.arrays["forces_low"] = 0.9 * f.forces
            del a.info["REF_energy"], a.arrays["REF_forces"]
            atoms.append(a)
        ase_write(folder / name, atoms, format="extxyz")
        paths.append(str(folder / name))
    return paths


def test_file_key_baseline_trains_on_the_difference(two_level_file, tiny, tmp_path):
    train_file, test_file = two_level_file
    config = load_config(None, tiny(train_file, test_file, output=str(tmp_path / "run"),
                                    **{"data.energy_key": "energy_high",
                                       "data.forces_key": "forces_high",
                                       "baseline": {"energy_key": "energy_low",
                                                    "forces_key": "forces_low"}}))
    result = train(config, progress=False)
    header = read_header(tmp_path / "run" / "model.safetensors")
    assert header["extra"]["baseline"]["energy_key"] == "energy_low"
    # The test metrics are those of Δ against high - low, frame by frame.
    test = read(test_file, energy_key="energy_high", forces_key="forces_high")
    p = predict(result.model, test)
    low = ase_read(test_file, ":")
    e_low = np.array([a.info["energy_low"] for a in low])
    f_low = np.concatenate([a.arrays["forces_low"] for a in low])
    e_err = np.abs(p.energy_pred + e_low - p.energy_ref).mean() * 1000
    f_err = np.abs(p.forces_pred + f_low - p.forces_ref).mean() * 1000
    assert e_err == pytest.approx(result.metrics["test"]["energy_mae_meV"], rel=1e-9)
    assert f_err == pytest.approx(result.metrics["test"]["force_mae_meV_per_A"], rel=1e-9)


def test_model_baseline_saves_a_composite(ethanol_files, tiny, tmp_path):
    train_file, test_file = ethanol_files
    base = train(load_config(None, tiny(train_file, output=str(tmp_path / "base"))),
                 progress=False)
    base_path = tmp_path / "base" / "model.safetensors"
    run = tmp_path / "delta"
    result = train(load_config(None, tiny(train_file, test_file, output=str(run),
                                          baseline={"model": str(base_path)})), progress=False)
    composite = load_model(run / "model.safetensors")
    delta = load_model(run / "delta.safetensors")
    frames = read(test_file)
    p_c, p_b, p_d = (predict(m, frames) for m in (composite, base.model, delta))
    assert np.allclose(p_c.energy_pred, p_b.energy_pred + p_d.energy_pred, atol=1e-9)
    assert np.allclose(p_c.forces_pred, p_b.forces_pred + p_d.forces_pred, atol=1e-9)
    # The composite's errors against the labels are the reported test metrics.
    mae = np.abs(p_c.forces_pred - p_c.forces_ref).mean() * 1000
    assert mae == pytest.approx(result.metrics["test"]["force_mae_meV_per_A"], rel=1e-6)
    # ... and it is one ASE calculator.
    atoms = frames[0].to_atoms()
    atoms.calc = Calculator(composite)
    assert atoms.get_potential_energy() == pytest.approx(p_c.energy_pred[0], abs=1e-8)


def test_resume_refuses_a_changed_baseline(ethanol_files, tiny, tmp_path):
    train_file, _ = ethanol_files
    out = str(tmp_path / "run")
    train(load_config(None, tiny(train_file, output=out, **{"optimizer.max_epochs": 1})),
          progress=False)
    changed = load_config(None, tiny(train_file, output=out,
                                     baseline={"model": "elsewhere.safetensors"}))
    with pytest.raises((ConfigError, FileNotFoundError)):
        train(changed, progress=False, resume=True)


def test_oracle_baseline_labels_once_and_saves_oracle_plus_delta(ethanol_files, tiny, tmp_path):
    pytest.importorskip("tblite")
    from pesforge.models.oracle_term import OracleTerm
    from pesforge.oracles.store import LabelStore

    train_file, test_file = ethanol_files
    out = tmp_path / "run"
    overrides = tiny(train_file, test_file, output=str(out), **{"optimizer.max_epochs": 2},
                     baseline={"oracle": {"kind": "tblite", "config": {}},
                               "labeling": {"cluster": "serial"}})
    result = train(load_config(None, overrides), progress=False)
    composite = load_model(out / "model.safetensors")
    assert isinstance(composite.terms[0], OracleTerm)
    store = LabelStore(out / "baseline_labels.db")
    counts = store.counts()
    assert counts["done"] == 30 + 8 and counts["attempts"] == 38  # train+validation, test
    # The composite's test errors against the PBE labels are the reported metrics.
    p = predict(composite, read(test_file))
    mae = np.abs(p.forces_pred - p.forces_ref).mean() * 1000
    assert mae == pytest.approx(result.metrics["test"]["force_mae_meV_per_A"], rel=1e-6)
    # Resuming with more epochs repeats no oracle call.
    overrides["optimizer.max_epochs"] = 3
    train(load_config(None, overrides), progress=False, resume=True)
    assert LabelStore(out / "baseline_labels.db").counts()["attempts"] == 38
