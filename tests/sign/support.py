"""Test helpers of the signing function: fixed instants, fake credentials, fakes."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from uploadsign.credentials import TemporaryCredentials
from uploadsign.errors import StsError

FIXED_NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
FAKE_STS_KEY_ID = "STS.FAKE-AK-0000"
FAKE_STS_SECRET = "FAKE-STS-SECRET-do-not-use"
FAKE_STS_TOKEN = "FAKE-STS-TOKEN-do-not-use"
ROLE_ARN = "acs:ram::1000000000000000:role/oss-uploader"

BASE_ENV = {
    "OSS_BUCKET": "example-bucket",
    "OSS_REGION": "cn-hangzhou",
    "OSS_STS_ROLE_ARN": ROLE_ARN,
    "CORS_ALLOWED_ORIGINS": "https://app.example.com",
}


def fake_credentials(expiration: datetime) -> TemporaryCredentials:
    """Return obviously fake STS credentials valid until ``expiration``."""
    return TemporaryCredentials(FAKE_STS_KEY_ID, FAKE_STS_SECRET, FAKE_STS_TOKEN, expiration)


class FakeClock:
    """A clock the test moves by hand (injected, not patched)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeFetcher:
    """Stand-in for the STS adapter: counts calls, answers from a script."""

    def __init__(self, clock: FakeClock, lifetime: timedelta = timedelta(hours=1)) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.failure: StsError | None = None
        self.gate: threading.Event | None = None
        self._lock = threading.Lock()

    def __call__(self) -> TemporaryCredentials:
        with self._lock:
            self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.failure is not None:
            raise self.failure
        return fake_credentials(self.clock() + self.lifetime)


