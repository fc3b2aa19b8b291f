"""Behler–Parrinello atom-centred symmetry functions, element-resolved.

J. Behler, J. Chem. Phys. 134, 074106 (2011); J. Behler & M. Parrinello, PRL 98, 146401 (2007).

For a centre atom i with neighbours j, k inside the cutoff r_c (f_c the cosine cutoff):

* G2 (radial), one block per neighbour element:
  sum_j exp(-eta (r_ij - r_s)^2) f_c(r_ij)
* G4 (angular), one block per unordered neighbour-element pair:
  2^(1-zeta) sum_{j<k} (1 + lambda cos theta_ijk)^zeta
  exp(-eta (r_ij^2 + r_ik^2 + r_jk^2)) f_c(r_ij) f_c(r_ik) f_c(r_jk)
* G5 (angular): as G4 without the r_jk terms, with an optional radial shift r_s:
  exp(-eta ((r_ij - r_s)^2 + (r_ik - r_s)^2)) f_c(r_ij) f_c(r_ik)

The kernels below are pure functions of distances and cosines; :class:`SymmetryFunctions`
holds the parameter set and scatters the kernel values into an (A, F) feature matrix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from pesforge.data import keys as K
from pesforge.descriptors import numba_sums
from pesforge.descriptors.kernels import (
    angular_part,
    exp_floor,
    gather,
    outer_scatter,
    row_sum,
)
from pesforge.descriptors.rows import SPARSE_MIN_ITEMS, Rows
from pesforge.neighbors import edge_vectors
from pesforge.neighbors.triplets import triplets
from pesforge.physics.cutoffs import cosine_cutoff

#: Gaussian exponents are floored here (see :func:`~pesforge.descriptors.kernels.exp_floor`):
#: exp(-80) = 1.8e-35 changes no feature measurably, and the exp of far more negative
#: arguments (most radial terms: shells several Å away) is ~15x slower.
MIN_EXPONENT = -80.0


def g2(r: torch.Tensor, eta: torch.Tensor, r_s: torch.Tensor, r_cut: float) -> torch.Tensor:
    """Radial terms for each pair and each (eta, r_s): (E,) -> (E, n_radial)."""
    gaussians = exp_floor(-eta * (r[:, None] - r_s) ** 2, MIN_EXPONENT)
    return gaussians * cosine_cutoff(r, r_cut)[:, None]


def g4_radial(r_ij: torch.Tensor, r_ik: torch.Tensor, r_jk: torch.Tensor, eta: torch.Tensor,
              r_cut: float) -> torch.Tensor:
    """exp(-eta (r_ij^2 + r_ik^2 + r_jk^2)) f_c(r_ij) f_c(r_ik) f_c(r_jk): (T,) -> (T, n_eta)."""
    fc = cosine_cutoff(r_ij, r_cut) * cosine_cutoff(r_ik, r_cut) * cosine_cutoff(r_jk, r_cut)
    return exp_floor(-eta * (r_ij**2 + r_ik**2 + r_jk**2)[:, None], MIN_EXPONENT) * fc[:, None]


def _lengths_and_cosines(vectors: torch.Tensor, first: torch.Tensor,
                         second: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """|r| (E,) of the edges and cos theta (T,) between the edges of each triplet."""
    r = torch.linalg.norm(vectors, dim=1)
    units = vectors / r[:, None]
    return r, (units.index_select(0, first) * units.index_select(0, second)).sum(1)


def g5_triplet_terms(vectors: torch.Tensor, first: torch.Tensor, second: torch.Tensor,
                     eta: torch.Tensor, r_s: torch.Tensor, r_cut: float, zetas: tuple,
                     lambdas: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-triplet factors of G5 from the edges (E, 3) Å inside the angular cutoff and the
    edge pairs ``first``, ``second`` (T,) of the triplets: the radial shells
    g(r_ij) g(r_ik) (T, n_shells) and :func:`angular_part` of cos theta_ijk (T, Q).

    Plain autograd operations: the kernel that :meth:`SymmetryFunctions.compile_for_inference`
    compiles (the eager path computes the same factors with CSR gathers)."""
    r, cos_theta = _lengths_and_cosines(vectors, first, second)
    shells = g2(r, eta, r_s, r_cut)
    return (shells.index_select(0, first) * shells.index_select(0, second),
            angular_part(cos_theta, zetas, lambdas))


