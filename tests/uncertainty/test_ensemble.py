"""Deep ensembles: training in one call, mean and spread, files, resume, the ASE calculator."""

import json

import numpy as np
import pytest
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.readers import read
from pesforge.models.autograd import compute
from pesforge.training.config import ConfigError
from pesforge.uncertainty import (Ensemble, ensemble_compute, ensemble_predict, load_ensemble,
                                  recalibrate, train_ensemble)


@pytest.fixture(scope="module")
def batch(ethanol_files, trained):
    frames = read(ethanol_files[1])
    return collate(frames[:4], trained.ensemble.cutoff, dtype=torch.float64)


def test_members_differ_and_share_one_split(trained):
    ensemble = trained.ensemble
    assert isinstance(ensemble, Ensemble) and len(ensemble) == 2
    resolved = [json.loads((p / "resolved.json").read_text()) for p in trained.member_outputs]
    assert [r["split"]["seed"] for r in resolved] == [0, 1]  # the members' seeds
    assert [r["split"]["split_seed"] for r in resolved] == [0, 0]
    assert len({tuple(r["split"]["validation_indices"]) for r in resolved}) == 1  # one split
    w = [m.networks.nets[0][0].weight.detach() for m in ensemble.members]
    assert not torch.allclose(w[0], w[1])
    for name in ("ensemble.safetensors", "ensemble_metrics.json", "calibration.png",
                 "ensemble.json"):
        assert (trained.output / name).is_file(), name


def test_mean_is_the_mean_of_members_and_std_positive(trained, batch):
    ensemble = trained.ensemble
    out = ensemble_compute(ensemble, batch, members=True)
    singles = [compute(m, batch, forces=True) for m in ensemble.members]
    energies = torch.stack([s[K.ENERGY] for s in singles])
    forces = torch.stack([s[K.FORCES] for s in singles])
    torch.testing.assert_close(out[K.ENERGY], energies.mean(0), rtol=0, atol=1e-10)
    torch.testing.assert_close(out[K.FORCES], forces.mean(0), rtol=0, atol=1e-10)
    s_e, s_f = float(ensemble.energy_std_scale), float(ensemble.forces_std_scale)
    expected_e = energies.std(0, correction=0) * s_e
    expected_f = ((forces - forces.mean(0)) ** 2).sum(-1).mean(0).sqrt() * s_f
    torch.testing.assert_close(out[K.ENERGY_STD], expected_e, rtol=1e-12, atol=0)
    torch.testing.assert_close(out[K.FORCES_STD], expected_f, rtol=1e-12, atol=0)
    assert out[K.ENERGY_STD].shape == (4,) and out[K.FORCES_STD].shape == (36,)
    assert torch.all(out[K.ENERGY_STD] > 0) and torch.all(out[K.FORCES_STD] > 0)
    # the ensemble is a Potential: compute() gives the same mean in one pass
    plain = compute(ensemble, batch, forces=True)
    torch.testing.assert_close(plain[K.FORCES], out[K.FORCES], rtol=0, atol=1e-10)
    torch.testing.assert_close(plain[K.ENERGY], out[K.ENERGY], rtol=0, atol=1e-10)


def test_ensemble_forces_are_minus_the_gradient(trained):
    from pesforge.testing import check_forces_finite_difference, molecule

    check_forces_finite_difference(trained.ensemble, [molecule(trained.ensemble.elements)])


def test_recalibration_scales_the_stds(trained, ethanol_files, batch):
    ensemble = trained.ensemble
    s_e, s_f = trained.scales
    assert s_e > 0 and s_f > 0
    assert float(ensemble.energy_std_scale) == pytest.approx(s_e)
    # refitting on the same validation frames gives the same factors (fitted from unit scales)
    frames = read(ethanol_files[0])
    validation = json.loads((trained.member_outputs[0] / "resolved.json").read_text())
    val = [frames[i] for i in validation["split"]["validation_indices"]]
    scaled = ensemble_compute(ensemble, batch)
    assert recalibrate(ensemble, val) == pytest.approx((s_e, s_f), rel=1e-10)
    ensemble.set_scales(1.0, 1.0)
    raw = ensemble_compute(ensemble, batch)
    ensemble.set_scales(s_e, s_f)
    torch.testing.assert_close(scaled[K.ENERGY_STD], raw[K.ENERGY_STD] * s_e)
    torch.testing.assert_close(scaled[K.FORCES_STD], raw[K.FORCES_STD] * s_f)
    # after recalibration the validation errors are exactly "one predicted sigma" on average
    p = ensemble_predict(ensemble, val)
    e = p.energy_pred - p.energy_ref
    assert np.mean(e**2 / p.energy_sigma() ** 2) == pytest.approx(1.0, rel=1e-8)
    with pytest.raises(ValueError, match="positive"):
        ensemble.set_scales(energy=0.0)


