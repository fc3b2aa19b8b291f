"""Label checks that need no model: forces of an isolated system carry no net force and no
net torque (translational and rotational invariance of the energy); periodic systems no net
force. Random errors in force labels break these sums; a uniform scaling does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pesforge.data.frame import Frame

#: Relative violation above which force labels are flagged; converged DFT gradients reach
#: ~1e-5 (rMD17 ethanol: ≤ 1e-4), random label errors of even 5% of the forces give ~1e-1.
INVARIANCE_TOLERANCE = 1e-3


def invariance_violation(frame: Frame) -> float:
    """sqrt(|ΣF|²/N + |Σ r×F|²/(N R_g²)) / rms(F): net force and torque relative to the forces.

    The torque term (about the centroid, R_g the radius of gyration, Å) is used only for
    systems without periodicity; NaN when the frame has no forces.
    """
    if frame.forces is None or len(frame) < 2:
        return float("nan")
    forces = frame.forces
    n = len(frame)
    scale = np.sqrt(np.mean(forces**2))
    if scale == 0:
        return 0.0
    total = np.sum(forces.sum(0) ** 2) / n
    if not frame.pbc.any():
        r = frame.positions - frame.positions.mean(0)
        gyration = np.sqrt(np.mean(np.sum(r**2, axis=1))) or 1.0
        total += np.sum(np.cross(r, forces).sum(0) ** 2) / (n * gyration**2)
    return float(np.sqrt(total) / scale)


def invariance_violations(frames: Sequence[Frame]) -> np.ndarray:
    """:func:`invariance_violation` of every frame, (n_frames,)."""
    return np.array([invariance_violation(f) for f in frames])
