"""Oracle-driven Langevin MD: snapshots, labels, labeler, provenance and checkpoint resume."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from pesforge.data import Frame
from pesforge.oracles import ASEOracle
from pesforge.oracles.base import OracleFailure
from pesforge.sampling import autocorrelation_time, langevin_samples, provenance

CU = Frame.from_atoms(bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1)), source="cu:0")


def emt(name="EMT"):
    return ASEOracle(EMT, {"code": "ase", "method": name})


class Exploding(ASEOracle):
    """Fails on every other call, like an SCF that sometimes does not converge."""

    calls = 0

    def compute(self, frame):
        Exploding.calls += 1
        if Exploding.calls % 2:
            raise OracleFailure("SCF not converged")
        return super().compute(frame)


def test_langevin_snapshots_labels_and_resume(tmp_path):
    frames = langevin_samples(CU, emt(), [100.0, 800.0], 3, interval=5, equilibration=10,
                              timestep_fs=2.0, seed=1, checkpoint=tmp_path)
    assert len(frames) == 6
    for f in frames:  # labels are the sampler's, at the snapshot's positions
        check = emt().compute(f)
        assert f.energy == pytest.approx(check.energy, abs=1e-10)
        assert np.allclose(f.forces, check.forces)
        assert f.stress is not None and f.level_of_theory.method == "EMT"
    info = provenance(frames[4])
    assert info["generator"] == "langevin_md" and info["parent"] == "cu:0"
    assert info["parameters"]["temperature_K"] == 800.0 and info["parameters"]["step"] == 20
    moved = [np.abs(f.positions - CU.positions).max() for f in frames]
    assert min(moved) > 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["T_100K.xyz", "T_800K.xyz"]
    again = langevin_samples(CU, Exploding(EMT, "x"), [100.0, 800.0], 3, checkpoint=tmp_path)
    assert Exploding.calls == 0  # both temperatures came from the checkpoint
    assert np.allclose(again[5].positions, frames[5].positions)
    assert again[5].energy == pytest.approx(frames[5].energy)


def test_cheap_sampler_expensive_labeler_and_failures():
    labeler = Exploding(EMT, {"code": "ase", "method": "EMT", "text": "labeler"})
    with pytest.warns(UserWarning, match="labeler failed"):
        frames = langevin_samples(CU, emt(), [300.0], 4, labeler=labeler, interval=None,
                                  equilibration=30, seed=0)
    assert len(frames) == 2  # every other label failed and was skipped, never kept
    assert all(f.level_of_theory.text == "labeler" for f in frames)
    assert provenance(frames[0])["parameters"]["interval"] >= 1


def test_autocorrelation_time_of_ar1():
    rng = np.random.default_rng(0)
    phi, n = 0.8, 20000
    x = np.zeros(n)
    for k in range(1, n):
        x[k] = phi * x[k - 1] + rng.normal()
    assert autocorrelation_time(x) == pytest.approx((1 + phi) / (1 - phi), rel=0.15)
    assert autocorrelation_time(rng.normal(size=5000)) == pytest.approx(1.0, abs=0.2)
