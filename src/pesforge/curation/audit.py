"""The label audit of a data set: one ranked table of suspicious frames, duplicates, and
(with an oracle) force–energy consistency; written as JSON, Markdown and a plot.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pesforge.curation.physics import INVARIANCE_TOLERANCE, invariance_violations
from pesforge.data.frame import Frame


@dataclass
class AuditReport:
    """Result of :func:`audit`.

    Attributes:
        rows: one dict per frame, most suspicious first (index, source, score, flags ...).
        duplicates: near-duplicate pairs (see :func:`~pesforge.curation.similarity.near_duplicates`).
        consistency: force–energy checks against the oracle (empty without one).
        lam: ridge parameter of the outlier model.
    """

    rows: list[dict]
    duplicates: list[dict]
    consistency: list[dict] = field(default_factory=list)
    lam: float = 0.0

    def ranking(self) -> list[int]:
        """Frame indices, most suspicious first."""
        return [r["index"] for r in self.rows]

    def flagged(self) -> list[int]:
        return [r["index"] for r in self.rows if r["flags"]]


def audit(frames: Sequence[Frame], *, oracle=None, n_consistency: int = 10,
          z_threshold: float = 5.0, parameters=None, seed: int = 0) -> AuditReport:
    """Audit the labels of ``frames``.

    Ranking: frames whose forces violate translational/rotational invariance (see
    :mod:`pesforge.curation.physics`) or fail the oracle check come first, then frames by
    their outlier score (robust z of leave-one-frame-out residuals of a ridge model on
    symmetry functions, :mod:`pesforge.curation.outliers`). Flags: ``invariance``,
    ``oracle_forces``, ``energy_outlier`` / ``force_outlier`` (z above ``z_threshold``),
    ``high_leverage`` (energy-row leverage above 3× its mean), ``duplicate``.
    """
    from pesforge.curation.consistency import force_energy_consistency
    from pesforge.curation.descriptors import describe_frames
    from pesforge.curation.outliers import leave_one_out
    from pesforge.curation.similarity import near_duplicates

    if len(frames) == 0:
        raise ValueError("nothing to audit: no frames")
    desc = describe_frames(frames, parameters=parameters)
    table = leave_one_out(desc, frames)
    violation = invariance_violations(frames)
    duplicates = near_duplicates(desc, [f.energy for f in frames])
    checks = [] if oracle is None else force_energy_consistency(
        frames, oracle, n_sample=n_consistency, seed=seed)
    failed = {c.index for c in checks if c.flagged}
    in_pair = {p[k] for p in duplicates for k in ("i", "j")}
    mean_lev = np.nanmean(table.energy_leverage)
    rows = []
    for k, frame in enumerate(frames):
        flags = []
        if violation[k] > INVARIANCE_TOLERANCE:
            flags.append("invariance")
        if k in failed:
            flags.append("oracle_forces")
        if table.z_energy[k] > z_threshold:
            flags.append("energy_outlier")
        if table.z_forces[k] > z_threshold:
            flags.append("force_outlier")
        if table.energy_leverage[k] > 3 * mean_lev:
            flags.append("high_leverage")
        if k in in_pair:
            flags.append("duplicate")
        rows.append({"index": k, "source": frame.source, "score": _num(table.score[k]),
                     "z_energy": _num(table.z_energy[k]), "z_forces": _num(table.z_forces[k]),
                     "energy_loo_meV": _num(1e3 * table.energy_loo[k]),
                     "force_loo_rms_meV_per_A": _num(1e3 * table.force_loo_rms[k]),
                     "force_scale": _num(table.force_scale[k]),
                     "leverage": _num(table.energy_leverage[k]),
                     "invariance_violation": _num(violation[k]), "flags": flags})
    hard = lambda r: ("invariance" in r["flags"]) or ("oracle_forces" in r["flags"])  # noqa: E731
    rows.sort(key=lambda r: (not hard(r), -(r["score"] if r["score"] is not None else -np.inf)))
    return AuditReport(rows, duplicates, [c.to_dict() for c in checks], table.lam)


def _num(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def write_report(report: AuditReport, folder: str | os.PathLike, *, top: int = 30) -> Path:
    """``audit.json`` (everything), ``audit.md`` (ranked table of the ``top`` frames) and
    ``audit.png`` (outlier score against leverage) in ``folder``; returns the folder."""
    from pesforge.fileio import atomic_write, write_json

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "audit.json", {"lambda": report.lam, "frames": report.rows,
                                       "duplicates": report.duplicates,
                                       "consistency": report.consistency})
    text = format_table(report, top)
    atomic_write(folder / "audit.md", lambda tmp: Path(tmp).write_text(text))
    _plot(report, folder / "audit.png")
    return folder


def format_table(report: AuditReport, top: int = 30) -> str:
    """The ranked table as Markdown."""
    lines = ["| rank | frame | source | score | z_E | z_F | F LOO RMS meV/Å | F scale | "
             "leverage | invariance | flags |", "|" + "---|" * 11]
    fmt = lambda v, p=2: "n/a" if v is None else f"{v:.{p}f}"  # noqa: E731
    for rank, r in enumerate(report.rows[:top], 1):
        lines.append(f"| {rank} | {r['index']} | {r['source']} | {fmt(r['score'])} | "
                     f"{fmt(r['z_energy'])} | {fmt(r['z_forces'])} | "
                     f"{fmt(r['force_loo_rms_meV_per_A'], 1)} | {fmt(r['force_scale'])} | "
                     f"{fmt(r['leverage'], 4)} | {fmt(r['invariance_violation'], 6)} | "
                     f"{', '.join(r['flags'])} |")
    out = "\n".join(lines) + "\n"
    if report.duplicates:
        out += f"\n{len(report.duplicates)} (near-)duplicate pair(s); closest: " + ", ".join(
            f"{p['i']}–{p['j']} ({p['kind']}, {p['relative']:.3g})"
            for p in report.duplicates[:5]) + "\n"
    if report.consistency:
        bad = [c for c in report.consistency if c["flagged"]]
        out += (f"\nforce–energy consistency: {len(bad)} of {len(report.consistency)} checked "
                "frame(s) flagged: " + ", ".join(str(c["index"]) for c in bad) + "\n")
    return out


def _plot(report: AuditReport, path: Path) -> None:
    from pesforge.analysis.plots import _axes, _save

    fig, ax = _axes((6.0, 4.5))
    lev = np.array([r["leverage"] if r["leverage"] is not None else np.nan for r in report.rows])
    score = np.array([r["score"] if r["score"] is not None else np.nan for r in report.rows])
    flagged = np.array([bool(r["flags"]) for r in report.rows])
    ax.scatter(lev[~flagged], score[~flagged], s=8, c="0.5", label="frames")
    ax.scatter(lev[flagged], score[flagged], s=14, c="C3", label="flagged")
    ax.set_xscale("log")
    ax.set_xlabel("leverage of the energy row")
    ax.set_ylabel("outlier score (robust z of LOO residuals)")
    ax.legend()
    _save(fig, path)
