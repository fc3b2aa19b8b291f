"""The core of the Potential path: sums, model files, float64 totals, neighbour lists, triplets."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.neighborlist import neighbor_list as ase_neighbor_list

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.descriptors.symmetry_functions import SymmetryFunctionParameters
from pesforge.models import BPNN, SumPotential, compute, load_model, save_model
from pesforge.models.potential import Potential
from pesforge.neighbors import edge_vectors, neighbor_list
from pesforge.neighbors.triplets import triplets

ELEMENTS = (1, 6, 8)


def small_bpnn(cutoff: float, kind: str = "g5", seed: int = 0,
               reference=(-13.6, -1030.0, -2040.0)) -> BPNN:
    torch.manual_seed(seed)
    parameters = SymmetryFunctionParameters.default(cutoff, angular_kind=kind, n_radial=6,
                                                    n_angular_shells=2)
    model = BPNN(ELEMENTS, parameters, hidden=(8, 8)).double()
    batch = collate([Frame.from_atoms(a) for a in T.fixtures.default_systems(ELEMENTS)], cutoff)
    model.fit_statistics([batch], reference_energies=np.array(reference), energy_scale=0.3)
    return model


def evaluate(potential, systems, derivatives=True):
    batch = collate([Frame.from_atoms(a) for a in systems], potential.cutoff,
                    dtype=potential.dtype)
    return compute(potential, batch, forces=derivatives, stress=derivatives)


# --- SumPotential -----------------------------------------------------------------------------


def test_sum_adds_energies_forces_and_stress():
    a, b = small_bpnn(4.0, "g4", seed=1), small_bpnn(5.2, "g5", seed=2)
    total = a + b
    assert isinstance(total, SumPotential)
    assert total.cutoff == 5.2
    systems = T.fixtures.default_systems(ELEMENTS)
    summed = evaluate(total, systems)
    # Each term on its own, with its own (shorter) neighbour list.
    parts = [evaluate(a, systems), evaluate(b, systems)]
    for key in (K.ENERGY, K.ATOMIC_ENERGIES, K.FORCES, K.STRESS):
        torch.testing.assert_close(summed[key], parts[0][key] + parts[1][key], rtol=0,
                                   atol=1e-10)
    assert summed[K.ENERGY].dtype == torch.float64
    nested = total + small_bpnn(3.0, seed=3)
    assert len(nested.terms) == 3 and nested.cutoff == 5.2


def test_sum_round_trips_through_a_model_file(tmp_path):
    total = (small_bpnn(4.0, "g4", seed=1) + small_bpnn(5.2, "g5", seed=2)).eval()  # as loaded
    path = save_model(total, tmp_path / "sum.safetensors", extra={"note": "test"})
    loaded = load_model(path)
    assert isinstance(loaded, SumPotential) and loaded.dtype == torch.float64
    assert loaded.extra == {"note": "test"}
    systems = T.fixtures.default_systems(ELEMENTS)
    before, after = evaluate(total, systems), evaluate(loaded, systems)
    for key in (K.ENERGY, K.ATOMIC_ENERGIES, K.FORCES, K.STRESS):
        torch.testing.assert_close(after[key], before[key], rtol=0, atol=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sum.safetensors"]


def test_model_file_is_plain_safetensors(tmp_path):
    from safetensors import safe_open

    model = small_bpnn(4.0)
    path = save_model(model, tmp_path / "model.safetensors")
    raw = path.read_bytes()
    # safetensors layout: u64 header length, JSON header, raw tensor bytes; nothing else.
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    assert 8 + length + end == len(raw)
    meta = json.loads(header["__metadata__"]["pesforge"])
    assert meta["potential"]["name"] == "bpnn" and meta["dtype"] == "float64"
    with safe_open(str(path), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    state = model.state_dict()
    assert set(tensors) == set(state)
    for key, value in state.items():
        assert torch.equal(tensors[key], value), key


def test_float32_model_keeps_float64_reference_energies_and_totals(tmp_path):
    model64 = small_bpnn(4.0, reference=(-1000.0, -1000.0, -1000.0))
    model32 = small_bpnn(4.0, reference=(-1000.0, -1000.0, -1000.0)).float()
    assert model32.dtype == torch.float32
    assert model32.reference_energies.dtype == torch.float64
    loaded = load_model(save_model(model32, tmp_path / "m32.safetensors"))
    assert loaded.dtype == torch.float32 and loaded.reference_energies.dtype == torch.float64

    rng = np.random.default_rng(0)
    grid = np.stack(np.meshgrid(*[np.arange(10)] * 3, indexing="ij"), -1).reshape(-1, 3)
    atoms = Atoms(numbers=rng.choice(ELEMENTS, size=1000),
                  positions=3.0 * grid + rng.normal(scale=0.2, size=(1000, 3)))
    e64 = evaluate(model64, [atoms], derivatives=False)
    e32 = evaluate(loaded, [atoms], derivatives=False)
    assert e32[K.ENERGY].dtype == torch.float64
    assert e32[K.ATOMIC_ENERGIES].dtype == torch.float64
    assert abs(float(e64[K.ENERGY][0])) > 9e5
    assert abs(float(e32[K.ENERGY][0] - e64[K.ENERGY][0])) < 1e-3
    # A float32 accumulation of the same per-atom energies would not be meV-precise.
    naive = e32[K.ATOMIC_ENERGIES].float().cumsum(0)[-1].double()
    assert abs(float(naive - e64[K.ENERGY][0])) > 1e-3


class ConstantPerAtom(Potential):
    """-5 eV per atom whatever the geometry: a reference-energy term with no position path."""

    reads = (K.POSITIONS, K.ATOMIC_NUMBERS)

    def __init__(self):
        super().__init__()
        self.register_buffer("e0", torch.tensor(-5.0, dtype=torch.float64))

    def forward(self, batch):
        return self.e0.expand(len(batch[K.POSITIONS])).clone()


def test_compute_on_a_position_independent_potential():
    batch = collate([Frame.from_atoms(a) for a in T.fixtures.default_systems(ELEMENTS)], 0.0)
    out = compute(ConstantPerAtom(), batch, forces=True, stress=True)
    torch.testing.assert_close(out[K.ENERGY], torch.tensor([-45.0, -40.0], dtype=torch.float64))
    assert torch.count_nonzero(out[K.FORCES]) == 0 and torch.count_nonzero(out[K.STRESS]) == 0



def test_compute_gives_derivatives_under_an_outer_no_grad():
    model = small_bpnn(4.0)
    batch = collate([Frame.from_atoms(T.periodic_cell(ELEMENTS))], model.cutoff)
    want = compute(model, batch, forces=True, stress=True)
    with torch.no_grad():
        got = compute(model, batch, forces=True, stress=True)
    assert torch.count_nonzero(want[K.STRESS]) > 0
    for key in (K.FORCES, K.STRESS):
        torch.testing.assert_close(got[key], want[key])

def test_adopting_new_statistics_keeps_every_energy_force_and_stress():
    """A warm start takes the new data's standardisation, energy scale and reference
    energies; the BPNN re-expresses its weights so that nothing it predicts changes."""
    model = small_bpnn(4.0, "g5", seed=3)
    systems = T.fixtures.default_systems(ELEMENTS)
    before = evaluate(model, systems)
    other = small_bpnn(4.0, "g5", seed=4)
    rattled = [a.copy() for a in systems]
    for atoms in rattled:
        atoms.rattle(stdev=0.2, seed=5)
    other.fit_statistics([collate([Frame.from_atoms(a) for a in rattled], 4.0)],
                         reference_energies=np.array([-13.0, -1020.0, -2050.0]),
                         energy_scale=1.7)
    assert not torch.allclose(other.feature_std, model.feature_std)
    model.adopt_statistics(other.state_dict())
    for key in ("feature_mean", "feature_std", "energy_scale", "reference_energies"):
        assert torch.equal(getattr(model, key), getattr(other, key)), key
    after = evaluate(model, systems)
    for key in (K.ENERGY, K.FORCES, K.STRESS):
        np.testing.assert_allclose(after[key].numpy(), before[key].numpy(), rtol=1e-10,
                                   atol=1e-9, err_msg=key)


# --- neighbour lists ----------------------------------------------------------------------------


def pair_set(i, j, shifts):
    return {(int(a), int(b), *map(int, s)) for a, b, s in zip(i, j, shifts)}


def neighbour_cases():
    rng = np.random.default_rng(4)
    molecule = T.molecule()
    cubic = Atoms("Cu8", positions=rng.uniform(0, 5.0, (8, 3)), cell=np.eye(3) * 5.0, pbc=True)
    triclinic = T.periodic_cell()
    mixed = triclinic.copy()
    mixed.pbc = [True, True, False]
    slab = Atoms("H4O2", positions=rng.uniform(0, 3.0, (6, 3)),
                 cell=[[3.0, 0, 0], [0.5, 3.2, 0], [0, 0, 0]], pbc=[True, True, False])
    wire = Atoms("C3", positions=rng.uniform(0, 2.0, (3, 3)), cell=[0, 0, 2.1],
                 pbc=[False, False, True])
    tiny = Atoms("HO", positions=[[0.1, 0.2, 0.3], [1.0, 0.9, 0.4]],
                 cell=[[1.6, 0.0, 0.0], [0.4, 1.5, 0.0], [-0.3, 0.2, 1.7]], pbc=True)
    outside = triclinic.copy()
    outside.positions += [7.3, -11.2, 4.4]  # atoms far outside the unit cell
    return {"molecule": (molecule, 3.0), "cubic": (cubic, 4.0), "triclinic": (triclinic, 5.2),
            "mixed_pbc": (mixed, 5.2), "slab_zero_c": (slab, 4.0), "wire": (wire, 3.0),
            "cutoff_over_cell": (tiny, 5.0), "outside_cell": (outside, 5.2)}


@pytest.mark.parametrize("name", list(neighbour_cases()))
def test_neighbour_list_matches_ase(name):
    atoms, cutoff = neighbour_cases()[name]
    i, j, shifts = ase_neighbor_list("ijS", atoms, cutoff)
    edges, ours = neighbor_list(atoms.positions, atoms.cell.array, atoms.pbc, cutoff)
    assert edges.dtype == np.int64 and ours.shape == (edges.shape[1], 3)
    assert pair_set(edges[0], edges[1], ours) == pair_set(i, j, shifts)
    assert len(pair_set(edges[0], edges[1], ours)) == edges.shape[1]  # no duplicates
    if name == "cutoff_over_cell":
        assert np.abs(ours).max() >= 3


def test_edge_vectors_point_from_centre_to_neighbour_image():
    atoms = T.periodic_cell()
    batch = collate([Frame.from_atoms(atoms)], 5.2)
    i, j, d = ase_neighbor_list("ijD", atoms, 5.2)
    expected = {(int(a), int(b), *np.round(v, 8)) for a, b, v in zip(i, j, d)}
    vectors = edge_vectors(batch).numpy()
    got = {(int(a), int(b), *np.round(v, 8))
           for a, b, v in zip(*batch[K.EDGE_INDEX].numpy(), vectors)}
    assert got == expected
    assert np.linalg.norm(vectors, axis=1).max() < 5.2


# --- triplets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplets_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_atoms = 7
    centers = rng.integers(0, n_atoms - 1, size=40)  # the last atom has no edges
    first, second = triplets(torch.from_numpy(centers), n_atoms)
    got = [tuple(sorted(p)) for p in zip(first.tolist(), second.tolist())]
    expected = {(a, b) for a in range(len(centers)) for b in range(a + 1, len(centers))
                if centers[a] == centers[b]}
    assert len(got) == len(set(got)) == len(expected)
    assert set(got) == expected


def test_triplets_of_no_edges():
    first, second = triplets(torch.zeros(0, dtype=torch.long), 3)
    assert first.numel() == second.numel() == 0
