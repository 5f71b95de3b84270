"""Wiring: settings → STS fetcher → credential cache → grant service → WSGI app.

The composition root, kept apart so tests can build the same app with a fake fetcher
or clock. Reads nothing itself: the environment mapping is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

from uploadsign import sts
from uploadsign.config import Settings
from uploadsign.credentials import CredentialCache, Fetcher
from uploadsign.grants import GrantService
from uploadsign.web import SignApp


def utc_now() -> datetime:
    """Return the current instant, aware, in UTC (the production clock)."""
    return datetime.now(timezone.utc)


def build_app(
    env: Mapping[str, str],
    *,
    fetcher_factory: Callable[[Settings], Fetcher] = sts.build_fetcher,
    clock: Callable[[], datetime] = utc_now,
) -> SignApp:
    """Build the configured app; raise ``ConfigurationError`` listing every problem."""
    settings = Settings.from_env(env)
    cache = CredentialCache(
        fetcher_factory(settings),
        clock,
        refresh_margin=timedelta(seconds=settings.sts_refresh_margin_seconds),
    )
    return SignApp(GrantService(settings, cache.get), clock)
