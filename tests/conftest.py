"""Suite-wide set-up shared by every test area.

The execution identity is read by ``alibabacloud_credentials`` once, at import time, from
the environment, so the obviously fake values are put in place here, before any test
module imports the SDK. Nothing in the suite may reach a real metadata service or the
internet: the ECS metadata and CLI-profile providers are switched off.
"""

from __future__ import annotations

import os

FAKE_EXECUTION_KEY_ID = "LOCAL-EXEC-KEY-ID-FAKE"
FAKE_EXECUTION_KEY_SECRET = "local-exec-secret-fake-0000"
FAKE_EXECUTION_TOKEN = "local-exec-token-fake-0000"

os.environ.update(
    {
        "ALIBABA_CLOUD_ACCESS_KEY_ID": FAKE_EXECUTION_KEY_ID,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": FAKE_EXECUTION_KEY_SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": FAKE_EXECUTION_TOKEN,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
    }
)


# --- Suite-wide guard: no secret value may ever appear in a log line. ---------------------

import logging  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import pytest  # noqa: E402

from tests.support.liveserver import LiveServers  # noqa: E402

if TYPE_CHECKING:
    from localcloud.stack import LocalCloud

#: Values no log line may contain. A test adds its own fakes through the ``logged_secrets``
#: fixture (e.g. ``logged_secrets.add(FAKE_STS_SECRET)``).
NEVER_LOGGED = frozenset({FAKE_EXECUTION_KEY_SECRET, FAKE_EXECUTION_TOKEN})


class _LineCollector(logging.Handler):
    """Keep every formatted record, traceback included, for the end-of-test check."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a library's malformed log call must not hide real leaks
            self.lines.append(f"{record.name} {record.msg!r} {record.args!r}")


def leaked_lines(lines: list[str], secrets: set[str]) -> list[str]:
    """Return the lines that contain any of ``secrets`` (empty values ignored)."""
    wanted = [secret for secret in secrets if secret]
    return [line for line in lines if any(secret in line for secret in wanted)]


@pytest.fixture(autouse=True)
def logged_secrets() -> Iterator[set[str]]:
    """Capture every log record at DEBUG and fail the test if one shows a secret."""
    collector = _LineCollector()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    secrets = set(NEVER_LOGGED)
    try:
        yield secrets
    finally:
        root.removeHandler(collector)
        root.setLevel(previous)
    leaks = leaked_lines(collector.lines, secrets)
    assert not leaks, f"{len(leaks)} log line(s) contain a secret value"


@pytest.fixture
def live_server() -> Iterator[LiveServers]:
    """Loopback HTTP servers for one test (``.handler(cls)``, ``.wsgi(app)``), stopped after it."""
    servers = LiveServers()
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(scope="module")
def storage_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """The local cloud's storage side for a module: the emulator with both buckets and the
    STS stub; no signing function, nothing published. Stopped even on failure."""
    from localcloud.stack import LocalCloud  # the areas that never start one skip the import

    state = tmp_path_factory.mktemp("storage") / ".localcloud"
    with LocalCloud.start(state, start_function=False, publish_web=False) as stack:
        yield stack
