"""Process-wide settings for fast CPU inference and training.

:func:`tune_allocator` keeps glibc from handing large freed blocks back to the kernel. PyTorch
on the CPU allocates its tensors with ``malloc``; glibc serves blocks above its mmap threshold
with fresh ``mmap`` pages and trims the heap top after frees, so a model that allocates
megabyte-sized intermediates every call (the per-triplet terms of the symmetry functions,
per-edge messages) pays a page fault per 4 KiB page on every call. With the blocks kept, an
energy+forces call on a 1 125-atom ethanol box took 5-20 % less time here (docs/benchmarks.md).
The cost: the process keeps its peak heap instead of returning it to the system.

The ``pesforge`` command line calls it for every command; scripts and ASE users call it once.
Set ``PESFORGE_NO_ALLOCATOR_TUNING=1`` to leave malloc alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

#: glibc mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
#: Largest mmap threshold glibc accepts on 64-bit systems (4 MiB x sizeof(long)): blocks up to
#: this size come from the heap and are reused.
MMAP_THRESHOLD = 32 * 1024**2
#: Free memory at the top of the heap kept rather than trimmed (the largest int mallopt takes).
TRIM_THRESHOLD = 2**31 - 1


def glibc() -> ctypes.CDLL | None:
    """The process's C library if it is glibc (Linux), else None (musl and others have other
    ``mallopt`` semantics)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "gnu_get_libc_version") else None


def tune_allocator() -> bool:
    """Keep freed blocks up to :data:`MMAP_THRESHOLD` in the heap for reuse (glibc only).

    Returns True if glibc accepted both settings; False (and changes nothing) on other C
    libraries and platforms, or when ``PESFORGE_NO_ALLOCATOR_TUNING`` is set."""
    libc = None if os.environ.get("PESFORGE_NO_ALLOCATOR_TUNING") else glibc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
