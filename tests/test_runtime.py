"""pesforge.runtime: the allocator setting is applied on glibc and can be switched off."""

import ctypes
import ctypes.util
import sys

import pytest

from pesforge.runtime import tune_allocator


def glibc() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"),
                       "gnu_get_libc_version")
    except OSError:
        return False


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("PESFORGE_NO_ALLOCATOR_TUNING", "1")
    assert tune_allocator() is False


@pytest.mark.skipif(not glibc(), reason="mallopt settings are glibc's")
def test_glibc_accepts_the_settings(monkeypatch):
    monkeypatch.delenv("PESFORGE_NO_ALLOCATOR_TUNING", raising=False)
    assert tune_allocator() is True
