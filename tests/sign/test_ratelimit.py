"""Per-caller token buckets: burst, refill, Retry-After, bounded memory, threads, the 429."""

from __future__ import annotations

import threading

import pytest
from uploadsign.auth import RateLimiter
from uploadsign.errors import RateLimited
from uploadsign.factory import build_app
from werkzeug.test import Client

from .support import BASE_ENV, FakeClock, FakeFetcher

ORIGIN = "https://app.example.com"
GOOD = {"filename": "cat.png", "size": 1234, "content_type": "image/png"}


class Monotonic:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_a_caller_gets_a_burst_then_429_with_the_wait_for_one_token() -> None:
    limiter = RateLimiter(6, Monotonic())  # one token per 10 s
    for _ in range(6):
        limiter.take("ip:1")
    with pytest.raises(RateLimited) as caught:
        limiter.take("ip:1")
    assert caught.value.retry_after == 10
    assert caught.value.headers == {"Retry-After": "10"}


def test_tokens_refill_with_time_and_callers_are_independent() -> None:
    clock = Monotonic()
    limiter = RateLimiter(6, clock)
    for _ in range(6):
        limiter.take("ip:1")
    limiter.take("ip:2")  # someone else is not affected
    clock.now += 9.9
    with pytest.raises(RateLimited) as caught:
        limiter.take("ip:1")
    assert caught.value.retry_after == 1
    clock.now += 0.1
    limiter.take("ip:1")


def test_zero_turns_the_limit_off() -> None:
    limiter = RateLimiter(0, Monotonic())
    for _ in range(1000):
        limiter.take("ip:1")
    assert len(limiter) == 0


def test_idle_callers_are_forgotten_first_when_memory_is_full() -> None:
    clock = Monotonic()
    limiter = RateLimiter(60, clock, max_callers=100)
    for n in range(99):
        limiter.take(f"idle-{n}")
    clock.now += 60  # every idle bucket is full again: forgetting one changes nothing
    for _ in range(60):
        limiter.take("busy")
    for n in range(98):
        limiter.take(f"new-{n}")
    assert len(limiter) == 99  # the 99 idle ones went, "busy" and the new ones stayed
    with pytest.raises(RateLimited):
        limiter.take("busy")


def test_memory_stays_bounded_under_a_flood_of_new_callers() -> None:
    limiter = RateLimiter(60, Monotonic(), max_callers=100)
    for n in range(5000):
        limiter.take(f"ip:{n}")
        assert len(limiter) <= 100


def test_concurrent_takes_never_exceed_the_bucket() -> None:
    limiter = RateLimiter(50, Monotonic())
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(25):
            try:
                limiter.take("sub:alice")
            except RateLimited:
                continue
            with lock:
                granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(granted) == 50


def test_app_answers_429_with_retry_after_readable_by_the_page(
    clock: FakeClock, fetcher: FakeFetcher
) -> None:
    monotonic = Monotonic()
    env = {**BASE_ENV, "RATE_LIMIT_PER_MINUTE": "2"}
    app = build_app(env, fetcher_factory=lambda s: fetcher, clock=clock, monotonic=monotonic)
    client = Client(app)
    headers = {"Origin": ORIGIN}
    environ = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = [
        client.post("/uploads", json=GOOD, headers=headers, environ_base=environ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    limited = client.post("/uploads", json=GOOD, headers=headers, environ_base=environ)
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert limited.headers["Retry-After"] == "30"
    assert "Retry-After" in limited.headers["Access-Control-Expose-Headers"]
    other = client.post("/uploads", json=GOOD, headers=headers,
                        environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200
    assert client.get("/healthz", environ_base=environ).status_code == 200  # not limited
