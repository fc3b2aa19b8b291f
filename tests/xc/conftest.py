"""Small PySCF systems and randomly perturbed functionals shared by the XC tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def perturbed():
    """``perturbed(std=0.1, seed=0, rung="GGA", hidden=8)``: a functional whose last layers
    are drawn from N(0, std), so that it differs from PBE."""
    from pesforge.xc.functional import NeuralXC, NeuralXCConfig

    def make(std: float = 0.1, seed: int = 0, rung: str = "GGA", hidden: int = 8):
        torch.manual_seed(seed)
        model = NeuralXC(NeuralXCConfig(hidden=hidden, rung=rung))
        with torch.no_grad():
            for net in (model.exchange_net, model.correlation_net):
                net[-1].weight.normal_(0.0, std)
                net[-1].bias.normal_(0.0, std)
        return model

    return make


@pytest.fixture(scope="session")
def water():
    """PBE RKS of water (STO-3G, grid level 1), converged."""
    from pyscf import gto

    from pesforge.xc.pyscf_hook import make_ks

    mol = gto.M(atom="O 0 0 0; H 0 0.757 0.587; H 0 -0.757 0.587", basis="sto-3g", verbose=0)
    return make_ks(mol, grid_level=1).run(conv_tol=1e-10)


@pytest.fixture(scope="session")
def hydroxyl():
    """PBE UKS of the OH radical (STO-3G, grid level 1), converged."""
    from pyscf import gto

    from pesforge.xc.pyscf_hook import make_ks

    mol = gto.M(atom="O 0 0 0; H 0 0 0.97", basis="sto-3g", spin=1, verbose=0)
    return make_ks(mol, grid_level=1).run(conv_tol=1e-10)


@pytest.fixture
def single_thread():
    """One thread for torch and PySCF: multi-threaded reductions are not bitwise reproducible
    (even between two uninterrupted runs), and on a loaded machine one thread is faster."""
    from pyscf import lib

    torch_threads, pyscf_threads = torch.get_num_threads(), lib.num_threads()
    torch.set_num_threads(1)
    lib.num_threads(1)
    yield
    torch.set_num_threads(torch_threads)
    lib.num_threads(pyscf_threads)
