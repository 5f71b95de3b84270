"""Wiring: settings → STS fetcher → credential cache → grant service → WSGI app.

The composition root, kept apart so tests can build the same app with a fake fetcher,
clock or HTTP fetcher. Reads nothing itself: the environment mapping is passed in.
Imports only what every mode needs; PyJWT (``jwtauth``) is imported when
``AUTH_MODE=jwt`` is built, ``cryptography`` by ``callback_verify`` on the first callback,
``alibabacloud-oss-v2`` by ``multipart`` on the first multipart call, ``redis`` (``limits``)
when ``LIMITS_REDIS_URL`` is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

from uploadsign import sts
from uploadsign.auth import Authenticator, OriginAuthenticator, RateLimiter
from uploadsign.callback import CallbackLog
from uploadsign.callback_verify import CallbackVerifier, PublicKeyCache
from uploadsign.config import Settings
from uploadsign.grants import GrantService
from uploadsign.multipart import MultipartService, StorageFactory
from uploadsign.routes import SignApp
from uploadsign.sts import CredentialCache, Fetch, Fetcher

log = logging.getLogger("uploadsign")


def utc_now() -> datetime:
    """Return the current instant, aware, in UTC (the production clock)."""
    return datetime.now(timezone.utc)


def build_authenticator(
    settings: Settings, http_fetch: Fetch, monotonic: Callable[[], float]
) -> Authenticator:
    """Return the authenticator ``AUTH_MODE`` asks for."""
    if settings.auth_mode == "jwt":
        # Imported here: PyJWT costs tens of ms at cold start and only this mode needs it.
        from uploadsign.jwtauth import JwksCache, JwtAuthenticator

        jwks = (
            JwksCache(settings.auth_jwks_url, http_fetch, monotonic)
            if settings.auth_jwks_url
            else None
        )
        return JwtAuthenticator(
            secret=settings.auth_jwt_secret,
            jwks=jwks,
            issuer=settings.auth_issuer,
            audience=settings.auth_audience,
            leeway_seconds=settings.auth_leeway_seconds,
        )
    if settings.on_fc:
        log.warning(
            "AUTH_MODE=none on Function Compute: any page on CORS_ALLOWED_ORIGINS, and any "
            "script that sends such an Origin, can get upload grants; set AUTH_MODE=jwt"
        )
    return OriginAuthenticator(settings.cors_allowed_origins)


def build_app(
    env: Mapping[str, str],
    *,
    fetcher_factory: Callable[[Settings], Fetcher] = sts.build_fetcher,
    clock: Callable[[], datetime] = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
    http_fetch: Fetch = sts.fetch,
    storage_factory: StorageFactory | None = None,
) -> SignApp:
    """Build the configured app; raise ``ConfigurationError`` listing every problem."""
    settings = Settings.from_env(env)
    if settings.sample_route:
        log.warning(
            "UPLOAD_SAMPLE_ROUTE=on: GET /get_post_signature_for_oss_upload lets each "
            "caller upload any number of files, of any type and ACL, into a fresh directory "
            "until the grant expires; prefer POST /uploads"
        )
    cache = CredentialCache(
        fetcher_factory(settings),
        clock,
        refresh_margin=timedelta(seconds=settings.sts_refresh_margin_seconds),
    )
    grants = GrantService(settings, cache.lookup)
    shared = None
    if settings.limits_redis_url:
        # Imported here: redis costs ~0.15 s at cold start and only this set-up needs it.
        from uploadsign.limits import SharedLimits, connect

        shared = SharedLimits(settings, connect(settings), clock)
    return SignApp(
        grants,
        clock,
        multipart=MultipartService(grants, cache.lookup, storage_factory),
        authenticator=build_authenticator(settings, http_fetch, monotonic),
        limiter=RateLimiter(0 if shared else settings.rate_limit_per_minute, monotonic),
        verifier=CallbackVerifier(
            settings.callback_pubkey_url_prefixes, PublicKeyCache(http_fetch, monotonic=monotonic)
        ),
        callback_log=CallbackLog(),
        monotonic=monotonic,
        shared=shared,
    )
