"""Assumed upload credentials: their value type and the per-instance cache.

The cache is single-flight and thread-safe because an FC instance serves concurrent
requests: however many requests arrive while the credentials are stale, one thread
calls STS. It refreshes ahead of expiry, keeps serving the cached credentials while a
refresh fails but they are still usable, and answers 503 with ``Retry-After`` only
when nothing usable remains.

Depends on the standard library and ``errors``; the clock and the fetcher are
injected, so no SDK, environment or wall clock is touched here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from uploadsign.errors import CredentialsUnavailable, StsError

log = logging.getLogger(__name__)

#: A credential is no longer handed out once less than this is left: the policy signed
#: with it must still be usable by a browser for a moment.
SAFETY_MARGIN = timedelta(seconds=60)
#: After a failed refresh, wait this long before calling STS again (avoid a storm).
FAILURE_BACKOFF = timedelta(seconds=2)
DEFAULT_RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class TemporaryCredentials:
    """STS credentials of the upload role; the secret and the token never print."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    expiration: datetime

    def usable_at(self, now: datetime) -> bool:
        """Say whether a policy signed at ``now`` would still have a useful life."""
        return now < self.expiration - SAFETY_MARGIN


class Lookup(NamedTuple):
    """Credentials and where they came from: ``hit``, ``miss`` (STS called) or ``stale``."""

    credentials: TemporaryCredentials
    source: str


HIT, MISS, STALE = "hit", "miss", "stale"

Fetcher = Callable[[], TemporaryCredentials]
Clock = Callable[[], datetime]


class CredentialCache:
    """Hold one set of assumed credentials and refresh it ahead of expiry."""

    def __init__(
        self,
        fetch: Fetcher,
        clock: Clock,
        *,
        refresh_margin: timedelta,
        failure_backoff: timedelta = FAILURE_BACKOFF,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        # Never serve from the fast path what the usable check would refuse.
        self._refresh_margin = max(refresh_margin, SAFETY_MARGIN)
        self._failure_backoff = failure_backoff
        self._lock = threading.Lock()
        self._current: TemporaryCredentials | None = None
        self._failed_at: datetime | None = None
        self._retry_after = DEFAULT_RETRY_AFTER_SECONDS

    def __repr__(self) -> str:
        return f"CredentialCache(cached={self._current is not None})"

    def get(self) -> TemporaryCredentials:
        """Return usable credentials, calling STS at most once per refresh."""
        return self.lookup().credentials

    def lookup(self) -> Lookup:
        """Like :meth:`get`, also saying whether STS was called (for the access log)."""
        now = self._clock()
        current = self._current
        if current is not None and self._fresh(current, now):
            return Lookup(current, HIT)
        if current is not None and current.usable_at(now):
            # Stale but usable: one thread refreshes, the others keep serving.
            if not self._lock.acquire(blocking=False):
                return Lookup(current, STALE)
        else:
            self._lock.acquire()
        try:
            return self._refresh_locked()
        finally:
            self._lock.release()

    def _fresh(self, creds: TemporaryCredentials, now: datetime) -> bool:
        return now < creds.expiration - self._refresh_margin

    def _refresh_locked(self) -> Lookup:
        now = self._clock()
        current = self._current
        if current is not None and self._fresh(current, now):
            return Lookup(current, HIT)  # another thread refreshed while we waited
        usable = current if current is not None and current.usable_at(now) else None
        if self._failed_at is not None and now < self._failed_at + self._failure_backoff:
            return Lookup(self._fallback(usable, None), STALE)
        try:
            fresh = self._fetch()
        except StsError as exc:
            self._failed_at = now
            if exc.retry_after is not None and exc.retry_after > 0:
                self._retry_after = exc.retry_after
            log.warning(
                "AssumeRole failed (%s); %s",
                exc.code,
                "serving cached credentials" if usable else "no usable credentials cached",
            )
            return Lookup(self._fallback(usable, exc), STALE)
        if not fresh.usable_at(now):
            self._failed_at = now
            log.warning("AssumeRole returned credentials that are already near expiry")
            return Lookup(self._fallback(usable, None), STALE)
        self._current = fresh
        self._failed_at = None
        self._retry_after = DEFAULT_RETRY_AFTER_SECONDS
        return Lookup(fresh, MISS)

    def _fallback(
        self, usable: TemporaryCredentials | None, cause: StsError | None
    ) -> TemporaryCredentials:
        if usable is not None:
            return usable
        raise CredentialsUnavailable(
            "upload credentials are temporarily unavailable; retry later",
            retry_after=self._retry_after,
        ) from cause
