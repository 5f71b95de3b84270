"""Shared limits in a real Redis: the rate log, the quota's reservations, commits, failures.

One real ``redis-server`` (``tests/support/redisserver.py``) serves the module; every test
starts from an empty store. The function's own instance runs in process here; the
multi-process checks (eight function processes against one store) are in ``tests/limits``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from uploadsign.config import Settings
from uploadsign.errors import ConfigurationError, PayloadTooLarge, RateLimited
from uploadsign.factory import build_app
from uploadsign.limits import PREFIX, SCRIPT, QuotaExceeded, SharedLimits, connect, redacted
from uploadsign.uploadtoken import StoredPart
from werkzeug.test import Client

from tests.api.spec import validator
from tests.support.redisserver import FAKE_PASSWORD, RedisServer, running_redis

from .support import BASE_ENV, FIXED_NOW, MULTIPART_ENV, FakeClock, FakeFetcher, FakeStorage
from .support import MULTIPART_REQUEST as BIG
from .support import MULTIPART_SIZE as SIZE

ORIGIN = "https://app.example.com"
KIB = 1024


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture
def store(redis_server: RedisServer, logged_secrets: set[str]) -> RedisServer:
    """The module's server, emptied (and restarted if a test stopped it)."""
    logged_secrets.add(FAKE_PASSWORD)
    try:
        redis_server.client().flushall()
    except Exception:
        redis_server.start()
    return redis_server


def limits(store: RedisServer, clock: FakeClock, **env: str) -> SharedLimits:
    settings = Settings.from_env({**BASE_ENV, **store.env(), **env})
    return SharedLimits(settings, connect(settings), clock)


# --- settings -------------------------------------------------------------------------------

