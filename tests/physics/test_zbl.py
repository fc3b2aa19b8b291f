import numpy as np
import pytest
import torch

from pesforge.physics.cutoffs import smoothstep_switch
from pesforge.physics.zbl import (COULOMB_CONSTANT, ZBL, InversePowerRepulsion, covalent_radii,
                                  zbl_pair_energy)
from pesforge.testing import run_all
from pesforge.testing.core import evaluate_one


def dimer(z1, z2, r):
    from ase import Atoms

    return Atoms(numbers=[z1, z2], positions=[[0, 0, 0], [r, 0, 0]])


def test_zbl_tends_to_bare_nuclear_coulomb_at_short_range():
    # phi(0) = sum of the ZBL coefficients = 1: E r / (k Z1 Z2) -> 1 as r -> 0.
    r = torch.tensor([1e-5, 1e-4], dtype=torch.float64)
    z1, z2 = torch.tensor(6), torch.tensor(8)
    ratio = zbl_pair_energy(r, z1, z2) * r / (COULOMB_CONSTANT * 48)
    assert ratio[0] == pytest.approx(1.0, abs=1e-3)
    # Screening makes the ZBL energy smaller than the bare Coulomb energy at finite r.
    r = torch.tensor([0.5, 1.0], dtype=torch.float64)
    assert torch.all(zbl_pair_energy(r, z1, z2) < COULOMB_CONSTANT * 48 / r)


def test_switch_is_one_inside_zero_outside_and_smooth():
    r = torch.linspace(0.0, 3.0, 301, dtype=torch.float64, requires_grad=True)
    s = smoothstep_switch(r, 1.0, 2.0)
    assert torch.all(s[r <= 1.0] == 1) and torch.all(s[r >= 2.0] == 0)
    (g,) = torch.autograd.grad(s.sum(), r)
    assert abs(float(g[100])) < 1e-12 and abs(float(g[200])) < 1e-12
    assert torch.all(g <= 0)


def test_zbl_term_is_full_zbl_below_r_on_and_zero_beyond_r_off():
    term = ZBL(elements=[1, 6, 8]).double()
    r_off = float(covalent_radii()[6] + covalent_radii()[8])
    inside = evaluate_one(term, dimer(6, 8, 0.3 * r_off), forces=False).energy
    ref = float(zbl_pair_energy(torch.tensor(0.3 * r_off, dtype=torch.float64),
                                torch.tensor(6), torch.tensor(8)))
    assert inside == pytest.approx(ref, rel=1e-12)
    assert evaluate_one(term, dimer(6, 8, 1.01 * r_off), forces=False).energy == 0.0
    with pytest.raises(ValueError, match="knows elements"):
        evaluate_one(term, dimer(6, 14, 1.0))


@pytest.mark.parametrize("term", [ZBL(elements=[1, 6, 8]),
                                  InversePowerRepulsion(strength=0.5, elements=[1, 6, 8])])
def test_repulsion_terms_pass_the_physics_checks(term, water, small_cell):
    # Squeeze the fixtures so that pairs sit inside the switching region.
    from pesforge.testing.derivatives import (check_forces_finite_difference,
                                              check_stress_finite_difference)

    squeezed = small_cell.copy()
    squeezed.set_cell(small_cell.cell.array * 0.55, scale_atoms=True)
    mol = water.copy()
    mol.positions *= 0.6
    term = term.double()
    assert evaluate_one(term, squeezed, forces=False).energy > 1e-6  # pairs inside the switch
    check_forces_finite_difference(term, [mol, squeezed])
    check_stress_finite_difference(term, squeezed)
    run_all(term, skip=("forces", "stress", "batch", "extensivity"))


def test_switched_repulsion_decreases_monotonically():
    for z1, z2 in ((1, 1), (1, 8), (6, 6)):
        rs = np.linspace(0.1, 2.0, 60)
        e = [evaluate_one(ZBL().double(), dimer(z1, z2, r), forces=False).energy for r in rs]
        assert np.all(np.diff(e) <= 0)
