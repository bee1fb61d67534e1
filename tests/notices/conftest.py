"""Fixtures for the notice tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.notices.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set environment settings for one test and drop the cached settings object."""
    from tagih.settings import reset_settings_cache

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name.upper(), value)
        reset_settings_cache()

    return apply