def g4_triplet_terms(vectors: torch.Tensor, first: torch.Tensor, second: torch.Tensor,
                     eta: torch.Tensor, r_s: torch.Tensor, r_cut: float, zetas: tuple,
                     lambdas: tuple) -> tuple[torch.Tensor, torch.Tensor]:
    """As :func:`g5_triplet_terms` for G4 (shells from r_ij, r_ik and r_jk; ``r_s`` unused)."""
    r, cos_theta = _lengths_and_cosines(vectors, first, second)
    r_jk = torch.linalg.norm(vectors.index_select(0, second) - vectors.index_select(0, first),
                             dim=1)
    shells = g4_radial(r.index_select(0, first), r.index_select(0, second), r_jk, eta, r_cut)
    return shells, angular_part(cos_theta, zetas, lambdas)


@dataclass
class SymmetryFunctionParameters:
    """A G2 + G4/G5 parameter set. Lengths in Å, eta in 1/Å².

    ``radial_eta``/``radial_shift`` pair up (one G2 per pair and neighbour element);
    ``angular_eta``/``angular_shift`` pair up into radial shells, each combined with every
    (zeta, lambda) from ``zetas`` x ``lambdas``.
    """

    radial_cutoff: float = 5.2
    angular_cutoff: float = 3.5
    radial_eta: list[float] = field(default_factory=list)
    radial_shift: list[float] = field(default_factory=list)
    angular_kind: str = "g5"  # "g4" or "g5"
    angular_eta: list[float] = field(default_factory=list)
    angular_shift: list[float] = field(default_factory=list)
    zetas: list[float] = field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0, 16.0])
    lambdas: list[float] = field(default_factory=lambda: [1.0, -1.0])

    @classmethod
    def default(cls, radial_cutoff: float = 5.2, angular_cutoff: float | None = None,
                n_radial: int = 16, n_angular_shells: int = 4, angular_kind: str = "g5",
                r_min: float = 0.8, zetas: list[float] | None = None,
                ) -> "SymmetryFunctionParameters":
        """Evenly spaced Gaussian shells from ``r_min`` to the cutoff, widths set by the spacing.

        The angular cutoff defaults to min(radial cutoff, 3.5 Å) as in ANI: angular terms cost
        O(neighbours²) and most angular information is in the first shells.
        """
        if angular_cutoff is None:
            angular_cutoff = min(radial_cutoff, 3.5)
        if not 0 < angular_cutoff <= radial_cutoff:
            raise ValueError("need 0 < angular_cutoff <= radial_cutoff")
        radial_shift = torch.linspace(r_min, radial_cutoff, n_radial + 1)[:-1]
        d_r = float(radial_shift[1] - radial_shift[0]) if n_radial > 1 else radial_cutoff
        if angular_kind == "g4":
            span = angular_cutoff**2
            angular_eta = [float(x) / span for x in torch.logspace(-1.0, 1.0, n_angular_shells)]
            angular_shift = [0.0] * n_angular_shells
        else:
            shells = torch.linspace(r_min, angular_cutoff, n_angular_shells + 1)[:-1]
            d_a = float(shells[1] - shells[0]) if n_angular_shells > 1 else angular_cutoff
            angular_shift = [float(x) for x in shells]
            angular_eta = [1.0 / d_a**2] * n_angular_shells
        extra = {} if zetas is None else {"zetas": [float(z) for z in zetas]}
        return cls(radial_cutoff=radial_cutoff, angular_cutoff=angular_cutoff, **extra,
                   radial_eta=[1.0 / d_r**2] * n_radial,
                   radial_shift=[float(x) for x in radial_shift], angular_kind=angular_kind,
                   angular_eta=angular_eta, angular_shift=angular_shift)

    def to_dict(self) -> dict:
        return asdict(self)


