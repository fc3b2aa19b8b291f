import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))  # for helpers.py


@pytest.fixture(autouse=True)
def _threads():
    """MD steps on these tiny systems are dominated by per-operation overhead: one thread is
    faster than two, and much faster when the machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
