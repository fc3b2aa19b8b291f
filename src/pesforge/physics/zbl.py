"""Short-range nuclear repulsion: the ZBL universal screened Coulomb potential and an A/r^12
wall, as pure pair kernels and as :class:`~pesforge.models.Potential` terms.

Both terms are multiplied by a smooth switch that is 1 below ``r_on`` and 0 above ``r_off``
(by default per element pair, ``r_off`` = the sum of the covalent radii, or a given per-pair
radius such as the shortest distance in the training data, see :func:`pair_radii_from_frames`;
``r_on = r_off / 2``), so they act where two atoms are much closer than a chemical bond and
vanish well inside the cutoff of a learned model, which learns the remainder. A switched
repulsion w(r) E(r) with w' <= 0, E > 0, E' < 0 is monotonically decreasing in r everywhere.

J. F. Ziegler, J. P. Biersack & U. Littmark, *The Stopping and Range of Ions in Solids*
(Pergamon, 1985).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from pesforge import units
from pesforge.data import keys as K
from pesforge.models.potential import Potential, register
from pesforge.physics.cutoffs import smoothstep_switch

#: Coulomb constant e²/(4 pi eps0) in eV·Å (= Hartree x Bohr).
COULOMB_CONSTANT = units.HARTREE * units.BOHR
#: ZBL screening length prefactor 0.8854 a0, Å.
ZBL_SCREENING = 0.8854 * units.BOHR
#: ZBL universal screening function: sum_k c_k exp(-d_k x).
ZBL_COEFFICIENTS = (0.18175, 0.50986, 0.28022, 0.02817)
ZBL_EXPONENTS = (3.19980, 0.94229, 0.40290, 0.20162)


def covalent_radii(dtype=torch.float64, device=None) -> torch.Tensor:
    """ASE's covalent radii (Å) indexed by atomic number (Cordero et al. 2008)."""
    from ase.data import covalent_radii as table

    return torch.as_tensor(np.asarray(table), dtype=dtype, device=device)


def zbl_pair_energy(r: torch.Tensor, z_i: torch.Tensor, z_j: torch.Tensor) -> torch.Tensor:
    """ZBL pair energy (eV) at distance ``r`` (Å) between nuclei of charges ``z_i``, ``z_j``:

    E = k Z_i Z_j / r * phi(r / a),  a = 0.8854 a0 / (Z_i^0.23 + Z_j^0.23),
    phi(x) = 0.18175 e^{-3.1998 x} + 0.50986 e^{-0.94229 x} + 0.28022 e^{-0.4029 x}
             + 0.02817 e^{-0.20162 x}.

    All arguments broadcast; returns the shape of ``r``.
    """
    zi, zj = z_i.to(r.dtype), z_j.to(r.dtype)
    a = ZBL_SCREENING / (zi.pow(0.23) + zj.pow(0.23))
    x = r / a
    phi = sum(c * torch.exp(-d * x) for c, d in zip(ZBL_COEFFICIENTS, ZBL_EXPONENTS))
    return COULOMB_CONSTANT * zi * zj / r * phi


def inverse_power_pair_energy(r: torch.Tensor, sigma: torch.Tensor, strength: float,
                              power: int = 12) -> torch.Tensor:
    """A/r^n wall with A = strength * sigma^n: ``strength`` eV at r = sigma (Å)."""
    return strength * (sigma / r).pow(power)


def pair_key(z_i: int, z_j: int) -> str:
    """The JSON key of an element pair in ``pair_radii``: ``"1-8"`` (sorted atomic numbers)."""
    a, b = sorted((int(z_i), int(z_j)))
    return f"{a}-{b}"


