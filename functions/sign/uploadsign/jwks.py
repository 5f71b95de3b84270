"""The issuer's signing keys (JWKS) for RS256/ES256 tokens: fetched, cached, refreshed.

Keys are fetched once, kept for ``max_age``, and fetched again early when a token names
a ``kid`` the cache does not know (the issuer rotated keys) — but at most once per
``min_refresh_interval``, so a flood of tokens with made-up ``kid`` values cannot turn
the function into a JWKS hammer. One refresh at a time (lock); others wait for it.

Depends on PyJWT (key parsing), ``httpfetch``'s ``Fetch`` type and ``errors``; the
fetcher and the monotonic clock are injected.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import jwt

from uploadsign.errors import FetchError, KeyUnavailable
from uploadsign.httpfetch import Fetch

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_MAX_AGE_SECONDS = 3600.0
DEFAULT_MIN_REFRESH_SECONDS = 30.0


class JwksCache:
    """Hold one issuer's public keys by ``kid``."""

    def __init__(
        self,
        url: str,
        fetch: Fetch,
        monotonic: Monotonic,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_age: float = DEFAULT_MAX_AGE_SECONDS,
        min_refresh_interval: float = DEFAULT_MIN_REFRESH_SECONDS,
    ) -> None:
        self.url = url
        self._fetch = fetch
        self._monotonic = monotonic
        self._timeout = timeout
        self._max_age = max_age
        self._min_refresh = min_refresh_interval
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self.fetches = 0

    def key_for(self, kid: str | None) -> jwt.PyJWK:
        """Return the key named ``kid`` (or the only key when the token names none)."""
        now = self._monotonic()
        key = self._lookup(kid)
        expired = self._fetched_at is None or now - self._fetched_at >= self._max_age
        if key is not None and not expired:
            return key
        with self._lock:
            key = self._lookup(kid)
            recent = self._fetched_at is not None and now - self._fetched_at < self._min_refresh
            if not recent and (key is None or expired):
                self._refresh(now)
                key = self._lookup(kid)
        if key is None:
            raise KeyUnavailable("no signing key for this token")
        return key

    def _lookup(self, kid: str | None) -> jwt.PyJWK | None:
        keys = self._keys
        if kid is None:
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def _refresh(self, now: float) -> None:
        self._fetched_at = now  # also on failure: the interval throttles retries
        self.fetches += 1
        try:
            document = json.loads(self._fetch(self.url, self._timeout))
            keyset = jwt.PyJWKSet.from_dict(document)
        except (FetchError, ValueError, TypeError, jwt.PyJWTError) as exc:
            log.warning("JWKS fetch failed (%s); keeping %d cached key(s)",
                        type(exc).__name__, len(self._keys))
            return
        keys: dict[str, jwt.PyJWK] = {}
        for key in keyset.keys:
            if key.key_id:
                keys[key.key_id] = key
        if len(keyset.keys) == 1 and not keys:
            keys[""] = keyset.keys[0]
        self._keys = keys
