"""The ensemble ASE calculator agrees with the native ensemble path."""

import numpy as np
import pytest
import torch
from ase.calculators.calculator import PropertyNotImplementedError

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.readers import read
from pesforge.interfaces import EnsembleCalculator
from pesforge.uncertainty import ensemble_compute


def test_calculator_matches_native_path(trained, ethanol_files):
    frame = read(ethanol_files[1])[3]
    native = ensemble_compute(trained.ensemble,
                              collate([frame], trained.ensemble.cutoff, dtype=torch.float64))
    for source in (trained.ensemble, trained.output):  # an object, or the ensemble folder
        atoms = frame.to_atoms()
        atoms.calc = EnsembleCalculator(source)
        assert atoms.get_potential_energy() == pytest.approx(float(native[K.ENERGY][0]),
                                                             abs=1e-10)
        np.testing.assert_allclose(atoms.get_forces(), native[K.FORCES].numpy(), atol=1e-10)
        calc = atoms.calc
        assert calc.get_property("energy_std", atoms) == pytest.approx(
            float(native[K.ENERGY_STD][0]), rel=1e-12)
        np.testing.assert_allclose(calc.results["forces_std"], native[K.FORCES_STD].numpy(),
                                   rtol=1e-12)
        assert calc.results["max_forces_std"] == pytest.approx(
            float(native[K.FORCES_STD].max()), rel=1e-12)
        assert calc.results["forces_std"].shape == (9,)
        # the recalibration factor is applied
        s_f = float(trained.ensemble.forces_std_scale)
        assert s_f != 1.0
    with pytest.raises(PropertyNotImplementedError, match="periodic"):
        atoms.get_stress()
    with pytest.raises(TypeError, match="Ensemble"):
        EnsembleCalculator(trained.ensemble.members[0])
    # a loaded ensemble belongs to the calculator and is frozen; a given one is left alone
    assert any(p.requires_grad for p in trained.ensemble.parameters())
    loaded = EnsembleCalculator(trained.output).potential
    assert not any(p.requires_grad for p in loaded.parameters())
