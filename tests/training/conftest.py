"""Small rMD17-layout NPZ files cut from the bundled ethanol split, for fast training tests."""

import pytest

from pesforge.testing.fixtures import write_ethanol_npz


@pytest.fixture(scope="session")
def ethanol_files(tmp_path_factory):
    """(train file with 30 frames, test file with 8 frames)."""
    folder = tmp_path_factory.mktemp("ethanol")
    return (write_ethanol_npz(folder / "train.npz", 0, 30),
            write_ethanol_npz(folder / "test.npz", 500, 508))


@pytest.fixture(scope="session")
def tiny():
    """tiny(train_file, test_file=None, **extra): overrides for a small, fast float64 run."""
    return _tiny


def _tiny(train_file, test_file=None, **extra):
    out = {"data.train_file": train_file, "data.test_file": test_file, "data.n_validation": 6,
           "model.hidden": [16], "model.n_radial": 6, "model.n_angular_shells": 2,
           "model.dtype": "float64", "optimizer.batch_size": 8, "optimizer.lr": 5e-3,
           "optimizer.max_epochs": 4, "optimizer.scheduler.patience": 1}
    out.update(extra)
    return out
