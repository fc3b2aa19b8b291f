"""Whether code runs under ``torch.compile`` tracing (eager-only shortcuts check this)."""

from __future__ import annotations

import torch


def compiling() -> bool:
    """True while torch.compile traces the caller (False on torch < 2.3, which cannot say)."""
    is_compiling = getattr(torch.compiler, "is_compiling", None)  # torch >= 2.3
    return bool(is_compiling and is_compiling())
