"""``AUTH_MODE=jwt``: ``Authorization: Bearer <JWT>`` verified with PyJWT.

Owns the token checks (signature, ``exp``/``nbf`` against the injected ``now``, ``iss``,
``aud``, ``sub``) and their failure: 401 with an RFC 6750 ``WWW-Authenticate`` challenge.
The token never leaves this module: a :class:`~uploadsign.auth.Caller` carries the
subject only.

Its own module because PyJWT (and through it ``cryptography.x509``) costs tens of
milliseconds to import: the factory imports this only when ``AUTH_MODE=jwt``.
Depends on PyJWT, ``auth`` (the caller types), ``sts``' ``Fetch`` type and ``errors``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import jwt

from uploadsign.auth import Caller, RequestFacts
from uploadsign.errors import FetchError, KeyUnavailable, Unauthorized
from uploadsign.sts import Fetch

BEARER = "Bearer"
REALM = "oss-direct-upload"
HS_ALGORITHMS = ("HS256",)
JWKS_ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_CHARS = 8192


class JwtAuthenticator:
    """``AUTH_MODE=jwt``: ``Authorization: Bearer <JWT>`` verified with PyJWT."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks: JwksCache | None = None,
        issuer: str = "",
        audience: str = "",
        leeway_seconds: int = 30,
    ) -> None:
        if bool(secret) == (jwks is not None):
            raise ValueError("give exactly one of secret and jwks")
        self._secret = secret
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._leeway = timedelta(seconds=leeway_seconds)

    def __repr__(self) -> str:
        return f"JwtAuthenticator(issuer={self._issuer!r}, jwks={self._jwks is not None})"

    def authenticate(self, facts: RequestFacts, now: datetime) -> Caller:
        token = _bearer_token(facts.authorization)
        claims = self._verify(token)
        self._check_times(claims, now)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _invalid("token has no subject")
        return Caller(subject=subject, ip=facts.remote_addr)

    def _verify(self, token: str) -> dict[str, Any]:
        required = ["exp", "sub"] + (["iss"] if self._issuer else []) + (
            ["aud"] if self._audience else []
        )
        options: dict[str, Any] = {
            "require": required,
            # exp/nbf are checked against the injected ``now`` in _check_times.
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": bool(self._audience),
            "verify_iss": bool(self._issuer),
        }
        try:
            if self._jwks is not None:
                kid = jwt.get_unverified_header(token).get("kid")
                if kid is not None and not isinstance(kid, str):
                    raise _invalid("token kid is not a string")
                key: Any = self._jwks.key_for(kid)
                algorithms = list(JWKS_ALGORITHMS)
            else:
                key, algorithms = self._secret, list(HS_ALGORITHMS)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                options=options,  # type: ignore[arg-type]
                audience=self._audience or None,
                issuer=self._issuer or None,
            )
        except KeyUnavailable as exc:
            raise _invalid("token signed with an unknown key") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _invalid("token not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise _invalid("token audience is wrong") from exc
        except jwt.InvalidIssuerError as exc:
            raise _invalid("token issuer is wrong") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"token lacks the {exc.claim} claim") from exc
        except jwt.PyJWTError as exc:
            raise _invalid("token signature or format is invalid") from exc
        return claims

    def _check_times(self, claims: dict[str, Any], now: datetime) -> None:
        stamp = now.timestamp()
        leeway = self._leeway.total_seconds()
        exp = _number(claims.get("exp"))
        if exp is None:
            raise _invalid("token exp is not a number")
        if stamp >= exp + leeway:
            raise _invalid("token has expired")
        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None:
                raise _invalid("token nbf is not a number")
            if stamp < nbf - leeway:
                raise _invalid("token not valid yet")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized("a bearer token is required", challenge=f'{BEARER} realm="{REALM}"')
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != BEARER.lower() or not token:
        raise _invalid("Authorization must be 'Bearer <token>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise _invalid("token is too long")
    return token


def _invalid(reason: str) -> Unauthorized:
    # error_description stays a fixed phrase: never echo the token or a library message.
    return Unauthorized(
        reason,
        challenge=f'{BEARER} realm="{REALM}", error="invalid_token", '
        f'error_description="{reason}"',
    )


log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_MAX_AGE_SECONDS = 3600.0
DEFAULT_MIN_REFRESH_SECONDS = 30.0


class JwksCache:
    """Hold one issuer's public keys (JWKS, for RS256/ES256) by ``kid``.

    Keys are fetched once, kept for ``max_age``, and fetched again early when a token
    names a ``kid`` the cache does not know (the issuer rotated keys) — but at most once
    per ``min_refresh_interval``, so a flood of tokens with made-up ``kid`` values cannot
    turn the function into a JWKS hammer. One refresh at a time (lock); others wait.
    The fetcher and the monotonic clock are injected.
    """

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
