"""Curation of training data: label audits, leverage / leave-one-out outliers,
(near-)duplicates, coverage, force–energy consistency against an oracle.

Start with :func:`audit` (CLI ``pesforge audit DATA [--oracle CFG]``).
"""

from pesforge.curation.audit import AuditReport, audit, format_table, write_report
from pesforge.curation.consistency import (
    ConsistencyRow,
    finite_difference_forces,
    force_energy_consistency,
)
from pesforge.curation.descriptors import FrameDescriptors, audit_parameters, describe_frames
from pesforge.curation.outliers import OutlierTable, leave_one_out, robust_z
from pesforge.curation.physics import (
    INVARIANCE_TOLERANCE,
    invariance_violation,
    invariance_violations,
)
from pesforge.curation.similarity import Coverage, coverage, frame_vectors, near_duplicates

__all__ = ["AuditReport", "audit", "format_table", "write_report", "ConsistencyRow",
           "finite_difference_forces", "force_energy_consistency", "FrameDescriptors",
           "audit_parameters", "describe_frames", "OutlierTable", "leave_one_out", "robust_z",
           "INVARIANCE_TOLERANCE", "invariance_violation", "invariance_violations", "Coverage",
           "coverage", "frame_vectors", "near_duplicates"]
