"""The SQLite label store and parallel labelling: labels arrive in the store, failures are
recorded with reasons, retried per policy and never become labels."""

import numpy as np
import pytest
from ase.build import bulk, molecule
from ase.calculators.emt import EMT

from pesforge.data import Frame
from pesforge.oracles import (ASEOracle, LabelingConfig, LabelStore, TBLiteOracle,
                              label_pending, structure_hash)


def _cu_frames(n):
    frames = []
    for k in range(n):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
        atoms.rattle(0.05, seed=k)
        frames.append(Frame.from_atoms(atoms, source=f"cu:{k}"))
    return frames


def test_request_deduplicates_and_state_persists(tmp_path):
    store = LabelStore(tmp_path / "s.db")
    frames = _cu_frames(3)
    assert len(store.request(frames, iteration=0, origin="seed")) == 3
    assert store.request(frames[:2] + _cu_frames(4)[3:], iteration=1) != []
    assert store.counts()["pending"] == 4
    store.set_state(iteration=2, phase="label")
    again = LabelStore(tmp_path / "s.db")
    assert again.state == {"iteration": 2, "phase": "label"}
    assert [f.info["call_id"] for _, f in again.pending()] == [
        structure_hash(f) for f in frames + _cu_frames(4)[3:]]


def test_serial_labelling_writes_labels_with_level_of_theory(tmp_path):
    store = LabelStore(tmp_path / "s.db")
    frames = _cu_frames(2)
    store.request(frames)
    report = label_pending(store, ASEOracle(EMT, {"code": "ase", "method": "EMT"}),
                           LabelingConfig(cluster="serial"))
    assert report.labelled == 2 and store.counts() == {"pending": 0, "done": 2, "failed": 0,
                                                      "attempts": 2}
    labelled = store.labelled()
    for frame, got in zip(frames, labelled):
        atoms = frame.to_atoms()
        atoms.calc = EMT()
        assert got.energy == pytest.approx(atoms.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(got.forces, atoms.get_forces(), atol=1e-10)
        np.testing.assert_allclose(got.stress.ravel()[[0, 4, 8]], atoms.get_stress()[:3],
                                   atol=1e-10)
        assert got.level_of_theory.method == "EMT"


def test_failures_are_recorded_retried_and_never_labels(tmp_path):
    store = LabelStore(tmp_path / "s.db")
    water = Frame.from_atoms(molecule("H2O"), source="water")  # 8 electrons
    oh = Frame.from_atoms(molecule("OH"), source="oh")  # 7 electrons: one unpaired
    store.request([water, oh])
    report = label_pending(store, TBLiteOracle(uhf=1), LabelingConfig(cluster="serial",
                                                                     max_attempts=3))
    assert report.labelled == 1 and report.given_up == 1 and report.failed_attempts == 3
    (failed,) = store.rows("failed")
    assert failed.attempts == 3 and len(failed.data["failures"]) == 3
    assert "not compatible" in failed.reason
    labelled = store.labelled()
    assert [f.info["call_id"] for f in labelled] == [structure_hash(oh)]
    # a second pass has nothing left to do: failed calls are not retried beyond the policy
    assert label_pending(store, TBLiteOracle(uhf=1), LabelingConfig(cluster="serial")
                         ).labelled == 0
    assert store.counts()["attempts"] == 4


@pytest.mark.parametrize("processes", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_dask_local_cluster_labels_in_parallel(tmp_path, processes):
    store = LabelStore(tmp_path / "s.db")
    frames = _cu_frames(4)
    store.request(frames)
    config = LabelingConfig(cluster="local", n_workers=2, processes=processes)
    report = label_pending(store, ASEOracle(EMT, "EMT"), config)
    assert report.labelled == 4
    counts = store.counts()
    assert counts["done"] == 4 and counts["attempts"] == 4
    serial = LabelStore(tmp_path / "t.db")
    serial.request(frames)
    label_pending(serial, ASEOracle(EMT, "EMT"), LabelingConfig(cluster="serial"))
    assert [f.energy for f in store.labelled()] == [f.energy for f in serial.labelled()]