def pair_radii_from_frames(frames, scale: float = 0.95) -> dict[str, float]:
    """``scale`` x the shortest distance (Å) seen between each element pair in ``frames``
    (periodic images included), keyed by :func:`pair_key`: below it a model has no data.
    Pairs that never come within 3 Å are left out (they keep the covalent default)."""
    from pesforge.neighbors import neighbor_list

    shortest: dict[int, float] = {}
    for frame in frames:
        (i, j), shifts = neighbor_list(frame.positions, frame.cell, frame.pbc, 3.0)
        if len(i) == 0:
            continue
        cell = np.zeros((3, 3)) if frame.cell is None else np.asarray(frame.cell)
        r = np.linalg.norm(frame.positions[j] - frame.positions[i] + shifts @ cell, axis=1)
        z = np.asarray(frame.numbers)
        code = np.minimum(z[i], z[j]) * 1000 + np.maximum(z[i], z[j])
        for c in np.unique(code):
            shortest[int(c)] = min(shortest.get(int(c), np.inf), float(r[code == c].min()))
    shortest = {pair_key(c // 1000, c % 1000): d for c, d in shortest.items()}
    return {k: scale * v for k, v in sorted(shortest.items())}


def pair_switch_radii(z_i: torch.Tensor, z_j: torch.Tensor, r_outer: float | None,
                      covalent_scale: float, inner_fraction: float,
                      dtype=torch.float64,
                      pair_radii: dict[str, float] | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """(r_on, r_off) per pair (Å): r_off = ``pair_radii[pair_key(Z_i, Z_j)]`` where given, else
    ``r_outer`` if given, else ``covalent_scale`` x (R_cov(Z_i) + R_cov(Z_j));
    r_on = ``inner_fraction`` x r_off."""
    if r_outer is not None:
        r_off = torch.full(z_i.shape, float(r_outer), dtype=dtype, device=z_i.device)
    else:
        radii = covalent_radii(dtype, z_i.device)
        r_off = covalent_scale * (radii[z_i] + radii[z_j])
    for key, radius in (pair_radii or {}).items():
        a, b = (int(z) for z in key.split("-"))
        match = ((z_i == a) & (z_j == b)) | ((z_i == b) & (z_j == a))
        r_off = torch.where(match, torch.as_tensor(float(radius), dtype=dtype), r_off)
    return inner_fraction * r_off, r_off


class _PairRepulsion(Potential):
    """A switched, element-pair repulsion summed over the edges of the batch."""

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.SYSTEM, K.EDGE_INDEX, K.EDGE_SHIFTS)

    def __init__(self, r_outer: float | None = None, inner_fraction: float = 0.5,
                 covalent_scale: float = 1.0, elements: Sequence[int] | None = None,
                 pair_radii: dict[str, float] | None = None):
        super().__init__()
        if not 0.0 <= inner_fraction < 1.0:
            raise ValueError(f"inner_fraction must be in [0, 1), got {inner_fraction}")
        if r_outer is not None and r_outer <= 0:
            raise ValueError(f"r_outer must be positive, got {r_outer}")
        self.r_outer = None if r_outer is None else float(r_outer)
        self.inner_fraction = float(inner_fraction)
        self.covalent_scale = float(covalent_scale)
        self.elements = None if elements is None else sorted(int(z) for z in elements)
        self.pair_radii = None if pair_radii is None else {
            pair_key(*(int(z) for z in k.split("-"))): float(v) for k, v in pair_radii.items()}
        if any(v <= 0 for v in (self.pair_radii or {}).values()):
            raise ValueError(f"pair_radii must be positive, got {self.pair_radii}")
        if self.r_outer is not None:
            self.cutoff = self.r_outer
        else:
            radii = covalent_radii()
            known = radii[1:95] if self.elements is None else radii[self.elements]
            self.cutoff = float(2.0 * self.covalent_scale * known.max())
        self.cutoff = max([self.cutoff, *(self.pair_radii or {}).values()])

    def config(self):
        return {"r_outer": self.r_outer, "inner_fraction": self.inner_fraction,
                "covalent_scale": self.covalent_scale, "elements": self.elements,
                "pair_radii": self.pair_radii}

    def switch_radii(self, z_i: torch.Tensor, z_j: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """(r_on, r_off) in Å for the pairs (z_i, z_j), float64."""
        return pair_switch_radii(z_i, z_j, self.r_outer, self.covalent_scale,
                                 self.inner_fraction, pair_radii=self.pair_radii)

    def pair_energy(self, r: torch.Tensor, z_i: torch.Tensor, z_j: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, batch):
        from pesforge.neighbors import edge_vectors

        numbers = batch[K.ATOMIC_NUMBERS]
        if self.elements is not None:
            unknown = sorted(set(numbers.unique().tolist()) - set(self.elements))
            if unknown:
                raise ValueError(f"{type(self).__name__} knows elements {self.elements}, "
                                 f"the batch has {unknown}")
        i, j = batch[K.EDGE_INDEX]
        vectors = edge_vectors(batch).to(torch.float64)
        r = vectors.norm(dim=1)
        z_i, z_j = numbers[i], numbers[j]
        r_on, r_off = self.switch_radii(z_i, z_j)
        inside = r < r_off
        # Only pairs inside the switch contribute; others are dropped (no 0 * inf).
        idx = inside.nonzero().squeeze(1)
        r_in = r[idx]
        pair = self.pair_energy(r_in, z_i[idx], z_j[idx])
        pair = pair * smoothstep_switch(r_in, r_on[idx], r_off[idx])
        energies = torch.zeros(numbers.shape[0], dtype=torch.float64, device=r.device)
        return energies.index_add(0, i[idx], 0.5 * pair)


@register("zbl")
class ZBL(_PairRepulsion):
    """ZBL universal screened nuclear repulsion, switched off between ``r_on`` and ``r_off``.

    Args:
        r_outer: r_off in Å for every pair; default per pair ``covalent_scale`` x (sum of
            covalent radii).
        pair_radii: r_off in Å per element pair, ``{"1-1": 1.38, ...}``, overriding the
            default for the pairs it names (e.g. :func:`pair_radii_from_frames`).
        inner_fraction: r_on / r_off.
        covalent_scale: scale of the covalent-radius sum when ``r_outer`` is None.
        elements: optional atomic numbers the term may see (tightens its cutoff).
    """

    def pair_energy(self, r, z_i, z_j):
        return zbl_pair_energy(r, z_i, z_j)


@register("inverse_power_repulsion")
class InversePowerRepulsion(_PairRepulsion):
    """E = A / r^n per pair with A = ``strength`` x sigma_ij^n, sigma_ij = ``sigma_scale`` x
    (sum of covalent radii) (Å), switched off like :class:`ZBL`. With the defaults this is
    ``strength`` eV at half the covalent bond length, rising as r^-12 below.
    """

    def __init__(self, strength: float = 1.0, power: int = 12, sigma_scale: float = 0.5,
                 r_outer: float | None = None, inner_fraction: float = 0.5,
                 covalent_scale: float = 1.0, elements: Sequence[int] | None = None,
                 pair_radii: dict[str, float] | None = None):
        super().__init__(r_outer, inner_fraction, covalent_scale, elements, pair_radii)
        self.strength, self.power, self.sigma_scale = float(strength), int(power), \
            float(sigma_scale)

    def config(self):
        return {**super().config(), "strength": self.strength, "power": self.power,
                "sigma_scale": self.sigma_scale}

    def pair_energy(self, r, z_i, z_j):
        radii = covalent_radii(r.dtype, r.device)
        sigma = self.sigma_scale * (radii[z_i] + radii[z_j])
        return inverse_power_pair_energy(r, sigma, self.strength, self.power)
