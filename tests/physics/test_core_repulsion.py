"""CoreRepulsion: the prior takes over from any model below the data's shortest distances."""

import numpy as np
import pytest
import torch
from ase import Atoms

from pesforge.data import keys as K
from pesforge.data.batch import collate
from pesforge.data.frame import Frame
from pesforge.models import compute, load_model, save_model
from pesforge.physics import ZBL, CoreRepulsion
from pesforge.physics.zbl import pair_radii_from_frames
from pesforge.testing import run_all
from pesforge.testing.fixtures import small_bpnn

PAIRS = ((1, 1), (1, 6), (1, 8), (6, 6), (6, 8), (8, 8))
#: Radii that put ordinary bonds (C-H 1.09 Å, C-C 1.5 Å) inside the blend, so the checks
#: exercise the fade.
WIDE = {"1-1": 1.9, "1-6": 1.3, "1-8": 1.2, "6-6": 1.7, "6-8": 1.6, "8-8": 1.6}


def wild_bpnn():
    """A random BPNN with weights blown up 5x: arbitrary deep wells at short range."""
    model = small_bpnn(seed=3)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(5.0)
    return model


def dimer_energies(model, pair, distances):
    frames = [Frame.from_atoms(Atoms(numbers=pair, positions=[[0, 0, 0], [r, 0, 0]]))
              for r in list(distances) + [8.0]]
    energy = compute(model, collate(frames, model.cutoff), forces=False)[K.ENERGY].numpy()
    return energy[:-1] - energy[-1]


def test_pair_radii_are_the_shortest_distances_in_the_data():
    water = Atoms("OH2", positions=[[0, 0, 0], [0.95, 0, 0], [-0.3, 0.9, 0]])
    close = water.copy()
    close.positions[1, 0] = 0.80
    radii = pair_radii_from_frames([Frame.from_atoms(a) for a in (water, close)], scale=1.0)
    assert radii["1-8"] == pytest.approx(0.80, abs=1e-12)
    hh = min(np.linalg.norm(a.positions[1] - a.positions[2]) for a in (water, close))
    assert radii["1-1"] == pytest.approx(hh, abs=1e-12)
    assert set(radii) == {"1-1", "1-8"}  # O-O never occurs: the prior keeps its default
    assert pair_radii_from_frames([Frame.from_atoms(water)], scale=0.5)["1-8"] == \
        pytest.approx(0.5 * min(0.95, np.hypot(0.3, 0.9)), abs=1e-12)


def test_any_model_meets_a_steep_monotonic_wall_below_the_data():
    model = wild_bpnn()
    wrapped = CoreRepulsion(model, ZBL(elements=[1, 6, 8], pair_radii=WIDE)).double()
    rs = np.linspace(0.2, 0.8, 61)
    for pair in PAIRS:
        e = dimer_energies(wrapped, pair, rs)
        assert np.all(np.diff(e) < 0), pair
        assert e[0] > 10.0, pair
        zbl_only = dimer_energies(ZBL(elements=[1, 6, 8], pair_radii=WIDE), pair, rs)
        pure = rs < 0.5 * WIDE["-".join(map(str, pair))]  # below r_on: the model is faded out
        np.testing.assert_allclose(e[pure], zbl_only[pure], rtol=0, atol=1e-9)
    # the unwrapped network has the wells the wrapper removes
    assert any(not np.all(np.diff(dimer_energies(model, p, rs)) < 0) for p in PAIRS)


def test_identity_where_the_data_is():
    model = small_bpnn()
    frames = [Frame.from_atoms(a) for a in _molecules()]
    radii = pair_radii_from_frames(frames, scale=0.95)
    wrapped = CoreRepulsion(model, ZBL(elements=[1, 6, 8], pair_radii=radii)).double()
    batch = collate(frames, wrapped.cutoff)
    a, b = compute(model, batch), compute(wrapped, batch)
    assert torch.equal(a[K.ENERGY], b[K.ENERGY])
    assert torch.equal(a[K.FORCES], b[K.FORCES])


def test_physics_checks_pass_in_the_blend_and_model_round_trips(tmp_path):
    wrapped = CoreRepulsion(small_bpnn(), ZBL(elements=[1, 6, 8], pair_radii=WIDE)).double()
    run_all(wrapped, skip=("smoothness",))  # smoothness scans the model cutoff, tested below
    path = tmp_path / "core.safetensors"
    save_model(wrapped, path)
    again = load_model(path).double()
    assert isinstance(again, CoreRepulsion) and again.prior.pair_radii == WIDE
    batch = collate([Frame.from_atoms(a) for a in _molecules()], wrapped.cutoff)
    assert torch.allclose(compute(again, batch)[K.FORCES], compute(wrapped, batch)[K.FORCES],
                          rtol=0, atol=1e-12)


def test_fade_is_smooth_across_the_blend():
    wrapped = CoreRepulsion(wild_bpnn(), ZBL(elements=[1, 6, 8], pair_radii=WIDE)).double()
    rs = np.linspace(0.5, 2.5, 801)
    for pair in ((1, 1), (6, 8)):
        frames = [Frame.from_atoms(Atoms(numbers=pair, positions=[[0, 0, 0], [r, 0, 0]]))
                  for r in rs]
        forces = compute(wrapped, collate(frames, wrapped.cutoff))[K.FORCES].numpy()
        fx = forces[1::2, 0]
        assert np.all(np.isfinite(fx))
        # no jumps: neighbouring force values differ by little compared with the force scale
        assert np.max(np.abs(np.diff(fx))) < 0.05 * np.max(np.abs(fx)) + 0.5, pair


def _molecules():
    from ase.build import molecule

    out = []
    for name in ("CH3CH2OH", "CH3OH", "H2O"):
        atoms = molecule(name)
        atoms.rattle(0.02, seed=1)
        out.append(atoms)
    return out
