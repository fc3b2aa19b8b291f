"""Tiny ethanol files and a tiny trained ensemble shared by the uncertainty tests."""

import pytest

from pesforge.testing.fixtures import write_ethanol_npz
from pesforge.training.config import load_config


@pytest.fixture(scope="session")
def ethanol_files(tmp_path_factory):
    """(train file with 24 frames, test file with 8 frames)."""
    folder = tmp_path_factory.mktemp("ethanol_uq")
    return (write_ethanol_npz(folder / "train.npz", 0, 24),
            write_ethanol_npz(folder / "test.npz", 500, 508))


def tiny_overrides(train_file, test_file=None, **extra) -> dict:
    """Overrides for a small, fast float64 BPNN run."""
    out = {"data.train_file": train_file, "data.test_file": test_file, "data.n_validation": 6,
           "model.hidden": [8], "model.n_radial": 4, "model.n_angular_shells": 1,
           "model.zetas": [1.0, 4.0], "model.dtype": "float64", "optimizer.batch_size": 6,
           "optimizer.lr": 5e-3, "optimizer.max_epochs": 3, "optimizer.scheduler.patience": 1}
    out.update(extra)
    return out


@pytest.fixture(scope="session")
def tiny_config():
    def make(train_file, test_file=None, **extra):
        return load_config(None, tiny_overrides(train_file, test_file, **extra))
    return make


@pytest.fixture(scope="session")
def trained(ethanol_files, tiny_config, tmp_path_factory):
    """A 2-member ensemble trained for 3 epochs: the EnsembleResult."""
    from pesforge.uncertainty import train_ensemble

    output = tmp_path_factory.mktemp("ensemble") / "run"
    config = tiny_config(*ethanol_files, output=str(output))
    return train_ensemble(config, 2, progress=False)