class SymmetryFunctions(nn.Module):
    """Element-resolved G2 + G4/G5 features of every atom: batch -> (A, F).

    Feature layout: ``[G2 per neighbour element (n_elements x n_radial) |
    angular per element pair (n_pairs x n_shells x n_zeta x n_lambda)]``.
    Atoms whose element is not in ``elements`` raise a ValueError.
    """

    def __init__(self, elements: list[int], parameters: SymmetryFunctionParameters):
        super().__init__()
        self.elements = sorted(int(z) for z in elements)
        self.parameters_ = parameters
        if parameters.angular_kind not in ("g4", "g5"):
            raise ValueError(f"angular_kind must be 'g4' or 'g5', not {parameters.angular_kind!r}")
        n = len(self.elements)
        lookup = torch.full((119,), -1, dtype=torch.long)
        lookup[torch.tensor(self.elements)] = torch.arange(n)
        self.register_buffer("species_of_z", lookup, persistent=False)
        pair = torch.zeros(n, n, dtype=torch.long)
        iu = torch.triu_indices(n, n)
        pair[iu[0], iu[1]] = torch.arange(iu.shape[1])
        pair[iu[1], iu[0]] = torch.arange(iu.shape[1])
        self.register_buffer("pair_of_species", pair, persistent=False)
        p = parameters
        for name, value in (("radial_eta", p.radial_eta), ("radial_shift", p.radial_shift),
                            ("angular_eta", p.angular_eta), ("angular_shift", p.angular_shift)):
            self.register_buffer(name, torch.as_tensor(value, dtype=torch.float64),
                                 persistent=False)
        self.n_elements = n
        self.n_pairs = n * (n + 1) // 2
        self.n_radial = len(p.radial_eta)
        self.n_angular = len(p.angular_eta) * len(p.zetas) * len(p.lambdas)
        self.n_features = n * self.n_radial + self.n_pairs * self.n_angular
        self.cutoff = float(p.radial_cutoff)
        self._compiled_terms = None  # set by compile_for_inference
        #: G5 sums by the numba kernel (:mod:`~pesforge.descriptors.numba_sums`) in eval
        #: mode on the CPU; on by default where the kernel serves the parameters.
        self.numba = numba_sums.serves(p.angular_kind, p.zetas)
        self._g5 = (numba_sums.G5Parameters(pair, p.angular_eta, p.angular_shift,
                                            p.angular_cutoff, p.zetas, p.lambdas)
                    if self.numba else None)

    def compile_for_inference(self, backend: str = "auto", **options) -> "SymmetryFunctions":
        """A faster path for energies, forces and stress, the same values. Returns self.

        ``backend``:

        * ``"numba"``: the G5 angular sums on the CPU in one compiled loop over the triplets
          (:mod:`~pesforge.descriptors.numba_sums`), what :attr:`numba` already turns on
          by default in eval mode; raises where the kernel does not serve the parameters
          (G4, non-integer zetas) or numba is missing.
        * ``"inductor"``: the per-triplet factors (:func:`g5_triplet_terms` /
          :func:`g4_triplet_terms`) with ``torch.compile(dynamic=True, **options)``, one fused
          loop instead of a dozen passes, forward and backward (one compilation serves every
          system size; the first call compiles). Not for training on forces (no double
          backward).
        * ``"auto"``: numba where it serves the parameters, else inductor.
        """
        p = self.parameters_
        if backend == "auto":
            backend = "numba" if numba_sums.serves(p.angular_kind, p.zetas) else "inductor"
        if backend == "numba":
            numba_sums.check_parameters(p.angular_kind, p.zetas)
            self.numba = True
        elif backend == "inductor":
            kernel = g5_triplet_terms if p.angular_kind == "g5" else g4_triplet_terms
            self._compiled_terms = torch.compile(kernel, dynamic=True, **options)
            self.numba = False
        else:
            raise ValueError(f"backend must be 'auto', 'numba' or 'inductor', not {backend!r}")
        return self

    def species(self, atomic_numbers: torch.Tensor) -> torch.Tensor:
        """Index of each atom's element in ``elements``; raises on unknown elements."""
        species = self.species_of_z[atomic_numbers]
        if (species < 0).any():
            unknown = sorted(set(atomic_numbers[species < 0].tolist()))
            raise ValueError(f"elements {unknown} are unknown to this model "
                             f"(it knows {self.elements})")
        return species

    #: Centre atoms per block: large systems are featurised block by block so that the
    #: per-triplet intermediates stay cache-sized (time per atom then stays constant).
    block_atoms: int = 2048

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([features for _, _, features in self.blocks(batch)])

    def blocks(self, batch: dict[str, torch.Tensor]):
        """Yield ``(lo, hi, features)``: the (hi - lo, F) features of atoms lo..hi-1, in
        blocks of :attr:`block_atoms` centres (one block for small systems)."""
        species = self.species(batch[K.ATOMIC_NUMBERS])
        n_atoms = species.shape[0]
        i, j = batch[K.EDGE_INDEX]
        shifts = batch[K.EDGE_SHIFTS]
        if n_atoms <= self.block_atoms:
            yield 0, n_atoms, self._block(edge_vectors(batch), i, j, shifts, species, 0, n_atoms)
            return
        if len(i) > 1 and bool((i[1:] < i[:-1]).any()):
            order = torch.argsort(i, stable=True)
            i, j, shifts = i[order], j[order], shifts[order]
        starts = torch.arange(0, n_atoms, self.block_atoms, device=i.device)
        bounds = torch.searchsorted(i, torch.cat([starts, starts.new_tensor([n_atoms])])).tolist()
        # Each block's edge vectors from the positions: no per-edge tensor of the whole system
        # (above glibc's 32 MiB mmap threshold such tensors cost fresh pages on every call).
        for lo, e0, e1 in zip(starts.tolist(), bounds[:-1], bounds[1:]):
            hi = min(lo + self.block_atoms, n_atoms)
            edges = {**batch, K.EDGE_INDEX: torch.stack([i[e0:e1], j[e0:e1]]),
                     K.EDGE_SHIFTS: shifts[e0:e1]}
            yield lo, hi, self._block(edge_vectors(edges), i[e0:e1] - lo, j[e0:e1],
                                      shifts[e0:e1], species, lo, hi - lo)

    def _block(self, vectors: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
               shifts: torch.Tensor, species: torch.Tensor, lo: int,
               n_centres: int) -> torch.Tensor:
        """Features (n_centres, F) of the centres ``lo + i`` (0 <= i < n_centres) from their
        edges (vectors (E, 3) Å, neighbour indices ``j`` into ``species``, lattice shifts)."""
        p = self.parameters_
        fast = self.numba and not self.training and vectors.device.type == "cpu"
        if fast and bool((i[1:] < i[:-1]).any()):  # the numba loop needs edges by centre
            order = torch.argsort(i, stable=True)
            vectors, i, j, shifts = vectors[order], i[order], j[order], shifts[order]
        r = torch.linalg.norm(vectors, dim=1)
        neighbour_species = species[j]
        g_rad = self._radial(r, i, j, shifts, species, lo, n_centres)

        # Angular terms: only edges inside the angular cutoff, paired around their centre.
        # index_select rather than []: its backward is an index_add, about 2x faster than
        # indexing's accumulating index_put for these gathers.
        inside = torch.nonzero(r.detach() < p.angular_cutoff).squeeze(1)
        centre = i.index_select(0, inside)
        v_in = vectors.index_select(0, inside)
        neighbour_species = neighbour_species.index_select(0, inside)
        if fast and len(inside) > 1:
            g_ang = self._numba_angular(v_in, centre, neighbour_species, n_centres)
        else:
            g_ang = self._angular(v_in, centre, neighbour_species, n_centres)
        return torch.cat([g_rad.reshape(n_centres, -1), g_ang.reshape(n_centres, -1)], dim=1)

    def _angular(self, v_in: torch.Tensor, centre: torch.Tensor,
                 neighbour_species: torch.Tensor, n_centres: int) -> torch.Tensor:
        """Angular sums (n_centres, n_pairs x n_angular) from the edges inside the angular
        cutoff: ``v_in`` (E, 3) Å, their centres and their neighbours' species."""
        p = self.parameters_
        a, b = triplets(centre, n_centres)
        eta, shift = self.angular_eta.to(v_in.dtype), self.angular_shift.to(v_in.dtype)
        zetas, lambdas = tuple(map(float, p.zetas)), tuple(map(float, p.lambdas))
        if self._compiled_terms is not None and len(a) > 1:
            shells, angular = self._compiled_terms(v_in, a, b, eta, shift, p.angular_cutoff,
                                                   zetas, lambdas)
        elif p.angular_kind == "g5":
            # exp(-eta((r_ij-r_s)^2 + (r_ik-r_s)^2)) f_c f_c factorises into per-edge shells;
            # unit vectors and shells are gathered together (two gathers instead of four).
            r_in = torch.linalg.norm(v_in, dim=1)
            per_edge = torch.cat([v_in / r_in[:, None], g2(r_in, eta, shift, p.angular_cutoff)],
                                 dim=1)
            n_in = len(v_in)
            products = gather(per_edge, Rows(a, n_in)) * gather(per_edge, Rows(b, n_in))
            unit_products, shells = products.split([3, shift.shape[0]], dim=1)
            angular = angular_part(unit_products.sum(1), zetas, lambdas)
        else:
            shells, angular = g4_triplet_terms(v_in, a, b, eta, shift, p.angular_cutoff,
                                               zetas, lambdas)
        pair = (neighbour_species.index_select(0, a) * self.n_elements
                + neighbour_species.index_select(0, b))
        slot = (centre.index_select(0, a) * self.n_pairs
                + self.pair_of_species.view(-1).index_select(0, pair))
        g_ang = 2.0 * outer_scatter(shells, angular, Rows(slot, n_centres * self.n_pairs))
        return g_ang.reshape(n_centres, -1)

    def _numba_angular(self, v_in: torch.Tensor, centre: torch.Tensor,
                       neighbour_species: torch.Tensor, n_centres: int) -> torch.Tensor:
        """:meth:`_angular` by the numba kernel (:func:`~pesforge.descriptors.numba_sums.
        g5_sums`), with :meth:`_angular` as its differentiable twin."""
        def eager(vectors):
            return self._angular(vectors, centre, neighbour_species, n_centres)

        return numba_sums.g5_sums(v_in, centre, neighbour_species, self._g5, n_centres, eager)

    def _radial(self, r, i, j, shifts, species, lo: int, n_centres: int) -> torch.Tensor:
        """G2 sums (n_centres x n_elements, n_radial) of the block's centres.

        r_ij = r_ji, so a pair with both atoms among the block's centres is evaluated once,
        from the edge with i < j (or, for an atom and its own periodic image, the lattice
        shift that is positive in its first nonzero component), and summed into both rows;
        edges to atoms outside the block are evaluated as they are. An edge list without
        every reverse edge (a half list), or a short one (where the extra selection costs more
        time than it saves), is summed edge by edge.
        """
        p, n_el = self.parameters_, self.n_elements
        eta, shift = self.radial_eta.to(r.dtype), self.radial_shift.to(r.dtype)
        slot = i * n_el + species[j]
        if len(r) < SPARSE_MIN_ITEMS:
            return row_sum(g2(r, eta, shift, p.radial_cutoff), Rows(slot, n_centres * n_el))
        local = j - lo
        in_block = (local >= 0) & (local < n_centres)
        s0, s1, s2 = shifts.unbind(1)
        positive = (s0 > 0) | ((s0 == 0) & ((s1 > 0) | ((s1 == 0) & (s2 > 0))))
        first = in_block & ((i < local) | ((i == local) & positive))
        n_first = int(first.sum())
        if n_first == 0 or 2 * n_first != int(in_block.sum()):
            return row_sum(g2(r, eta, shift, p.radial_cutoff), Rows(slot, n_centres * n_el))
        kept = torch.nonzero(first | ~in_block).squeeze(1)  # each pair once
        radial = g2(r.index_select(0, kept), eta, shift, p.radial_cutoff)
        mirrored = torch.nonzero(first.index_select(0, kept)).squeeze(1)
        pair_edges = kept.index_select(0, mirrored)
        mirror_slot = (local.index_select(0, pair_edges) * n_el
                       + species.index_select(0, i.index_select(0, pair_edges) + lo))
        rows = Rows.with_mirrors(slot.index_select(0, kept), mirrored, mirror_slot,
                                 n_centres * n_el)
        return row_sum(radial, rows)
