"""Electrostatics of (learned or fixed) atomic charges: direct sums for molecules, Ewald or PME
(torch-pme) for 3D-periodic cells, differentiable so forces and stress come from
:func:`pesforge.models.autograd.compute`.

Range separation. Each charge is smeared into a Gaussian of width ``smearing`` (sigma); the
Coulomb kernel splits as 1/r = erf(r / (sqrt2 sigma)) / r + erfc(r / (sqrt2 sigma)) / r.
With ``range="long"`` (the default, for use beside a learned model) this term carries only the
smooth long-range part erf(r / (sqrt2 sigma)) / r over all pairs i != j and all periodic
images (Ewald's reciprocal-space sum minus the self term); the short-range remainder
erfc(r / (sqrt2 sigma)) / r, below 1e-6 / r beyond r = 4.9 sigma, is left to the learned model
inside its cutoff. So with sigma <= r_cut / 4.9 (default sigma = 1 Å for a 5.2 Å model) the ML
part sees only short-range physics and nothing is counted twice: E = E_ML(short) + E_lr. ``range="full"`` adds the real-space
erfc part over pairs within ``real_cutoff`` (classical point charges, e.g. Madelung sums).
Non-neutral periodic cells get torch-pme's uniform neutralising background.

P. P. Ewald, Ann. Phys. 369, 253 (1921); T. Darden, D. York & L. Pedersen, J. Chem. Phys. 98,
10089 (1993) (PME); torch-pme: Loche et al., J. Chem. Phys. 162, 142501 (2025).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from pesforge.data import keys as K
from pesforge.models.potential import Potential, register
from pesforge.physics.charges import ChargeModel, build_charge_model, dipoles
from pesforge.physics.zbl import COULOMB_CONSTANT

METHODS = ("auto", "direct", "ewald", "pme")
RANGES = ("long", "full")


def coulomb_kernel(r: torch.Tensor, smearing: float, full: bool) -> torch.Tensor:
    """Pair kernel (1/Å): 1/r if ``full`` else the long-range part erf(r/(sqrt2 sigma))/r."""
    if full:
        return 1.0 / r
    return torch.erf(r / (math.sqrt(2.0) * smearing)) / r


def direct_energies(charges: torch.Tensor, positions: torch.Tensor, smearing: float,
                    full: bool) -> torch.Tensor:
    """Per-atom energies (N,) eV of one non-periodic system: 1/2 k sum_{j != i} q_i q_j v(r_ij)."""
    n = positions.shape[0]
    i, j = torch.triu_indices(n, n, 1, device=positions.device)
    r = (positions[j] - positions[i]).to(torch.float64).norm(dim=1)
    pair = COULOMB_CONSTANT * charges[i] * charges[j] * coulomb_kernel(r, smearing, full)
    out = torch.zeros(n, dtype=torch.float64, device=positions.device)
    return out.index_add(0, i, 0.5 * pair).index_add(0, j, 0.5 * pair)


def _torchpme():
    try:
        import torchpme
    except ImportError as err:  # pragma: no cover
        raise ImportError("periodic electrostatics need 'torch-pme' (pip install torch-pme, "
                          "extra 'physics')") from err
    return torchpme


@register("coulomb")
class Coulomb(Potential):
    """Electrostatic energy of the charges of ``charges`` (a charge model or its config).

    Args:
        charges: a :class:`~pesforge.physics.charges.ChargeModel` or its config dict, e.g.
            ``{"kind": "fixed", "charges": {"11": 1, "17": -1}}`` or
            ``{"kind": "learned", "elements": [1, 6, 8]}``.
        smearing: Gaussian width sigma (Å) of the range separation.
        range: ``"long"`` (erf part only, beside a learned model) or ``"full"``.
        method: ``"auto"`` (direct for molecules, Ewald up to ``pme_min_atoms`` atoms, PME
            above), ``"direct"``, ``"ewald"`` or ``"pme"``.
        real_cutoff: Å, real-space cutoff of ``range="full"`` in periodic cells (default
            6.9 sigma, where erfc(r / (sqrt2 sigma)) ~ 5e-12).
        lr_wavelength: Å, shortest wavelength of the Ewald sum (default sigma / 2).
        mesh_spacing: Å, PME mesh spacing (default sigma / 4).
        pme_min_atoms: systems with at least this many atoms use PME under ``"auto"``.
    """

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS, K.CELL, K.PBC, K.SYSTEM, K.N_ATOMS)

    def __init__(self, charges: dict[str, Any] | ChargeModel, smearing: float = 1.0,
                 range: str = "long", method: str = "auto", real_cutoff: float | None = None,
                 lr_wavelength: float | None = None, mesh_spacing: float | None = None,
                 pme_min_atoms: int = 1000):
        super().__init__()
        if range not in RANGES:
            raise ValueError(f"range must be one of {RANGES}, got {range!r}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if smearing <= 0:
            raise ValueError(f"smearing must be positive, got {smearing}")
        self.charge_model = build_charge_model(charges)
        self.smearing, self.range, self.method = float(smearing), range, method
        self.real_cutoff = float(real_cutoff) if real_cutoff else 6.9 * self.smearing
        self.lr_wavelength = float(lr_wavelength) if lr_wavelength else self.smearing / 2
        self.mesh_spacing = float(mesh_spacing) if mesh_spacing else self.smearing / 4
        self.pme_min_atoms = int(pme_min_atoms)
        self.elements = getattr(self.charge_model, "elements", None)
        self.cutoff = max(self.charge_model.cutoff,
                          self.real_cutoff if range == "full" else 0.0)
        if self.charge_model.cutoff > 0:
            self.reads = self.reads + (K.EDGE_INDEX, K.EDGE_SHIFTS)
        elif range == "full":
            self.reads = self.reads + (K.EDGE_INDEX, K.EDGE_SHIFTS)

    def config(self):
        return {"charges": self.charge_model.config(), "smearing": self.smearing,
                "range": self.range, "method": self.method, "real_cutoff": self.real_cutoff,
                "lr_wavelength": self.lr_wavelength, "mesh_spacing": self.mesh_spacing,
                "pme_min_atoms": self.pme_min_atoms}

    def charges(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(A,) float64 charges in e, summing to each system's total charge."""
        return self.charge_model(batch)

    def forward(self, batch):
        q = self.charges(batch)
        positions, pbc = batch[K.POSITIONS], batch[K.PBC]
        counts = batch[K.N_ATOMS].tolist()
        offsets = [0]
        for n in counts:
            offsets.append(offsets[-1] + n)
        parts = []
        for s, n in enumerate(counts):
            lo, hi = offsets[s], offsets[s + 1]
            periodic = pbc[s]
            if bool(periodic.any()) and not bool(periodic.all()):
                raise NotImplementedError(f"Coulomb: system {s} is periodic along "
                                          f"{periodic.tolist()}; only molecules and 3D cells "
                                          "are supported")
            if not bool(periodic.all()) or self.method == "direct":
                if bool(periodic.all()):
                    raise ValueError("Coulomb(method='direct') cannot sum a periodic system")
                parts.append(direct_energies(q[lo:hi], positions[lo:hi], self.smearing,
                                             self.range == "full"))
            else:
                parts.append(self._periodic(batch, s, lo, hi, q[lo:hi]))
        return torch.cat(parts)

    def _calculator(self, n_atoms: int, dtype):
        pme = _torchpme()
        potential = pme.CoulombPotential(smearing=self.smearing)
        use_pme = self.method == "pme" or (self.method == "auto" and n_atoms >= self.pme_min_atoms)
        if use_pme:
            calc = pme.PMECalculator(potential, mesh_spacing=self.mesh_spacing,
                                     full_neighbor_list=True)
        else:
            calc = pme.EwaldCalculator(potential, lr_wavelength=self.lr_wavelength,
                                       full_neighbor_list=True)
        return calc.to(dtype=dtype)

    def _periodic(self, batch, s: int, lo: int, hi: int, q: torch.Tensor) -> torch.Tensor:
        """Per-atom energies of 3D-periodic system ``s`` (atoms lo:hi) by Ewald or PME."""
        positions = batch[K.POSITIONS][lo:hi].to(torch.float64)
        cell = batch[K.CELL][s].to(torch.float64)
        if self.range == "full":
            from pesforge.neighbors import edge_vectors

            i, j = batch[K.EDGE_INDEX]
            mine = ((i >= lo) & (i < hi)).nonzero().squeeze(1)
            r = edge_vectors(batch)[mine].to(torch.float64).norm(dim=1)
            keep = r < self.real_cutoff
            pairs = torch.stack([i[mine][keep] - lo, j[mine][keep] - lo], dim=1)
            distances = r[keep]
        else:  # long range only: no real-space pairs
            pairs = torch.zeros((0, 2), dtype=torch.long, device=positions.device)
            distances = torch.zeros(0, dtype=torch.float64, device=positions.device)
        calc = self._calculator(hi - lo, torch.float64)
        potential = calc(q[:, None], cell, positions, pairs, distances)
        return COULOMB_CONSTANT * q * potential[:, 0]


def charges_and_dipoles(potential: Potential, batch: dict[str, torch.Tensor]) -> dict:
    """Predicted :data:`~pesforge.data.keys.CHARGES` (A,) e and
    :data:`~pesforge.data.keys.DIPOLE` (S, 3) e·Å of the (first) Coulomb term of ``potential``
    (itself or a term of a sum), keeping the autograd graph for charge/dipole losses."""
    terms = list(getattr(potential, "terms", [potential]))
    coulomb = [t for t in terms if isinstance(t, Coulomb)]
    if not coulomb:
        raise ValueError(f"{type(potential).__name__} has no Coulomb term to give charges")
    q = coulomb[0].charges(batch)
    return {K.CHARGES: q, K.DIPOLE: dipoles(q, batch[K.POSITIONS], batch[K.SYSTEM],
                                            batch[K.N_ATOMS].shape[0])}
