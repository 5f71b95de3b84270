"""Fixtures of the signing-function tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from uploadsign.config import Settings

from .support import BASE_ENV, FIXED_NOW, FakeClock, FakeFetcher


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
