"""Fixtures of the reliability suite: an STS stub on loopback and the app wired to it.

Everything runs on 127.0.0.1 with the obviously fake execution identity that the top-level
conftest puts in the environment; the shared simulated clock is injected, never patched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.loopback import Loopback, loopback


@pytest.fixture
def lb() -> Iterator[Loopback]:
    """A fresh stub and app with empty credential cache, default lifetimes."""
    with loopback() as running:
        yield running
