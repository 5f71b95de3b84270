"""The credential cache: refresh ahead, single flight, serve-while-valid, 503."""

from __future__ import annotations

import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import timedelta

import pytest
from uploadsign.credentials import TemporaryCredentials
from uploadsign.errors import CredentialsUnavailable, StsError, StsThrottled
from uploadsign.sts import CredentialCache

from .support import FAKE_STS_SECRET, FAKE_STS_TOKEN, FakeClock, FakeFetcher

MARGIN = timedelta(minutes=5)


def make_cache(fetcher: FakeFetcher, clock: FakeClock) -> CredentialCache:
    return CredentialCache(fetcher, clock, refresh_margin=MARGIN)


def test_cached_credentials_are_reused_until_the_refresh_margin(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    cache = make_cache(fetcher, clock)
    first = cache.get()
    clock.advance(54 * 60)
    assert cache.get() is first
    assert fetcher.calls == 1


def test_refresh_happens_ahead_of_expiry(fetcher: FakeFetcher, clock: FakeClock) -> None:
    cache = make_cache(fetcher, clock)
    first = cache.get()
    clock.advance(56 * 60)  # 4 minutes left < 5-minute margin
    second = cache.get()
    assert fetcher.calls == 2
    assert second.expiration > first.expiration


def test_failed_refresh_keeps_serving_still_valid_credentials(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    cache = make_cache(fetcher, clock)
    first = cache.get()
    clock.advance(56 * 60)
    fetcher.failure = StsError("Unavailable", "down")
    assert cache.get() is first


def test_failures_are_backed_off_instead_of_hammering_sts(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    cache = make_cache(fetcher, clock)
    cache.get()
    clock.advance(56 * 60)
    fetcher.failure = StsError("Unavailable", "down")
    for _ in range(5):
        cache.get()
    assert fetcher.calls == 2
    clock.advance(3)
    cache.get()
    assert fetcher.calls == 3


def test_no_usable_credentials_gives_503_with_retry_after(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    fetcher.failure = StsThrottled("Throttling.User", "slow down", retry_after=7)
    cache = make_cache(fetcher, clock)
    with pytest.raises(CredentialsUnavailable) as info:
        cache.get()
    assert info.value.status == 503
    assert info.value.headers == {"Retry-After": "7"}
    assert isinstance(info.value.__cause__, StsThrottled)


def test_expired_cache_with_failing_sts_gives_503(fetcher: FakeFetcher, clock: FakeClock) -> None:
    cache = make_cache(fetcher, clock)
    cache.get()
    clock.advance(59.5 * 60)  # inside the 60 s safety margin: no longer usable
    fetcher.failure = StsError("Unavailable", "down")
    with pytest.raises(CredentialsUnavailable):
        cache.get()


def test_cache_recovers_on_the_next_call_once_sts_answers_again(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    fetcher.failure = StsError("Unavailable", "down")
    cache = make_cache(fetcher, clock)
    with pytest.raises(CredentialsUnavailable):
        cache.get()
    fetcher.failure = None
    clock.advance(3)
    assert cache.get().access_key_id.startswith("STS.")


def test_credentials_already_near_expiry_are_not_cached(clock: FakeClock) -> None:
    fetcher = FakeFetcher(clock, lifetime=timedelta(seconds=30))
    with pytest.raises(CredentialsUnavailable):
        make_cache(fetcher, clock).get()


def test_fifty_concurrent_cold_requests_cause_exactly_one_sts_call(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    cache = make_cache(fetcher, clock)
    fetcher.gate = threading.Event()
    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(cache.get) for _ in range(50)]
        fetcher.gate.set()
        results = {id(future.result(timeout=30)) for future in futures}
    assert fetcher.calls == 1
    assert len(results) == 1


def test_fifty_concurrent_requests_during_refresh_cause_one_call_and_never_block(
    fetcher: FakeFetcher, clock: FakeClock
) -> None:
    cache = make_cache(fetcher, clock)
    old = cache.get()
    clock.advance(56 * 60)
    fetcher.gate = threading.Event()
    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(cache.get) for _ in range(50)]
        # 49 requests are answered from the stale-but-usable cache while one refreshes,
        # which is still held at the gate.
        done, pending = wait(futures, timeout=30, return_when=FIRST_COMPLETED)
        while len(done) < 49 and pending:
            more, pending = wait(pending, timeout=30, return_when=FIRST_COMPLETED)
            done |= more
        assert len(pending) == 1
        assert all(future.result() is old for future in done)
        fetcher.gate.set()
        refreshed = pending.pop().result(timeout=30)
    assert fetcher.calls == 2
    assert refreshed.expiration > old.expiration
    assert cache.get() is refreshed


def test_repr_hides_secret_and_token(clock: FakeClock) -> None:
    shown = repr(TemporaryCredentials("STS.X", FAKE_STS_SECRET, FAKE_STS_TOKEN, clock.now))
    assert FAKE_STS_SECRET not in shown and FAKE_STS_TOKEN not in shown
    assert "STS.X" in shown
