"""pesforge.runtime: the allocator setting is applied on glibc and can be switched off."""

import pytest

from pesforge.runtime import glibc, tune_allocator


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("PESFORGE_NO_ALLOCATOR_TUNING", "1")
    assert tune_allocator() is False


@pytest.mark.skipif(glibc() is None, reason="mallopt settings are glibc's")
def test_glibc_accepts_the_settings(monkeypatch):
    monkeypatch.delenv("PESFORGE_NO_ALLOCATOR_TUNING", raising=False)
    assert tune_allocator() is True
