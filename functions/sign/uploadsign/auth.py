"""Who is asking for a grant: anonymous-by-origin (``AUTH_MODE=none``) or a verified JWT.

Owns the decision and its failures: 401 with an RFC 6750 ``WWW-Authenticate`` challenge
for a missing or bad token, 403 for an anonymous request whose ``Origin`` is missing or
not allowed. The token itself never leaves this module: a :class:`Caller` carries the
subject or the client IP, nothing else.

Anonymous mode reads the spec strictly: a grant goes only to a request whose ``Origin``
header is on ``CORS_ALLOWED_ORIGINS`` (``*`` admits any origin, but one must be sent). A
request without ``Origin`` — curl, a server, a same-origin GET — is refused, because
the point of the mode is "only my page may ask". ``Origin`` can be forged outside a
browser; the mode keeps other sites' pages out, not scripts (use ``jwt`` for that).

The token check itself (``AUTH_MODE=jwt``) is :class:`uploadsign.jwtauth.JwtAuthenticator`,
kept in its own module so PyJWT is imported only when that mode is configured.

Also how many grants one caller may get from this instance (:class:`RateLimiter`).

Depends on the standard library and ``errors``; ``now`` and the monotonic clock are
passed in.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from uploadsign.errors import OriginNotAllowed, RateLimited


@dataclass(frozen=True)
class Caller:
    """The identity a grant is issued to: ``sub`` when verified, else the client IP."""

    subject: str | None
    ip: str

    @property
    def identity(self) -> str:
        """Return the rate-limit and log key: ``sub:<subject>`` or ``ip:<address>``."""
        return f"sub:{self.subject}" if self.subject is not None else f"ip:{self.ip or '-'}"


@dataclass(frozen=True)
class RequestFacts:
    """What authentication looks at; built by the web layer from the environ."""

    authorization: str | None
    origin: str | None
    remote_addr: str


class Authenticator(Protocol):
    """Decide who the caller is, or raise the ``SignError`` the client should see."""

    def authenticate(self, facts: RequestFacts, now: datetime) -> Caller: ...


class OriginAuthenticator:
    """``AUTH_MODE=none``: anonymous callers, admitted by their page's origin."""

    def __init__(self, allowed_origins: Sequence[str]) -> None:
        self._allowed = tuple(allowed_origins)

    def authenticate(self, facts: RequestFacts, now: datetime) -> Caller:
        if not facts.origin:
            raise OriginNotAllowed("anonymous grants need an Origin header from an allowed page")
        if "*" not in self._allowed and facts.origin not in self._allowed:
            raise OriginNotAllowed("this origin may not request upload grants")
        return Caller(subject=None, ip=facts.remote_addr)


Monotonic = Callable[[], float]
DEFAULT_MAX_CALLERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets keyed by caller identity; ``per_minute=0`` never limits.

    Each caller (``sub:<subject>`` or ``ip:<address>``) has a bucket holding up to
    ``per_minute`` tokens, refilled at ``per_minute / 60`` per second; a grant takes one.
    An empty bucket answers 429 with ``Retry-After`` = seconds until the next token.

    The limit is **per instance**: FC runs several instances under load and each keeps
    its own buckets in memory, so the effective limit is ``per_minute × instances``. It
    stops a runaway page or script, not a determined attacker (that is the gateway's job).

    Memory is bounded: at most ``max_callers`` buckets. When full, buckets that have
    refilled completely are dropped first (forgetting them changes nothing), then the
    least recently used. Thread-safe (one lock; the critical section is a few arithmetic
    operations).
    """

    def __init__(
        self, per_minute: int, monotonic: Monotonic, *, max_callers: int = DEFAULT_MAX_CALLERS
    ) -> None:
        if per_minute < 0 or max_callers < 1:
            raise ValueError("per_minute must be >= 0 and max_callers >= 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._monotonic = monotonic
        self._max = max_callers
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, caller: str) -> None:
        """Spend one token of ``caller``'s bucket or raise ``RateLimited``."""
        if self.capacity == 0:
            return
        now = self._monotonic()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None:
                self._make_room(now)
                bucket = self._buckets[caller] = _Bucket(self.capacity, now)
            else:
                self._buckets.move_to_end(caller)
                self._refill(bucket, now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate
        raise RateLimited(max(1, math.ceil(wait)))

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
        bucket.updated = now

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self._max:
            return
        for key in list(self._buckets):
            bucket = self._buckets[key]
            self._refill(bucket, now)
            if bucket.tokens >= self.capacity:
                del self._buckets[key]
        # Free a tenth at once so a flood of new callers does not rescan on every request.
        while len(self._buckets) > self._max - max(1, self._max // 10):
            self._buckets.popitem(last=False)