def test_save_load_round_trip(trained, batch, tmp_path):
    from pesforge.models.io import save_model

    for path in (trained.output, trained.output / "ensemble.safetensors"):
        loaded = load_ensemble(path)
        a, b = ensemble_compute(trained.ensemble, batch), ensemble_compute(loaded, batch)
        for key in (K.ENERGY, K.FORCES, K.ENERGY_STD, K.FORCES_STD):
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
        assert loaded.energy_std_scale.dtype == torch.float64
    # float32 cast keeps float64 recalibration factors
    f32 = load_ensemble(trained.output).to(torch.float32)
    assert f32.energy_std_scale.dtype == torch.float64 and f32.dtype == torch.float32
    single = tmp_path / "member.safetensors"
    save_model(trained.ensemble.members[0], single)
    with pytest.raises(ValueError, match="not an ensemble"):
        load_ensemble(single)


def test_resume_keeps_finished_members_and_finishes_an_interrupted_one(
        trained, ethanol_files, tiny_config, tmp_path):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(trained.output, folder)
    config = tiny_config(*ethanol_files, output=str(folder))
    with pytest.raises(ConfigError, match="already holds an ensemble"):
        train_ensemble(config, 2, progress=False)
    with pytest.raises(ConfigError, match="another config or size"):
        train_ensemble(config, 3, progress=False, resume=True)
    with pytest.raises(ConfigError, match="cannot resume"):
        train_ensemble(config, 2, output=tmp_path / "empty", progress=False, resume=True)
    with pytest.raises(ConfigError, match="member indices"):
        train_ensemble(config, 2, members=[2], progress=False)
    # pretend the run was killed while member 1 was writing its outputs: it resumes from its
    # last checkpoint (the final epoch); member 0 is loaded, not retrained
    (folder / "member_01" / "member_finished.json").unlink()
    (folder / "member_01" / "model.safetensors").unlink()
    stamp = (folder / "member_00" / "model.safetensors").stat().st_mtime_ns
    assert train_ensemble(config, 2, members=[1], progress=False) is None  # one member only
    assert (folder / "member_01" / "model.safetensors").is_file()
    again = train_ensemble(config, 2, progress=False, resume=True)
    assert (folder / "member_00" / "model.safetensors").stat().st_mtime_ns == stamp
    for a, b in zip(trained.ensemble.members, again.ensemble.members):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            torch.testing.assert_close(x, y, rtol=0, atol=0, msg=name)
    assert json.loads((folder / "member_01" / "member_finished.json").read_text())["member"] == 1
    assert again.scales == pytest.approx(trained.scales, rel=1e-12)


def test_bootstrap_resamples_training_frames(ethanol_files, tiny_config, tmp_path):
    from pesforge.uncertainty.training import member_config
    from pesforge.training.prepare import load_training_data

    config = tiny_config(*ethanol_files, output=str(tmp_path / "run"))
    datas = [load_training_data(member_config(config, k, tmp_path, True).data, config.seed + k)
             for k in range(2)]
    assert datas[0].validation_indices.tolist() == datas[1].validation_indices.tolist()
    for d in datas:
        assert len(d.train_indices) == 18 and len(set(d.train_indices.tolist())) < 18
        assert not set(d.train_indices.tolist()) & set(d.validation_indices.tolist())
    assert datas[0].train_indices.tolist() != datas[1].train_indices.tolist()


def test_too_small_ensembles_are_refused(trained):
    with pytest.raises(ValueError, match="at least 2"):
        Ensemble([trained.ensemble.members[0]])
    with pytest.raises(ConfigError, match="at least 2"):
        train_ensemble(None, 1)
