"""The numba kernels (:mod:`pesforge.descriptors.numba_kernels`) as an autograd function of
the edge vectors: the symmetry functions' CPU inference path.

:func:`g5_sums` gives the eager descriptor's G5 sums. Its backward runs the numba loop;
under ``create_graph`` (training on forces, Hessians) it recomputes the eager expression
instead, so every derivative order stays exact. Forward-mode derivatives (the training
feature cache) have their own loop, through ``torch.autograd.forward_ad``; the torch.func
transforms hand the rules wrapped tensors that numba cannot read, and are not supported on
this path (set ``SymmetryFunctions.numba = False`` for them). Arithmetic is float64 whatever
the model's dtype (the sums are cast back), which is also what numba runs fastest here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from pesforge.descriptors import numba_kernels as nk
from pesforge.descriptors.numba_kernels import numba


def available() -> bool:
    """Whether numba is installed."""
    return numba is not None


def _match_threads() -> None:
    """Run numba's loops on as many threads as torch's operations."""
    n = torch.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    if torch.get_num_threads() != n:  # numba's OpenMP start-up set the shared thread count
        torch.set_num_threads(n)


def _float64(x: torch.Tensor) -> np.ndarray:
    return np.ascontiguousarray(x.detach().to(torch.float64).numpy())


def _starts(centre: torch.Tensor, n_centres: int) -> np.ndarray:
    """(n_centres + 1,) the first edge of each centre, edges grouped by centre."""
    start = np.zeros(n_centres + 1, dtype=np.int64)
    np.cumsum(np.bincount(centre.numpy(), minlength=n_centres), out=start[1:])
    return start


class G5Parameters:
    """The G5 kernel's constants as numba's arrays, built once per descriptor.

    Args:
        pair_of_species: (n_elements, n_elements) element pair -> pair index.
        eta, shift: (n_shells,) 1/Å², Å: the shells exp(-eta (r - shift)^2) f_c(r).
        r_cut: the angular cutoff in Å.
        zetas: integer exponents >= 1; lambdas: +-1.
    """

    def __init__(self, pair_of_species: torch.Tensor, eta, shift, r_cut: float, zetas,
                 lambdas):
        self.pair = pair_of_species.numpy().astype(np.int64)
        self.eta = np.asarray(eta, dtype=np.float64)
        self.shift = np.asarray(shift, dtype=np.float64)
        self.r_cut = float(r_cut)
        self.zetas = np.asarray([int(z) for z in zetas], dtype=np.int64)
        self.lambdas = np.asarray(lambdas, dtype=np.float64)
        self.n_pairs = int(self.pair.max()) + 1


class _G5:
    """G5 sums of one block, (C, n_pairs x n_shells x n_zeta x n_lambda), as numpy."""

    def __init__(self, centre, neighbour_species, n_centres, parameters: G5Parameters):
        self.p = p = parameters
        self.start = _starts(centre, n_centres)
        self.species = neighbour_species.numpy().astype(np.int64)
        self.shape = (n_centres, p.n_pairs, len(p.eta), len(p.zetas) * len(p.lambdas))

    def forward(self, vectors: np.ndarray) -> np.ndarray:
        p, n = self.p, len(vectors)
        self.r, self.unit = np.empty(n), np.empty((n, 3))
        self.shells, self.d_shells = np.empty((n, len(p.eta))), np.empty((n, len(p.eta)))
        nk._angular_edges(vectors, p.eta, p.shift, p.r_cut, self.r, self.unit, self.shells,
                          self.d_shells)
        out = np.zeros(self.shape)
        nk._angular_sums(self.start, self.species, p.pair, self.unit, self.shells, p.zetas,
                         p.lambdas, out)
        return out.reshape(self.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        p, grad = self.p, np.empty((len(self.r), 3))
        nk._angular_backward(self.start, self.species, p.pair, self.r, self.unit, self.shells,
                             self.d_shells, p.zetas, p.lambdas, grad_out.reshape(self.shape),
                             grad)
        return grad

    def jvp(self, tangents: np.ndarray) -> np.ndarray:
        p, out = self.p, np.zeros(self.shape)
        nk._angular_jvp(self.start, self.species, p.pair, self.r, self.unit, self.shells,
                        self.d_shells, p.zetas, p.lambdas, tangents, out)
        return out.reshape(self.shape[0], -1)


class _Call:
    """One application: its parameters and, once the forward ran, its kernel (an object
    that torch.func passes through as it is, unlike a dict)."""

    def __init__(self, parameters: G5Parameters):
        self.parameters = parameters
        self.kernel: _G5 | None = None


class _G5Sums(torch.autograd.Function):
    # The index tensors are inputs, and the forward leaves the kernel it built in ``call``
    # for the rules: under torch.func transforms only the forward sees plain tensors.
    @staticmethod
    def forward(vectors, centre, neighbour_species, n_centres, call, eager):
        call.kernel = _G5(centre, neighbour_species, n_centres, call.parameters)
        return torch.from_numpy(call.kernel.forward(_float64(vectors))).to(vectors.dtype)

    @staticmethod
    def setup_context(ctx, inputs, output):
        vectors, _, _, _, call, ctx.eager = inputs
        ctx.kernel = call.kernel
        ctx.save_for_backward(vectors)

    @staticmethod
    def backward(ctx, grad_out):
        (vectors,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: the eager expression, differentiable again
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(ctx.eager(vectors), vectors, grad_out,
                                              create_graph=True)
        else:
            grad = torch.from_numpy(ctx.kernel.backward(_float64(grad_out))).to(vectors.dtype)
        return grad, None, None, None, None, None

    @staticmethod
    def jvp(ctx, d_vectors, *_):
        return torch.from_numpy(ctx.kernel.jvp(_float64(d_vectors))).to(d_vectors.dtype)


def g5_sums(vectors: torch.Tensor, centre: torch.Tensor, neighbour_species: torch.Tensor,
            parameters: G5Parameters, n_centres: int,
            eager: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """G5 sums of ``n_centres`` atoms, (n_centres, n_pairs x n_shells x n_zeta x n_lambda).

    Args:
        vectors: (E, 3) Å, edges inside the angular cutoff, grouped by centre (CPU).
        centre: (E,) centre of each edge, non-decreasing, in [0, n_centres).
        neighbour_species: (E,) species index of each edge's neighbour.
        parameters: the descriptor's :class:`G5Parameters`.
        eager: the same sums as differentiable torch operations of ``vectors`` (used by the
            backward under ``create_graph``).
    """
    _match_threads()
    return _G5Sums.apply(vectors, centre, neighbour_species, n_centres, _Call(parameters),
                         eager)


def serves(angular_kind: str, zetas) -> bool:
    """Whether numba is installed and the kernel computes these symmetry functions."""
    try:
        check_parameters(angular_kind, zetas)
    except (ImportError, ValueError):
        return False
    return True


def check_parameters(angular_kind: str, zetas) -> None:
    """Raise ValueError unless the numba kernel serves these parameters (G5, integer zetas >= 1)."""
    if numba is None:
        raise ImportError("the numba backend needs numba: pip install numba")
    if angular_kind != "g5":
        raise ValueError(f"the numba kernel computes G5, not {angular_kind!r}")
    if not all(float(z).is_integer() and z >= 1 for z in zetas):
        raise ValueError(f"the numba kernel needs integer zetas >= 1, not {list(zetas)}")
