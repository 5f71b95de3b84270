"""The tests' one STS on loopback, plus the signing app wired to it, with a shared clock.

Owns the harness the tests and the benchmarks (``bench/``) share: a settable simulated
clock; the loopback STS every test that needs one points the real STS SDK at — the local
cloud's STS stub (real HTTP on 127.0.0.1, port 0) trusting one execution identity, by
default the obviously fake one the process carries in ``ALIBABA_CLOUD_*``, and recording
the credentials it issues; and the real signing app built with the real STS SDK fetcher
pointed at that stub. With the simulated clock on both sides a test moves time across
many credential lifetimes in milliseconds; the stub's signature-skew window is widened
because the SDK stamps requests with the wall clock. Depends on ``localcloud`` (stub,
identities) and ``uploadsign`` (the app), never on the network beyond loopback.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from uploadsign.factory import build_app
from uploadsign.routes import SignApp

from localcloud.identity import IdentityStore, Principal
from localcloud.stack import UPLOAD_ROLE_ARN, execution_policy, upload_role_permission
from localcloud.sts import FaultPlan, Role, StsSettings, StsStub
from localcloud.sts.server import RunningSts

BUCKET = "reliability-bucket"
REGION = "cn-hangzhou"
ORIGIN = "https://app.example.com"
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
#: The SDK dates its requests with the wall clock while the stub reads the simulated one.
WIDE_SKEW = timedelta(days=3650)
EXECUTION_ENV = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
)
UPLOAD_BODY = {"filename": "photo.png", "size": 1234, "content_type": "image/png"}


def utc_now() -> datetime:
    """The wall clock, in UTC: the STS stub's clock where nothing simulates time."""
    return datetime.now(timezone.utc)


class SimClock:
    """A thread-safe clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self._lock = threading.Lock()
        self._now = start

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward and return the new instant."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now


@dataclass
class Loopback:
    """A running stub, the app that calls it, and the stub's fault plan (mutable while it
    runs)."""

    stub: StsStub
    sts_url: str
    clock: SimClock
    app: SignApp
    faults: FaultPlan


def execution_identity(environ: Mapping[str, str] = os.environ,
                       role_arn: str = UPLOAD_ROLE_ARN) -> Principal:
    """Return the (fake) execution identity in ``environ``'s ``ALIBABA_CLOUD_*`` variables.

    Its one permission is ``sts:AssumeRole`` on ``role_arn``: the stack's execution policy,
    pointed at another role where a test configures one.
    """
    key_id, secret, token = (environ[name] for name in EXECUTION_ENV)
    policy = execution_policy()
    if role_arn != UPLOAD_ROLE_ARN:
        policy = {**policy, "Statement": [{**statement, "Resource": [role_arn]}
                                          for statement in policy["Statement"]]}
    return Principal(key_id, secret, security_token=token or None,
                     policies=(policy,), arn="acs:ram::1000000000000000:user/exec")


def function_env(sts_url: str, **overrides: str) -> dict[str, str]:
    """Return the function's settings pointing at ``sts_url``."""
    env = {
        "OSS_BUCKET": BUCKET,
        "OSS_REGION": REGION,
        "OSS_HOST": "http://127.0.0.1:9/" + BUCKET,
        "OSS_STS_ROLE_ARN": UPLOAD_ROLE_ARN,
        "STS_ENDPOINT": sts_url,
        "STS_TIMEOUT_SECONDS": "1",
        "CORS_ALLOWED_ORIGINS": ORIGIN,
        # Measure and soak the grant path itself, not the per-caller rate limit.
        "RATE_LIMIT_PER_MINUTE": "0",
        # Both grant routes are measured and soaked; the sample route is off by default.
        "UPLOAD_SAMPLE_ROUTE": "on",
    }
    env.update(overrides)
    return env


