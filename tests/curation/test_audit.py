"""The audit finds deliberately corrupted force labels in a copy of rMD17 ethanol."""

import copy

import numpy as np

from pesforge.curation import audit, write_report
from pesforge.data import rmd17


def corrupted(n_frames, seed):
    """rMD17 ethanol with 5 corrupted force labels: 2 scaled by 2, 3 with Gaussian noise
    (0.2 eV/Å per component, ~17% of the force RMS)."""
    frames = rmd17(index=f"0:{n_frames}")
    rng = np.random.default_rng(seed)
    bad = rng.choice(n_frames, 5, replace=False)
    for n, k in enumerate(bad):
        frames[k] = copy.copy(frames[k])
        if n < 2:
            frames[k].forces = frames[k].forces * 2.0
        else:
            frames[k].forces = frames[k].forces + rng.normal(scale=0.2, size=(9, 3))
    return frames, set(int(k) for k in bad)


def check(n_frames, seed, tmp_path):
    frames, bad = corrupted(n_frames, seed)
    report = audit(frames)
    top = report.ranking()[:10]
    assert bad <= set(top), f"corrupted {sorted(bad)}, top 10 {top}"
    folder = write_report(report, tmp_path)
    assert (folder / "audit.png").stat().st_size > 1000
    text = (folder / "audit.md").read_text()
    assert "| 1 |" in text and "invariance" in text
    return report, bad


def test_audit_ranks_corrupted_labels_first_small(tmp_path):
    report, bad = check(250, 1, tmp_path)
    rows = {r["index"]: r for r in report.rows}
    scaled = [k for k in bad if "invariance" not in rows[k]["flags"]]
    assert len(scaled) == 2  # scaled forces keep sum F = 0: found by the LOO residuals
    assert all(rows[k]["force_scale"] > 1.3 for k in scaled)


def test_audit_flags_5_corrupted_among_1000_in_top_10(tmp_path):
    check(1000, 0, tmp_path)
