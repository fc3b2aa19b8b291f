"""Leverage and closed-form leave-one-out residuals of a ridge model on atomic descriptors.

The model is linear in per-element sums of symmetry functions (see
:mod:`pesforge.curation.descriptors`), fitted jointly to energies and forces; rows are weighted
so that energy and force residuals count alike. With A = XᵀX + λI the hat matrix is
H = X A⁻¹ Xᵀ and its diagonal h_ii the *leverage* (how unusual a row's descriptors are). The
residual of row i with row i left out of the fit is e_i / (1 − h_ii) (exact for ridge at
fixed λ); leaving out all rows g of a frame at once gives (I − H_gg)⁻¹ e_g. Frames are ranked by
robust z-scores of their leave-one-frame-out energy residual and force-residual RMS: a label
that disagrees with what every other frame says about that region of configuration space
stands out (Cook, Technometrics 19, 15 (1977); Hoaglin & Welsch, Am. Stat. 32, 17 (1978)).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pesforge.data.frame import Frame

#: 1 / Φ⁻¹(3/4): turns a median absolute deviation into a Gaussian standard deviation.
MAD_TO_STD = 1.4826


@dataclass
class OutlierTable:
    """Per-frame audit figures, all arrays (n_frames,) unless stated.

    Attributes:
        energy_loo: leave-one-frame-out energy residual (reference − prediction), eV.
        force_loo_rms: RMS of the leave-one-frame-out force residuals, eV/Å (NaN: no forces).
        force_scale: least-squares factor s with F_ref ≈ s F_pred (LOO predictions); 1 is ideal.
        energy_leverage: leverage of the energy row.
        force_leverage: mean leverage of the force rows.
        z_energy, z_forces: robust z-scores (median / MAD) of |energy_loo| and force_loo_rms.
        score: max(z_energy, z_forces); larger = more suspicious.
        lam: the ridge parameter chosen by leave-one-frame-out error.
        energy_row_loo: per-row (not per-frame) LOO energy residuals e_i/(1 − h_ii), eV.
        force_studentized: e_gᵀ(I − H_gg)⁻¹e_g per force row, in units of the typical force
            residual variance: large LOO residuals of high-leverage frames are discounted.
    """

    energy_loo: np.ndarray
    force_loo_rms: np.ndarray
    force_scale: np.ndarray
    energy_leverage: np.ndarray
    force_leverage: np.ndarray
    z_energy: np.ndarray
    z_forces: np.ndarray
    score: np.ndarray
    lam: float
    energy_row_loo: np.ndarray
    force_studentized: np.ndarray

    def ranking(self) -> np.ndarray:
        """Frame indices, most suspicious first."""
        return np.argsort(-self.score, kind="stable")


def robust_z(values: np.ndarray) -> np.ndarray:
    """(x − median) / (1.4826 · MAD), NaN kept; a zero MAD falls back to the std."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.full_like(values, np.nan)
    median = np.median(finite)
    spread = MAD_TO_STD * np.median(np.abs(finite - median))
    if spread <= 0:
        spread = finite.std() or 1.0
    return (values - median) / spread


def _design(desc, frames: Sequence[Frame]):
    """Rows per frame: [energy row | force rows], with targets and a frame id per row."""
    n_el = desc.counts.shape[1]
    blocks, targets, kinds, owner = [], [], [], []
    for f, frame in enumerate(frames):
        rows = [np.concatenate([desc.summed[f], desc.counts[f]])[None]]
        y = [np.array([frame.energy if frame.energy is not None else np.nan])]
        kind = [0]
        if frame.forces is not None and desc.jacobians is not None:
            jac = desc.jacobians[f]
            rows.append(np.concatenate([-jac, np.zeros((len(jac), n_el))], axis=1))
            y.append(frame.forces.reshape(-1))
            kind += [1] * len(jac)
        blocks.append(np.concatenate(rows))
        targets.append(np.concatenate(y))
        kinds += kind
        owner += [f] * len(kind)
    return (np.concatenate(blocks), np.concatenate(targets), np.array(kinds),
            np.array(owner))


def leave_one_out(desc, frames: Sequence[Frame], *,
                  lambdas: Sequence[float] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)) -> OutlierTable:
    """Fit the ridge model, choose λ by leave-one-frame-out error, and score every frame.

    Args:
        desc: :class:`~pesforge.curation.descriptors.FrameDescriptors` of ``frames`` (with
            Jacobians for force rows).
        frames: the labelled frames (energy and/or forces).
        lambdas: candidate ridge parameters (relative to the mean diagonal of XᵀX).
    """
    x, y, kind, owner = _design(desc, frames)
    keep = np.isfinite(y)
    if not np.any(keep & (kind == 0)) and not np.any(keep & (kind == 1)):
        raise ValueError("no energy or force labels to audit")
    scale = np.sqrt((x[keep] ** 2).mean(0))
    scale[scale == 0] = 1.0
    x = x / scale
    # weights: one row of each kind has unit residual variance (two passes)
    weights = np.ones(len(y))
    for _ in range(2):
        lam, fit = _best_fit(x, y, kind, owner, keep, weights, lambdas)
        for k in (0, 1):
            sel = keep & (kind == k)
            if sel.any():
                rms = np.sqrt(np.mean(fit["loo"][sel] ** 2))
                weights[kind == k] = 1.0 / max(rms, 1e-12)
    return _table(fit, y, kind, owner, keep, len(frames), lam)


