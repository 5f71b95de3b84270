"""Fixtures shared by the local cloud's tests: object operations (see ``objectkit``), callbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.identity import IdentityStore
from localcloud.oss.emulator import Emulator
from tests.localcloud.objectkit import ADMIN, Cloud, fresh_buckets
from tests.support.callbackapp import AppServer, start_app_server
from tests.support.liveserver import LiveServers


@pytest.fixture(scope="module")
def ops_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator,
                                                                             IdentityStore]]:
    """One emulator per test module, with the admin identity."""
    identities = IdentityStore([ADMIN])
    emu = Emulator.start(tmp_path_factory.mktemp("ops") / "state", lookup=identities.lookup)
    try:
        yield emu, identities
    finally:
        emu.stop()


@pytest.fixture
def ops(ops_emulator: tuple[Emulator, IdentityStore]) -> Cloud:
    """Two fresh private buckets on the module's emulator."""
    return fresh_buckets(*ops_emulator)


@pytest.fixture
def app_server(live_server: LiveServers) -> Iterator[AppServer]:
    """A scripted callback application server on loopback; hanging answers end at teardown."""
    app = start_app_server(live_server)
    yield app
    app.release.set()
