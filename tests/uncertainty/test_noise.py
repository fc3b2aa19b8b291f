"""The variance head and the Gaussian negative log-likelihood loss."""

import math

import pytest
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.readers import read
from pesforge.training.config import LossConfig
from pesforge.training.losses import LossAccumulator, LossWeights, gaussian_nll_terms, loss


def fake(var_e=0.04, var_f=0.01, requires_grad=True):
    """Two systems (2 and 1 atoms), the second without force labels."""
    batch = {K.N_ATOMS: torch.tensor([2, 1]), K.SYSTEM: torch.tensor([0, 0, 1]),
             K.HAS_ENERGY: torch.tensor([True, True]), K.HAS_FORCES: torch.tensor([True, False]),
             K.HAS_STRESS: torch.tensor([False, False]),
             K.REF_ENERGY: torch.tensor([1.0, -2.0], dtype=torch.float64),
             K.REF_FORCES: torch.zeros(3, 3, dtype=torch.float64),
             K.REF_STRESS: torch.zeros(2, 3, 3, dtype=torch.float64)}
    pred = {K.ENERGY: torch.tensor([1.3, -2.1], dtype=torch.float64, requires_grad=requires_grad),
            K.FORCES: torch.tensor([[0.1, 0.0, -0.2], [0.0, 0.3, 0.0], [5.0, 5.0, 5.0]],
                                   dtype=torch.float64, requires_grad=requires_grad),
            K.ENERGY_NOISE_VAR: torch.tensor([var_e, var_e], dtype=torch.float64,
                                             requires_grad=requires_grad),
            K.FORCES_NOISE_VAR: torch.tensor([var_f, var_f, var_f], dtype=torch.float64,
                                             requires_grad=requires_grad)}
    return pred, batch


def test_nll_terms_match_the_formula():
    pred, batch = fake()
    terms = gaussian_nll_terms(pred, batch)

    def nll(r, v):
        return 0.5 * math.log(2 * math.pi * v) + 0.5 * r * r / v

    e_sum, e_n = terms["energy"]
    e_sum, f_sum = e_sum.detach(), terms["forces"][0].detach()
    assert float(e_sum) == pytest.approx(nll(0.3, 0.04) + nll(0.1, 0.04), rel=1e-12)
    assert int(e_n) == 2
    f_n = terms["forces"][1]  # the unlabelled third atom does not count
    expected = sum(nll(r, 0.01) for r in (0.1, 0.0, -0.2, 0.0, 0.3, 0.0))
    assert float(f_sum) == pytest.approx(expected, rel=1e-12) and int(f_n) == 6
    total, parts = loss(pred, batch, LossWeights(2.0, 3.0, 1.0, kind="gaussian_nll"))
    assert float(total.detach()) == pytest.approx(2.0 * parts["energy"] + 3.0 * parts["forces"])
    assert parts["energy"] == pytest.approx(float(e_sum) / 2)


def test_nll_gradient_is_sane():
    # d nll / d mean = r / v ; d nll / d v = 0.5 (1/v - r²/v²), zero at v = r²
    pred, batch = fake(var_e=0.09)
    total, _ = loss(pred, batch, LossWeights(1.0, 0.0, 0.0, kind="gaussian_nll"))
    total.backward()
    g_e, g_v = pred[K.ENERGY].grad, pred[K.ENERGY_NOISE_VAR].grad
    assert g_e.tolist() == pytest.approx([0.3 / 0.09 / 2, -0.1 / 0.09 / 2], rel=1e-10)
    assert float(g_v[0]) == pytest.approx(0.0, abs=1e-12)  # r² = v: the optimum
    assert float(g_v[1]) > 0  # variance too large for a small error: shrink it
    pred, batch = fake(var_e=0.001)
    total, _ = loss(pred, batch, LossWeights(1.0, 0.0, 0.0, kind="gaussian_nll"))
    total.backward()
    assert torch.all(pred[K.ENERGY_NOISE_VAR].grad < 0)  # too confident: grow the variance