def _best_fit(x, y, kind, owner, keep, weights, lambdas):
    """Choose λ by the closed-form per-row LOO error, then do the frame-wise LOO at that λ."""
    xw = x * weights[:, None]
    yw = np.where(keep, y, 0.0) * weights
    xw[~keep] = 0.0
    gram = xw.T @ xw
    evals, evecs = np.linalg.eigh(gram)
    evals = np.clip(evals, 0.0, None)
    xv = xw @ evecs  # rows in the eigenbasis: every λ is then O(rows x D)
    xty = evecs.T @ (xw.T @ yw)
    mean_diag = evals.sum() / len(evals)
    best = None
    for lam in lambdas:
        inv = 1.0 / (evals + lam * mean_diag)
        pred = xv @ (inv * xty)
        leverage = np.einsum("ij,ij,j->i", xv, xv, inv)
        loo = (yw - pred) / np.maximum(1.0 - leverage, 1e-12)
        err = np.mean(loo[keep] ** 2)
        if best is None or err < best[0]:
            best = (err, lam, inv, pred, leverage)
    _, lam, inv, pred, leverage = best
    return lam, _frame_loo(xv, yw, inv, pred, leverage, owner, weights)


def _frame_loo(xv, yw, inv, pred, leverage, owner, weights):
    """Leave-one-frame-out residuals (I - H_gg)⁻¹ e_g and studentized e_gᵀ(I - H_gg)⁻¹e_g."""
    resid = yw - pred
    loo = np.empty_like(resid)
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    ends = np.r_[starts[1:], len(owner)]
    sizes = ends - starts
    for size in np.unique(sizes):  # batch the (I - H_gg) solves of frames of one size
        group = np.flatnonzero(sizes == size)
        idx = starts[group][:, None] + np.arange(size)[None]
        block = xv[idx]
        h = np.einsum("gid,gjd,d->gij", block, block, inv)
        loo[idx] = np.linalg.solve(np.eye(size)[None] - h, resid[idx][..., None])[..., 0]
    safe = np.where(weights > 0, weights, 1.0)
    return {"leverage": leverage, "loo": loo / safe, "loo_weighted": loo,
            "resid_weighted": resid,
            "row_loo": resid / safe / np.maximum(1.0 - leverage, 1e-12)}


def _table(fit, y, kind, owner, keep, n_frames, lam) -> OutlierTable:
    energy_loo = np.full(n_frames, np.nan)
    energy_row = np.full(n_frames, np.nan)
    energy_lev = np.full(n_frames, np.nan)
    sel = (kind == 0) & keep
    energy_loo[owner[sel]] = fit["loo"][sel]
    energy_row[owner[sel]] = fit["row_loo"][sel]
    energy_lev[owner[kind == 0]] = fit["leverage"][kind == 0]
    force_rms = np.full(n_frames, np.nan)
    force_lev = np.full(n_frames, np.nan)
    force_scale = np.full(n_frames, np.nan)
    force_stud = np.full(n_frames, np.nan)
    forces = (kind == 1) & keep
    if forces.any():
        f_owner = owner[forces]
        counts = np.bincount(f_owner, minlength=n_frames)
        has = counts > 0
        sq = np.bincount(f_owner, fit["loo"][forces] ** 2, minlength=n_frames)
        force_rms[has] = np.sqrt(sq[has] / counts[has])
        lev = np.bincount(f_owner, fit["leverage"][forces], minlength=n_frames)
        force_lev[has] = lev[has] / counts[has]
        pred = y[forces] - fit["loo"][forces]  # leave-one-frame-out predictions
        num = np.bincount(f_owner, y[forces] * pred, minlength=n_frames)
        den = np.bincount(f_owner, pred * pred, minlength=n_frames)
        force_scale[has] = num[has] / np.maximum(den[has], 1e-300)
        stud = np.bincount(f_owner, fit["resid_weighted"][forces] * fit["loo_weighted"][forces],
                           minlength=n_frames)
        force_stud[has] = stud[has] / counts[has]
    z_e = robust_z(np.abs(energy_loo))
    z_f = robust_z(force_stud)
    score = np.fmax(np.nan_to_num(z_e, nan=-np.inf), np.nan_to_num(z_f, nan=-np.inf))
    return OutlierTable(energy_loo, force_rms, force_scale, energy_lev, force_lev, z_e, z_f,
                        score, float(lam), energy_row, force_stud)
