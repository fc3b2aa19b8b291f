"""The compiled inference path of the equivariant potential (``compile_for_inference``, i.e.
torch.compile with dynamic shapes and unblocked edges) gives the eager energies, forces and
stress in float64, for systems of different sizes from one compilation, also through the ASE
calculator."""

import copy

import numpy as np
import pytest
import torch

from pesforge import testing as T
from pesforge.data import keys as K
from pesforge.data.batch import from_atoms
from pesforge.interfaces.ase_calculator import Calculator
from pesforge.models import EquivariantPotential, compute

from model_helpers import ELEMENTS, assert_close_relative, perturb, systems_batch

pytest.importorskip("e3nn")

RTOL = 1e-10


def tiny_model() -> EquivariantPotential:
    """2 interactions so that hidden node features carry l = 1, not only the edge bases."""
    torch.manual_seed(0)
    model = EquivariantPotential(ELEMENTS, cutoff=4.0, channels=3, lmax=1, interactions=2,
                                 correlation=2, n_radial=4, radial_hidden=6).double()
    perturb(model)
    model.fit_statistics([systems_batch(4.0)], reference_energies=np.array(
        [-13.6, -1030.0, -2040.0]), energy_scale=0.5)
    return model.eval()


def bigger_cell():
    """The rattled triclinic fixture cell doubled along a (16 atoms instead of 8)."""
    atoms = T.periodic_cell(ELEMENTS).repeat((2, 1, 1))
    atoms.rattle(stdev=0.05, seed=1)
    return atoms


def assert_same(got: dict, want: dict, what: str) -> None:
    for key in (K.ENERGY, K.FORCES, K.STRESS):
        if key in want:
            assert_close_relative(got[key], want[key], rtol=RTOL, what=f"{what} {key}")


def graphs_compiled() -> int:
    """Graphs dynamo has compiled in this process so far."""
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


@pytest.mark.slow
@pytest.mark.timeout(1800)  # cold compilation took > 900 s wall on a loaded 2-core machine
def test_compiled_model_matches_eager_for_every_size_and_through_the_calculator():
    eager = tiny_model()
    compiled = copy.deepcopy(eager).compile_for_inference()
    assert all(block.edge_block > 10**9 for block in compiled.blocks)
    assert all(block.edge_block < 10**9 for block in eager.blocks)
    cells = [T.periodic_cell(ELEMENTS), bigger_cell()]
    batches = [from_atoms(atoms, eager.cutoff) for atoms in cells]
    assert batches[1][K.EDGE_INDEX].shape[1] > batches[0][K.EDGE_INDEX].shape[1]

    before = graphs_compiled()
    for n, batch in enumerate(batches):
        want = compute(eager, batch, forces=True, stress=True)
        assert_same(compute(compiled, batch, forces=True, stress=True), want, f"cell {n}")
        if n == 0:
            with_stress = graphs_compiled()
            assert with_stress > before  # it did compile
    assert graphs_compiled() == with_stress, "the second system size recompiled"

    # Forces only: the cell does not require grad, another guard, so one more compilation;
    # then the calculator (forces only) on the 16-atom cell reuses it.
    molecule = T.molecule(ELEMENTS)
    want = compute(eager, from_atoms(molecule, eager.cutoff), forces=True)
    assert_same(compute(compiled, from_atoms(molecule, eager.cutoff), forces=True), want,
                "molecule")
    forces_only = graphs_compiled()
    calculator = Calculator(compiled)
    assert calculator.potential is compiled
    for atoms in (cells[1], molecule):
        want = compute(eager, from_atoms(atoms, eager.cutoff), forces=True)
        atoms = atoms.copy()
        atoms.calc = calculator
        assert atoms.get_potential_energy() == pytest.approx(float(want[K.ENERGY][0]),
                                                             rel=RTOL)
        assert_close_relative(torch.from_numpy(atoms.get_forces()), want[K.FORCES],
                              rtol=RTOL, what="calculator forces")
    assert graphs_compiled() == forces_only, "the calculator recompiled"