def test_nll_needs_variances_and_accumulates():
    pred, batch = fake(requires_grad=False)
    plain = {k: v for k, v in pred.items() if "noise" not in k}
    with pytest.raises(KeyError, match="variance head"):
        loss(plain, batch, LossWeights(kind="gaussian_nll"))
    weights = LossWeights(kind="gaussian_nll")
    acc = LossAccumulator()
    acc.add(pred, batch)
    assert acc.result(weights)[0] == pytest.approx(float(loss(pred, batch, weights)[0]))
    assert acc.result(LossWeights())[0] == pytest.approx(float(loss(pred, batch,
                                                                     LossWeights())[0]))
    with pytest.raises(ValueError, match="loss kind"):
        LossWeights(kind="laplace")


def test_config_switch():
    assert LossConfig(kind="gaussian_nll").kind == "gaussian_nll"
    with pytest.raises(ValueError, match="give one, not both"):
        LossConfig(kind="gaussian_nll", noise={"sigma_energy_per_atom": 0.01,
                                               "sigma_forces": 0.05})


@pytest.fixture(scope="module")
def nll_run(ethanol_files, tiny_config, tmp_path_factory):
    from pesforge.training import train

    output = tmp_path_factory.mktemp("nll") / "run"
    config = tiny_config(*ethanol_files, output=str(output),
                         **{"loss.kind": "gaussian_nll", "loss.variance_hidden": [8],
                            "optimizer.max_epochs": 4})
    return train(config, progress=False)


def test_variance_head_trains_and_round_trips(nll_run, ethanol_files):
    from pesforge.models.io import load_model
    from pesforge.uncertainty import NoiseHead

    model = nll_run.model
    assert isinstance(model, NoiseHead)
    history = nll_run.history
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    frames = read(ethanol_files[1])
    batch = collate(frames, model.cutoff, dtype=torch.float64)
    noise = model.noise(batch)
    assert noise[K.ENERGY_NOISE_VAR].shape == (8,) and noise[K.FORCES_NOISE_VAR].shape == (72,)
    assert torch.all(noise[K.ENERGY_NOISE_VAR] > 0) and torch.all(noise[K.FORCES_NOISE_VAR] > 0)
    # the head learned something: variances are no longer all equal to the initial scale²
    assert float(noise[K.FORCES_NOISE_VAR].detach().std()) > 0
    loaded = load_model(nll_run.output / "model.safetensors")
    assert isinstance(loaded, NoiseHead)
    again = loaded.noise(batch)
    for key in noise:
        torch.testing.assert_close(noise[key], again[key], rtol=0, atol=0)
    torch.testing.assert_close(loaded(batch), model(batch), rtol=0, atol=0)


def test_cached_and_collated_noise_agree(nll_run, ethanol_files):
    from pesforge.training.feature_cache import FeatureCache

    model = nll_run.model
    frames = read(ethanol_files[1])[:3]
    cached = FeatureCache(model, frames).batch([0, 1, 2])
    collated = collate(frames, model.cutoff, dtype=torch.float64)
    a, b = model.noise(cached), model.noise(collated)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-10, atol=1e-14)


def test_ensemble_of_noise_heads_reports_aleatoric_variance(nll_run, ethanol_files):
    from pesforge.models.io import load_model
    from pesforge.uncertainty import Ensemble, ensemble_compute, ensemble_predict, \
        calibration_metrics

    members = [nll_run.model, load_model(nll_run.output / "model.safetensors")]
    with torch.no_grad():
        members[1].potential.shift.add_(0.01)
    ensemble = Ensemble(members)
    frames = read(ethanol_files[1])
    batch = collate(frames, ensemble.cutoff, dtype=torch.float64)
    out = ensemble_compute(ensemble, batch)
    noise = members[0].noise(batch)
    torch.testing.assert_close(out[K.FORCES_NOISE_VAR], noise[K.FORCES_NOISE_VAR])
    p = ensemble_predict(ensemble, frames)
    assert p.energy_noise_var is not None
    assert (p.energy_sigma() > p.energy_std).all()
    assert "spearman" in calibration_metrics(p)["forces"]
