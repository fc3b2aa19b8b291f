"""The demo end to end on a tiny budget: every report file is written and the numbers are sane."""

import json

import pytest


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_demo_writes_the_report(tmp_path):
    from pesforge.demo import run_demo

    metrics = run_demo(tmp_path, max_minutes=0.05, md_steps=20, progress=False)
    for name in ("metrics.json", "report.md", "parity_energy.png", "parity_forces.png",
                 "md_energy.png", "md.traj", "training/model.safetensors",
                 "training/training_curve.png"):
        assert (tmp_path / name).is_file(), name
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["test"]["n_frames"] == 1000
    assert 0 < saved["test"]["force_mae_meV_per_A"] < 2000
    assert saved["md"]["steps"] == 20 and metrics["md"]["n_atoms"] == 9
