import pytest
import torch
from ase.build import bulk, molecule
from ase.io import write

@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)  # deterministic training, comparable across processes
    yield


@pytest.fixture
def cu_file(tmp_path):
    path = tmp_path / "cu.xyz"
    write(path, bulk("Cu", "fcc", a=3.6, cubic=True))
    return path


@pytest.fixture
def water_file(tmp_path):
    path = tmp_path / "water.xyz"
    write(path, molecule("H2O"))
    return path