@pytest.mark.parametrize("env, problem", [
    ({"QUOTA_BYTES_PER_CALLER": "1000"}, "QUOTA_BYTES_PER_CALLER needs LIMITS_REDIS_URL"),
    ({"QUOTA_BYTES_PER_CALLER": "1000", "LIMITS_REDIS_URL": "redis://r:6379",
      "UPLOAD_SAMPLE_ROUTE": "on"}, "cannot bound UPLOAD_SAMPLE_ROUTE=on"),
    ({"LIMITS_REDIS_URL": "http://r:6379"}, "LIMITS_REDIS_URL must be redis://"),
    ({"LIMITS_REDIS_URL": "redis://:s3cret-fake@r:port"}, "LIMITS_REDIS_URL is not a URL"),
    ({"LIMITS_REDIS_URL": "redis://r/0?password=x"}, "takes no path but a database number"),
    ({"LIMITS_FAIL_MODE": "sometimes"}, "LIMITS_FAIL_MODE must be closed or open"),
    ({"LIMITS_REDIS_TIMEOUT_MS": "60000"}, "LIMITS_REDIS_TIMEOUT_MS must be between 10 and 5000"),
])
def test_bad_limits_settings_are_named_and_never_echo_the_url(
    env: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env({**BASE_ENV, **env})
    assert problem in caught.value.message
    assert "s3cret-fake" not in caught.value.message


def test_the_store_url_and_password_never_show_in_settings_or_limits_reprs(
    store: RedisServer, clock: FakeClock
) -> None:
    url = f"redis://:{FAKE_PASSWORD}@127.0.0.1:{store.port}/0"
    settings = Settings.from_env({**BASE_ENV, "LIMITS_REDIS_URL": url})
    assert FAKE_PASSWORD not in repr(settings)
    shared = SharedLimits(settings, connect(settings), clock)
    assert repr(shared) == f"SharedLimits('redis://:***@127.0.0.1:{store.port}/0')"
    shared.admit("ip:1", "g1", 0, None)  # the password in the URL is the one used
    assert redacted("rediss://app:pw@h:6380/1") == "rediss://app:***@h:6380/1"
    assert redacted("redis://h:6379") == "redis://h:6379"


# --- rate limit -----------------------------------------------------------------------------

def test_the_rate_limit_grants_exactly_the_limit_in_a_window_then_429_until_the_oldest_ages(
    store: RedisServer, clock: FakeClock
) -> None:
    shared = limits(store, clock, RATE_LIMIT_PER_MINUTE="5")
    for n in range(5):
        shared.admit("ip:1", f"g{n}", 0, None)
    with pytest.raises(RateLimited) as caught:
        shared.admit("ip:1", "g5", 0, None)
    assert 59 <= caught.value.retry_after <= 60
    assert caught.value.headers == {"Retry-After": str(caught.value.retry_after)}
    shared.admit("ip:2", "h0", 0, None)  # another caller is not affected


def test_a_short_window_slides(store: RedisServer, clock: FakeClock) -> None:
    settings = Settings.from_env({**BASE_ENV, **store.env(), "RATE_LIMIT_PER_MINUTE": "2"})
    shared = SharedLimits(settings, connect(settings), clock, rate_window_seconds=1)
    shared.admit("ip:1", "a", 0, None)
    shared.admit("ip:1", "b", 0, None)
    with pytest.raises(RateLimited):
        shared.admit("ip:1", "c", 0, None)
    time.sleep(1.05)
    shared.admit("ip:1", "d", 0, None)


def test_one_grant_is_one_round_trip(store: RedisServer, clock: FakeClock) -> None:
    shared = limits(store, clock, RATE_LIMIT_PER_MINUTE="100", QUOTA_BYTES_PER_CALLER="1000000")
    shared.admit("ip:1", "warm", 10, timedelta(minutes=10))  # loads the script
    store.client().config_resetstat()
    for n in range(20):
        shared.admit("ip:1", f"g{n}", 10, timedelta(minutes=10))
    assert store.client_commands(SCRIPT) == {"evalsha": 20}


# --- quota ----------------------------------------------------------------------------------

QUOTA = {"QUOTA_BYTES_PER_CALLER": str(10 * KIB), "QUOTA_WINDOW_SECONDS": "3600"}


def test_grants_reserve_their_size_and_the_one_that_would_exceed_is_refused_with_the_reset(
    store: RedisServer, clock: FakeClock
) -> None:
    shared = limits(store, clock, **QUOTA)
    shared.admit("sub:a", "g1", 4 * KIB, timedelta(seconds=600))
    shared.admit("sub:a", "g2", 6 * KIB, timedelta(seconds=300))
    with pytest.raises(QuotaExceeded) as caught:
        shared.admit("sub:a", "g3", 1, timedelta(seconds=600))
    # g2 (the first to stop counting) frees enough: 300 s from now.
    assert 299 <= caught.value.retry_after <= 300
    assert caught.value.code == "quota_exceeded" and caught.value.status == 429
    seconds = caught.value.retry_after
    assert caught.value.details == {
        "retry_after": seconds,
        "resets_at": (FIXED_NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    shared.admit("sub:b", "h1", 10 * KIB, timedelta(seconds=600))  # callers are independent


def test_a_file_larger_than_the_whole_quota_is_413_not_a_wait(
    store: RedisServer, clock: FakeClock
) -> None:
    with pytest.raises(PayloadTooLarge, match="quota of 10240 bytes"):
        limits(store, clock, **QUOTA).admit("sub:a", "g1", 10 * KIB + 1, None)


def test_an_expired_reservation_is_released_without_any_background_job(
    store: RedisServer, clock: FakeClock
) -> None:
    shared = limits(store, clock, **QUOTA)
    shared.admit("sub:a", "g1", 10 * KIB, timedelta(milliseconds=300))
    with pytest.raises(QuotaExceeded):
        shared.admit("sub:a", "g2", 1, timedelta(seconds=600))
    time.sleep(0.35)
    shared.admit("sub:a", "g3", 10 * KIB, timedelta(seconds=600))


def test_a_commit_turns_the_reservation_into_usage_once_however_often_repeated(
    store: RedisServer, clock: FakeClock
) -> None:
    shared = limits(store, clock, **QUOTA)
    shared.admit("sub:a", "g1", 4 * KIB, timedelta(milliseconds=300))
    for _ in range(5):
        shared.commit("g1")
    time.sleep(0.35)  # past the grant's expiry: the object is stored, so it still counts
    shared.admit("sub:a", "g2", 6 * KIB, timedelta(seconds=600))
    with pytest.raises(QuotaExceeded) as caught:
        shared.admit("sub:a", "g3", 1, timedelta(seconds=600))
    assert 590 <= caught.value.retry_after <= 600  # g2's reservation frees first
    assert int(store.client().get("{odu}:used:sub:a")) == 10 * KIB


def test_a_late_commit_after_the_reservation_expired_counts_the_object_again(
    store: RedisServer, clock: FakeClock
) -> None:
    shared = limits(store, clock, **QUOTA)
    shared.admit("sub:a", "g1", 4 * KIB, timedelta(milliseconds=100))
    time.sleep(0.15)
    shared.admit("sub:a", "g2", 6 * KIB, timedelta(seconds=600))  # trims g1's reservation
    shared.commit("g1")  # a large upload that began before the expiry ends after it
    shared.commit("g1")
    assert int(store.client().get("{odu}:used:sub:a")) == 10 * KIB


def test_release_and_unknown_grants(store: RedisServer, clock: FakeClock) -> None:
    shared = limits(store, clock, **QUOTA)
    shared.admit("sub:a", "g1", 10 * KIB, timedelta(seconds=600))
    shared.release("g1")
    shared.release("g1")
    shared.commit("never-granted")
    shared.commit(None)
    shared.admit("sub:a", "g2", 10 * KIB, timedelta(seconds=600))


def test_without_a_hold_the_size_counts_as_used_for_the_window(
    store: RedisServer, clock: FakeClock
) -> None:
    shared = limits(store, clock, QUOTA_BYTES_PER_CALLER=str(10 * KIB), QUOTA_WINDOW_SECONDS="7")
    shared.admit("sub:a", "g1", 10 * KIB, None)
    with pytest.raises(QuotaExceeded) as caught:
        shared.admit("sub:a", "g2", 1, None)
    assert caught.value.retry_after == 7


# --- through the app ------------------------------------------------------------------------

def app_client(store: RedisServer, clock: FakeClock, fetcher: FakeFetcher, **env: str) -> Client:
    return Client(build_app({**BASE_ENV, **store.env(), **env},
                            fetcher_factory=lambda s: fetcher, clock=clock))


def post(client: Client, size: int = KIB, ip: str = "203.0.113.7") -> Any:
    body = {"filename": "cat.png", "size": size, "content_type": "image/png"}
    return client.post("/uploads", json=body, headers={"Origin": ORIGIN},
                       environ_base={"REMOTE_ADDR": ip})


def test_the_app_answers_quota_exceeded_with_retry_after_and_the_reset_time(
    store: RedisServer, clock: FakeClock, fetcher: FakeFetcher
) -> None:
    client = app_client(store, clock, fetcher, QUOTA_BYTES_PER_CALLER=str(3 * KIB))
    assert [post(client).status_code for _ in range(3)] == [200, 200, 200]
    refused = post(client)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    seconds = int(refused.headers["Retry-After"])
    assert 86399 <= seconds <= 86400  # no callback: each grant counts for the whole window
    assert error == {
        "code": "quota_exceeded", "message": f"storage quota exceeded; enough of it frees up "
        f"in {seconds} s", "retry_after": seconds,
        "resets_at": (FIXED_NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]
    validator({"$ref": "#/components/schemas/Error"}).validate(refused.get_json())
    assert post(client, ip="198.51.100.9").status_code == 200


def test_the_app_counts_the_rate_limit_in_redis_instead_of_memory(
    store: RedisServer, clock: FakeClock, fetcher: FakeFetcher
) -> None:
    env = {"RATE_LIMIT_PER_MINUTE": "3"}
    first, second = (app_client(store, clock, fetcher, **env) for _ in range(2))
    statuses = [post(client).status_code for client in (first, second, first, second)]
    assert statuses == [200, 200, 200, 429]  # two instances, one limit
    assert post(first).get_json()["error"]["code"] == "rate_limited"


def test_fail_closed_answers_503_then_recovers_without_a_rebuild(
    store: RedisServer, clock: FakeClock, fetcher: FakeFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_client(store, clock, fetcher, LIMITS_REDIS_TIMEOUT_MS="200")
    assert post(client).status_code == 200
    store.stop()
    started = time.monotonic()
    refused = post(client)
    assert time.monotonic() - started < 2.0
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "2"
    assert refused.get_json()["error"]["code"] == "limits_unavailable"
    assert "refusing (LIMITS_FAIL_MODE=closed)" in caplog.text
    store.start()
    assert post(client).status_code == 200


def test_fail_open_grants_and_logs_a_warning(
    store: RedisServer, clock: FakeClock, fetcher: FakeFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    client = app_client(store, clock, fetcher, LIMITS_FAIL_MODE="open")
    store.stop()
    with caplog.at_level(logging.WARNING, logger="uploadsign.limits"):
        assert post(client).status_code == 200
    assert "granting without limits" in caplog.text
    assert FAKE_PASSWORD not in caplog.text
    store.start()


def test_a_store_down_from_the_start_still_builds_the_app_and_answers_503(
    clock: FakeClock, fetcher: FakeFetcher
) -> None:
    with running_redis() as server:
        server.stop()
        client = app_client(server, clock, fetcher, LIMITS_REDIS_TIMEOUT_MS="100")
        assert post(client).status_code == 503
        server.start()
        assert post(client).status_code == 200


# --- cold start -----------------------------------------------------------------------------

SIGN_ROOT = Path(__file__).resolve().parents[2] / "functions" / "sign"


@pytest.mark.parametrize("extra, loaded", [
    ({}, False), ({"LIMITS_REDIS_URL": "redis://r:6379"}, True),
])
def test_redis_is_imported_only_when_limits_redis_url_is_set(
    extra: dict[str, str], loaded: bool
) -> None:
    code = (
        "import sys\n"
        "from uploadsign.factory import build_app\n"
        f"build_app({ {**BASE_ENV, **extra}!r}, fetcher_factory=lambda s: (lambda: None))\n"
        "print('redis' in sys.modules, 'uploadsign.limits' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=SIGN_ROOT, capture_output=True,
                         text=True, check=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(SIGN_ROOT)}).stdout
    assert out.split() == [str(loaded), str(loaded)]


# --- multipart ------------------------------------------------------------------------------

def test_a_multipart_plan_reserves_its_total_before_oss_hears_of_it_and_settles_on_complete(
    store: RedisServer, clock: FakeClock, fetcher: FakeFetcher
) -> None:
    storage = FakeStorage()
    env = {**MULTIPART_ENV, **store.env(), "QUOTA_BYTES_PER_CALLER": str(2 * SIZE + 10)}
    client = Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock,
                              storage_factory=storage))

    def plan() -> Any:
        return client.post("/uploads", json=BIG, headers={"Origin": ORIGIN})

    def initiated() -> int:
        return sum(1 for call in storage.calls if call[0] == "initiate")

    first, second = plan().get_json(), plan().get_json()
    refused = plan()
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (429, "quota_exceeded")
    assert initiated() == 2  # refused before InitiateMultipartUpload
    aborted = client.delete(f"/uploads/{first['upload_id']}", headers={"Origin": ORIGIN})
    assert aborted.status_code == 204
    assert plan().status_code == 200  # the abort released the first plan's reservation
    storage.parts["UPLOAD1"] = [StoredPart(n, f'"ETAG{n}"', size)
                                for n, size in {1: 1024**2, 2: 1024**2, 3: 123}.items()]
    done = client.post(f"/uploads/{second['upload_id']}/complete", json={},
                       headers={"Origin": ORIGIN})
    assert done.status_code == 200
    grant = store.client().hgetall(f"{PREFIX}grant:{second['grant_id']}")
    assert (grant[b"state"], int(grant[b"size"])) == (b"used", SIZE)
