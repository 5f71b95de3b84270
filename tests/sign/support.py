"""Test helpers of the signing function: fixed instants, fake credentials, fakes."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from uploadsign.config import Settings
from uploadsign.credentials import TemporaryCredentials
from uploadsign.errors import StsError
from uploadsign.uploadtoken import NoSuchUpload, StoredPart

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


# --- multipart: a configuration that plans multipart uploads, and OSS as a fake -------------

MULTIPART_SECRET = "fake-grant-secret-for-multipart-0123456789"
MiB = 1024**2
MULTIPART_SIZE = 2 * MiB + 123  # 3 parts of 1 MiB, 1 MiB, 123 bytes
MULTIPART_ENV = {**BASE_ENV, "GRANT_SECRET": MULTIPART_SECRET,
                 "UPLOAD_MAX_BYTES": str(10 * MiB), "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(MiB),
                 "UPLOAD_PART_SIZE_BYTES": str(MiB)}
MULTIPART_REQUEST = {"filename": "film.mp4", "size": MULTIPART_SIZE, "content_type": "video/mp4"}


class FakeStorage:
    """OSS as the function sees it: one bucket's uploads, and every call recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        self.parts: dict[str, list[StoredPart]] = {}
        self.completed: set[str] = set()
        self.answer: dict[str, Any] | None = None

    def __call__(self, settings: Settings, creds: Any) -> FakeStorage:
        return self

    def initiate(self, key: str, headers: Mapping[str, str]) -> str:
        upload_id = f"UPLOAD{len(self.parts)}"
        self.parts[upload_id] = []
        self.calls.append(("initiate", key, dict(headers)))
        return upload_id

    def _known(self, upload_id: str) -> list[StoredPart]:
        if upload_id not in self.parts or upload_id in self.completed:
            raise NoSuchUpload("gone")
        return self.parts[upload_id]

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        self.calls.append(("list_parts", key, {}))
        return list(self._known(upload_id))

    def complete(self, key: str, upload_id: str, parts: Sequence[StoredPart],
                 headers: Mapping[str, str]) -> tuple[str, dict[str, Any] | None]:
        self._known(upload_id)
        self.calls.append(("complete", key, {**headers, "parts": json.dumps(
            [[p.number, p.etag] for p in parts])}))
        self.completed.add(upload_id)
        return '"0123456789ABCDEF0123456789ABCDEF-3"', self.answer

    def abort(self, key: str, upload_id: str) -> None:
        self.calls.append(("abort", key, {}))
        self._known(upload_id)
        self.completed.add(upload_id)
