"""``kill -9`` in the middle of a campaign, then ``--resume``: the same dataset as an
uninterrupted run, no label lost, no finished oracle call repeated (counted in the store)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from active_helpers import cu_config

from pesforge.active import ActiveLearningConfig, run_active_learning
from pesforge.oracles import LabelStore

HERE = Path(__file__).parent
SLOW_EMT = {"kind": "ase", "calculator": "slow_emt:SlowEMT", "settings": {"delay": 0.15},
            "level_of_theory": "EMT (ase)"}


def _command(path, *extra):
    return [sys.executable, "-m", "pesforge.cli.main", "active-learn", str(path),
            "--no-progress", *extra]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(HERE))
    return env


def _wait_for(store_path, predicate, process, timeout=900.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        assert process.poll() is None, "the campaign ended before it could be killed"
        if store_path.exists():
            try:
                store = LabelStore(store_path)
                if predicate(store):
                    return
            except Exception:  # the database is being created
                pass
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the campaign")


def test_kill_during_labelling_then_resume(cu_file, tmp_path, monkeypatch):
    tree = cu_config(cu_file, tmp_path / "killed", oracle=SLOW_EMT,
                     **{"stop.max_iterations": 3, "select.batch_size": 3})
    path = tmp_path / "al.yaml"
    path.write_text(yaml.safe_dump(tree))
    store_path = tmp_path / "killed" / "store.db"
    process = subprocess.Popen(_command(path), env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    # kill in the middle of iteration 1's labelling: 4 initial labels + 1 of 3 new ones
    _wait_for(store_path, lambda s: s.counts()["done"] >= 5, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    killed = LabelStore(store_path)
    assert killed.state["phase"] == "label" and killed.counts()["pending"] >= 1
    finished = subprocess.run(_command(path, "--resume"), env=_env(), capture_output=True,
                              text=True, timeout=1200)
    assert finished.returncode == 0, finished.stderr
    # the reference: the same campaign, never interrupted
    monkeypatch.syspath_prepend(str(HERE))
    reference = dict(tree, output=str(tmp_path / "reference"))
    run_active_learning(ActiveLearningConfig.model_validate(reference), progress=False)
    resumed = LabelStore(store_path).labelled()
    expected = LabelStore(tmp_path / "reference" / "store.db").labelled()
    assert len(resumed) == len(expected) == 4 + 3 + 3
    for a, b in zip(resumed, expected):
        assert a.info["call_id"] == b.info["call_id"]
        np.testing.assert_array_equal(a.positions, b.positions)
        assert a.energy == b.energy
        np.testing.assert_array_equal(a.forces, b.forces)
    # every label came from exactly one finished oracle call; only the call running at the
    # kill (if any) was started twice
    rows = LabelStore(store_path).rows()
    attempts = sorted(int(r.attempts) for r in rows)
    assert all(r.status == "done" for r in rows)
    assert attempts[:-1] == [1] * (len(rows) - 1) and attempts[-1] in (1, 2)
