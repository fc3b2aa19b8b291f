import os

import pytest
import torch

#: torch threads in every test (a test may change them): OMP_NUM_THREADS, else 2
THREADS = int(os.environ.get("OMP_NUM_THREADS") or 2)


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: use --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(THREADS)
    yield
