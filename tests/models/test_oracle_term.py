"""An oracle as a potential term: energies, forces and stress reach compute() unchanged, and
an oracle + model composite saves, loads and runs as one ASE calculator."""

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule

pytest.importorskip("tblite")

from pesforge.data.batch import from_atoms  # noqa: E402
from pesforge.data.frame import Frame  # noqa: E402
from pesforge.data import keys as K  # noqa: E402
from pesforge.interfaces import Calculator  # noqa: E402
from pesforge.models import compute  # noqa: E402
from pesforge.models.io import load_model, save_model  # noqa: E402
from pesforge.models.oracle_term import OracleTerm  # noqa: E402
from pesforge.oracles.tblite_oracle import TBLiteOracle  # noqa: E402


def test_forces_are_the_oracle_forces_and_its_energy_gradient():
    atoms = molecule("H2O")
    atoms.positions += np.random.default_rng(0).normal(0, 0.05, atoms.positions.shape)
    oracle = TBLiteOracle()
    term = OracleTerm(oracle)
    out = compute(term, from_atoms(atoms, term.cutoff), forces=True)
    label = oracle.compute(Frame.from_atoms(atoms))
    assert float(out[K.ENERGY][0]) == pytest.approx(label.energy, abs=1e-10)
    assert np.allclose(out[K.FORCES].numpy(), label.forces, atol=1e-10)
    # ... which are the negative gradient of its energy (central differences).
    h, k = 1e-4, (1, 2)
    plus, minus = atoms.copy(), atoms.copy()
    plus.positions[k] += h
    minus.positions[k] -= h
    e = [oracle.compute(Frame.from_atoms(a)).energy for a in (plus, minus)]
    assert -(e[0] - e[1]) / (2 * h) == pytest.approx(label.forces[k], abs=2e-4)


def test_periodic_stress_comes_back_through_the_strain_derivative():
    atoms = bulk("Si", "diamond", a=5.6)
    atoms.positions[0] += 0.05
    oracle = TBLiteOracle()
    term = OracleTerm(oracle)
    out = compute(term, from_atoms(atoms, term.cutoff), forces=True, stress=True)
    label = oracle.compute(Frame.from_atoms(atoms))
    assert np.allclose(out[K.STRESS][0].numpy(), label.stress, atol=1e-9)
    assert np.allclose(out[K.FORCES].numpy(), label.forces, atol=1e-10)


def test_composite_saves_and_runs_as_one_calculator(tmp_path):
    from pesforge.physics.lennard_jones import LennardJones

    model = LennardJones(epsilon=0.01, sigma=1.5, cutoff=4.0)
    composite = OracleTerm(TBLiteOracle()) + model.to(torch.float64)
    path = save_model(composite, tmp_path / "delta.safetensors")
    loaded = load_model(path)
    atoms = molecule("CH4")
    atoms.calc = Calculator(loaded)
    e = atoms.get_potential_energy()
    parts = [compute(t, from_atoms(atoms, composite.cutoff, dtype=torch.float64),
                     forces=False)[K.ENERGY] for t in composite.terms]
    assert e == pytest.approx(float(sum(parts)), abs=1e-9)
    assert loaded.terms[0].spec == {"kind": "tblite",
                                    "config": TBLiteOracle().config.model_dump(mode="json")}
