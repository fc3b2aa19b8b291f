"""Physics terms declared in the training config: train, save, load, and repel."""

import numpy as np
import pytest
import torch

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.datasets import bundled_path
from pesforge.data.frame import Frame
from pesforge.models import SumPotential, compute, load_model
from pesforge.physics import ZBL
from pesforge.training.config import ConfigError, load_config


def _train(folder, **model):
    """BPNN (+ what ``model`` adds) trained for 3 epochs on 24 ethanol frames."""
    from pesforge.training import loop

    data = np.load(bundled_path("rmd17_ethanol_train_01.npz"))
    path = folder / "train.npz"
    np.savez(path, nuclear_charges=data["nuclear_charges"], coords=data["coords"][:30],
             energies=data["energies"][:30], forces=data["forces"][:30])
    config = load_config(None, {
        "data.train_file": str(path), "data.n_validation": 6, "model.hidden": [16],
        "model.n_radial": 6, "model.n_angular_shells": 2, "model.dtype": "float64",
        **{f"model.{k}": v for k, v in model.items()}, "optimizer.batch_size": 8,
        "optimizer.lr": 5e-3, "optimizer.max_epochs": 3, "output": str(folder / "run")})
    return loop.train(config, progress=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """ZBL + BPNN via the config's ``terms``."""
    return _train(tmp_path_factory.mktemp("terms"), terms=[{"name": "zbl"}])


@pytest.fixture(scope="module")
def trained_core(tmp_path_factory):
    """BPNN blended into ZBL below the data's shortest pair distances (``core_repulsion``)."""
    return _train(tmp_path_factory.mktemp("core"), core_repulsion={})


def test_zbl_plus_bpnn_trains_and_round_trips(trained):
    model = trained.model
    assert isinstance(model, SumPotential)
    assert {type(t).__name__ for t in model.terms} == {"BPNN", "ZBL"}
    zbl = next(t for t in model.terms if isinstance(t, ZBL))
    assert zbl.elements == [1, 6, 8] and zbl.cutoff < 2.0  # tight cutoff from the data
    history = trained.history
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    again = load_model(trained.output / "model.safetensors")
    assert isinstance(again, SumPotential) and len(again.terms) == 2
    from ase.build import molecule

    batch = collate([Frame.from_atoms(molecule("CH3CH2OH"))], model.cutoff)
    a, b = compute(model.double(), batch), compute(again.double(), batch)
    assert torch.allclose(a[K.ENERGY], b[K.ENERGY], rtol=0, atol=1e-10)
    assert torch.allclose(a[K.FORCES], b[K.FORCES], rtol=0, atol=1e-10)


def test_trained_model_meets_steep_monotonic_repulsion(trained_core):
    from ase import Atoms

    from pesforge.physics import CoreRepulsion

    model = load_model(trained_core.output / "model.safetensors").double()
    assert isinstance(model, CoreRepulsion)
    assert model.prior.pair_radii["1-1"] > 1.2  # 0.95 x the shortest H-H distance in the data
    rs = np.linspace(0.2, 0.8, 61)
    for pair in ((6, 6), (6, 8), (8, 8), (1, 6), (1, 8), (1, 1)):
        frames = [Frame.from_atoms(Atoms(numbers=pair, positions=[[0, 0, 0], [x, 0, 0]]))
                  for x in list(rs) + [6.0]]
        batch = collate(frames, model.cutoff)
        e = compute(model, batch, forces=False)[K.ENERGY].numpy()
        e_ml = compute(model.model, batch, forces=False)[K.ENERGY].numpy()
        assert np.all(np.diff(e[:-1]) < 0), pair
        assert e[0] - e[-1] > 10.0, pair  # steep: far above the dissociated pair at 0.2 Å
        assert e[0] - e[-1] > 10 * abs(e_ml[0] - e_ml[-1]), pair


def test_unknown_term_is_refused_naming_it(tmp_path):
    with pytest.raises(ConfigError, match="unknown term 'zbll'"):
        load_config(None, {"data.train_file": "x.npz", "model.terms": [{"name": "zbll"}]})
    with pytest.raises(ConfigError, match="term 'zbl'"):
        load_config(None, {"data.train_file": "x.npz",
                           "model.terms": [{"name": "zbl", "bogus": 1}]})