class IssuedIdentities(IdentityStore):
    """An identity store that also keeps, in order, every principal added after it is made.

    The STS stub adds each set of credentials it issues, so :attr:`issued` is what it
    handed out (a test checks a grant was signed with them, or that none leaked).
    """

    def __init__(self, known: Iterable[Principal] = ()) -> None:
        super().__init__()
        self.issued: list[Principal] = []
        for principal in known:  # registered, not issued
            super().add(principal)

    def add(self, principal: Principal) -> None:
        super().add(principal)
        self.issued.append(principal)


@dataclass
class LoopbackSts:
    """A running STS stub: its base URL, the stub, and the credentials it issued."""

    stub: StsStub
    running: RunningSts
    identities: IssuedIdentities
    #: Base URL, ``http://127.0.0.1:<port>`` (the function's ``STS_ENDPOINT``).
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.running.url

    def issued(self, access_key_id: str) -> Principal:
        """Return the credentials issued under ``access_key_id``; fail if none were."""
        found = [p for p in self.identities.issued if p.access_key_id == access_key_id]
        assert found, f"the STS stub issued no AccessKey {access_key_id!r}"
        return found[-1]

    def issued_secrets(self) -> set[str]:
        """The secrets and tokens of every credential issued so far."""
        return {value for p in self.identities.issued
                for value in (p.access_key_secret, p.security_token) if value}


def start_sts(clock: Callable[[], datetime] = utc_now, *, identity: Principal | None = None,
              role_arn: str = UPLOAD_ROLE_ARN, bucket: str = BUCKET,
              max_session_duration: int = 3600) -> LoopbackSts:
    """Start the stub on 127.0.0.1, port 0, with one role, ``role_arn``.

    Only ``identity`` (default :func:`execution_identity`) may assume the role, whose
    permission is uploading to ``bucket``; ``max_session_duration`` is in seconds. The
    caller stops it (``.running.stop()``) or uses :func:`loopback_sts`.
    """
    identity = identity or execution_identity(role_arn=role_arn)
    role = Role(arn=role_arn, trusted_principals=(identity.access_key_id,),
                permission_policies=(upload_role_permission(bucket),),
                max_session_duration=max_session_duration)
    identities = IssuedIdentities([identity])
    stub = StsStub(identities, {role_arn: role}, clock=clock,
                   settings=StsSettings(max_skew=WIDE_SKEW))
    return LoopbackSts(stub, stub.start("127.0.0.1", 0), identities)


@contextmanager
def loopback_sts(clock: Callable[[], datetime] = utc_now, *, identity: Principal | None = None,
                 role_arn: str = UPLOAD_ROLE_ARN, bucket: str = BUCKET) -> Iterator[LoopbackSts]:
    """Run :func:`start_sts`'s stub until the block ends, even on failure."""
    sts = start_sts(clock, identity=identity, role_arn=role_arn, bucket=bucket)
    try:
        yield sts
    finally:
        sts.running.stop()


@contextmanager
def loopback(clock: SimClock | None = None, **env_overrides: str) -> Iterator[Loopback]:
    """Run a stub and an app wired to it; stop the stub on exit."""
    clock = clock or SimClock()
    with loopback_sts(clock) as sts:
        app = build_app(function_env(sts.url, **env_overrides), clock=clock)
        yield Loopback(stub=sts.stub, sts_url=sts.url, clock=clock, app=app,
                       faults=sts.stub.faults)


def wsgi_environ(method: str, path: str, body: bytes = b"") -> dict[str, Any]:
    """Return a minimal WSGI environ as a server would build it."""
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "HTTP_ORIGIN": ORIGIN,
        "wsgi.input": io.BytesIO(body),
        "SERVER_NAME": "loopback",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
    }


def call(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Call a WSGI app once; return (status, headers, body)."""
    seen: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
        seen.append((status, headers))
        return lambda data: None

    data = b"".join(app(wsgi_environ(method, path, body), start_response))
    status, headers = seen[0]
    return int(status.split(" ", 1)[0]), dict(headers), data


def upload_grant(app: Any, document: Mapping[str, Any] = UPLOAD_BODY) -> tuple[int, dict[str, str],
                                                                               bytes]:
    """POST /uploads with a JSON document."""
    return call(app, "POST", "/uploads", json.dumps(document).encode())
