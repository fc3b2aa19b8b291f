"""The batch schema: every key of pesforge's one batch type, with shape, scope, dtype and unit.

A batch is a plain ``dict[str, torch.Tensor]`` holding one or more systems concatenated along the
atom axis (as in NequIP and TorchSim). Keys are the constants below; each is documented by a
:class:`KeySpec`. Shapes use ``A`` = atoms in the batch, ``S`` = systems, ``E`` = edges (directed
neighbour pairs ``i -> j``), ``P`` = atom pairs of cached feature Jacobians, ``F`` = features.
Cell vectors are rows. Reference labels read from files carry the ``REF_`` prefix so that
predictions never overwrite them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KeySpec:
    """What a batch key holds: shape (symbolic), scope, dtype family and unit."""

    name: str
    shape: str
    scope: str  # "atom" | "edge" | "system" | "pair"
    dtype: str  # "float" (the model's dtype), "float64", "int64" or "bool"
    unit: str
    doc: str


SCHEMA: dict[str, KeySpec] = {}


def _key(name: str, shape: str, scope: str, dtype: str, unit: str, doc: str) -> str:
    SCHEMA[name] = KeySpec(name, shape, scope, dtype, unit, doc)
    return name


# --- structure ------------------------------------------------------------------------------
POSITIONS = _key("positions", "(A, 3)", "atom", "float", "Å", "Cartesian positions.")
ATOMIC_NUMBERS = _key("atomic_numbers", "(A,)", "atom", "int64", "1", "Nuclear charges Z.")
SYSTEM = _key("system", "(A,)", "atom", "int64", "1", "Index of the system each atom belongs to.")
N_ATOMS = _key("n_atoms", "(S,)", "system", "int64", "1", "Number of atoms of each system.")
CELL = _key("cell", "(S, 3, 3)", "system", "float", "Å", "Cell vectors as rows; zeros if no pbc.")
PBC = _key("pbc", "(S, 3)", "system", "bool", "1", "Periodicity along each cell vector.")

# --- neighbours -----------------------------------------------------------------------------
EDGE_INDEX = _key(
    "edge_index", "(2, E)", "edge", "int64", "1",
    "Centre atom i (row 0) and neighbour j (row 1) of each directed pair within the cutoff.",
)
EDGE_SHIFTS = _key(
    "edge_cell_shift", "(E, 3)", "edge", "float", "1",
    "Integer lattice translations S so that r_ij = r_j - r_i + S @ cell.",
)

# --- cached descriptors (training on fixed features, see pesforge.training.feature_cache) ---
FEATURES = _key("features", "(A, F)", "atom", "float", "1", "Fixed per-atom descriptors G_i.")
FEATURE_JACOBIAN = _key("feature_jacobian", "(P, F, 3)", "pair", "float", "1/Å",
                        "dG_i/dR_k for each atom pair (i, k) of FEATURE_PAIRS.")
FEATURE_PAIRS = _key("feature_pairs", "(2, P)", "pair", "int64", "1",
                     "Atom pairs (i, k) with a non-zero block dG_i/dR_k (k = i included).")

# --- predictions ----------------------------------------------------------------------------
ATOMIC_ENERGIES = _key("atomic_energies", "(A,)", "atom", "float64", "eV", "Per-atom energies.")
ENERGY = _key("energy", "(S,)", "system", "float64", "eV", "Total potential energy.")
FORCES = _key("forces", "(A, 3)", "atom", "float", "eV/Å", "Forces, -dE/dR.")
VIRIAL = _key("virial", "(S, 3, 3)", "system", "float", "eV", "Virial W = -dE/dstrain.")
STRESS = _key(
    "stress", "(S, 3, 3)", "system", "float", "eV/Å³",
    "Stress sigma = -W / V (ASE sign: positive under tension); zero for zero-volume cells.",
)

# --- uncertainty (pesforge.uncertainty) -----------------------------------------------------
ENERGY_STD = _key("energy_std", "(S,)", "system", "float64", "eV",
                  "Ensemble (epistemic) standard deviation of the total energy, recalibrated.")
FORCES_STD = _key("forces_std", "(A,)", "atom", "float64", "eV/Å",
                  "Ensemble force deviation of each atom, sqrt(mean_m |F_m,i - <F_i>|^2) "
                  "(DP-GEN's definition; per-component std = value / sqrt(3)), recalibrated.")
ENERGY_NOISE_VAR = _key("energy_noise_variance", "(S,)", "system", "float64", "eV²",
                        "Aleatoric (label-noise) variance of the total energy, from a "
                        "variance head: the sum of per-atom contributions.")
FORCES_NOISE_VAR = _key("forces_noise_variance", "(A,)", "atom", "float64", "eV²/Å²",
                        "Aleatoric (label-noise) variance of each force component of an atom.")

# --- reference labels -----------------------------------------------------------------------
REF_ENERGY = _key("REF_energy", "(S,)", "system", "float64", "eV", "Reference total energy.")
REF_FORCES = _key("REF_forces", "(A, 3)", "atom", "float", "eV/Å", "Reference forces.")
REF_STRESS = _key("REF_stress", "(S, 3, 3)", "system", "float", "eV/Å³", "Reference stress.")
HAS_ENERGY = _key("has_energy", "(S,)", "system", "bool", "1", "System has an energy label.")
HAS_FORCES = _key("has_forces", "(S,)", "system", "bool", "1", "System has force labels.")
HAS_STRESS = _key("has_stress", "(S,)", "system", "bool", "1", "System has a stress label.")

# --- charges and electrostatics (pesforge.physics) -----------------------------------------
TOTAL_CHARGE = _key("total_charge", "(S,)", "system", "float64", "e",
                    "Net charge of each system, conserved exactly by charge models; 0 if absent.")
CHARGES = _key("charges", "(A,)", "atom", "float64", "e", "Predicted atomic partial charges.")
DIPOLE = _key("dipole", "(S, 3)", "system", "float64", "e·Å",
              "Predicted dipole sum_i q_i r_i (meaningful for non-periodic systems).")
REF_CHARGES = _key("REF_charges", "(A,)", "atom", "float64", "e", "Reference partial charges.")
REF_DIPOLE = _key("REF_dipole", "(S, 3)", "system", "float64", "e·Å", "Reference dipole.")
HAS_CHARGES = _key("has_charges", "(S,)", "system", "bool", "1", "System has charge labels.")
HAS_DIPOLE = _key("has_dipole", "(S,)", "system", "bool", "1", "System has a dipole label.")

__all__ = [name for name in dir() if name.isupper()] + ["KeySpec"]
