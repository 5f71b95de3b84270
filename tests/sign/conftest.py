"""Fixtures of the signing-function tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from uploadsign.config import Settings

from .support import BASE_ENV, FAKE_STS_SECRET, FAKE_STS_TOKEN, FIXED_NOW, FakeClock, FakeFetcher


@pytest.fixture
def fixed_now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(FIXED_NOW)


@pytest.fixture
def fetcher(clock: FakeClock) -> FakeFetcher:
    return FakeFetcher(clock)


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(BASE_ENV)


@pytest.fixture
def counter_random() -> Iterator[Callable[[int], bytes]]:
    """A deterministic random source: 0x00.., 0x01.., ..."""
    state = {"n": 0}

    def source(size: int) -> bytes:
        value = bytes([state["n"] % 256]) * size
        state["n"] += 1
        return value

    yield source


@pytest.fixture(autouse=True)
def _sts_fakes_never_logged(logged_secrets: set[str]) -> None:
    """Add this area's fake STS secret and token to the suite-wide log check."""
    logged_secrets.update({FAKE_STS_SECRET, FAKE_STS_TOKEN})
