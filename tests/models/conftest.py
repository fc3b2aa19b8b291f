"""Fixtures of the model tests: a small rMD17-layout ethanol file."""

import pytest

from pesforge.testing.fixtures import write_ethanol_npz


@pytest.fixture(scope="session")
def ethanol_train_file(tmp_path_factory):
    """An rMD17-layout file with 24 ethanol frames."""
    return write_ethanol_npz(tmp_path_factory.mktemp("ethanol") / "train.npz", 0, 24)
