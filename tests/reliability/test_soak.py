"""Soak: many grants from parallel threads across many credential refreshes.

Credentials live 900 s (STS's minimum) and are refreshed 120 s ahead, while the shared
simulated clock runs fast, so a few seconds of wall time cover hours of credential
lifetimes. Every grant must succeed and STS must be called at most once per refresh.
The bounded run is part of ``make test``; ``make soak`` runs the ``slow`` ones.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.loopback import SimClock, loopback, upload_grant

DURATION = 900
MARGIN = 120
#: Simulated seconds one grant moves the clock: 78 grants per credential lifetime.
STEP = 10.0


def run_soak(grants: int, threads: int) -> None:
    clock = SimClock()
    with loopback(clock, STS_DURATION_SECONDS=str(DURATION),
                  STS_REFRESH_MARGIN_SECONDS=str(MARGIN)) as lb:
        failures: list[int] = []
        lock = threading.Lock()

        def one(_: int) -> None:
            clock.advance(STEP)
            status = upload_grant(lb.app)[0]
            if status != 200:
                with lock:
                    failures.append(status)

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(grants)))
        lifetimes = grants * STEP / (DURATION - MARGIN)
        assert failures == []
        assert lb.stub.assume_role_calls == lb.stub.issued  # no call wasted or refused
        # From below: no credential served past its expiry, so each call covers at most
        # DURATION simulated seconds (under contention a refresh may land after expiry -
        # margin, never after expiry).
        assert lb.stub.issued >= int(grants * STEP / DURATION)
        # One call per refresh, +1 for the first fetch and +1 for the partial lifetime at the
        # end; a refresh is due only when the clock passes expiry - margin.
        assert lb.stub.issued <= int(lifetimes) + 2


def test_bounded_soak_has_no_failed_grant_and_one_sts_call_per_refresh() -> None:
    run_soak(grants=3000, threads=8)


@pytest.mark.slow
def test_long_soak_has_no_failed_grant_and_one_sts_call_per_refresh() -> None:
    run_soak(grants=50_000, threads=16)


def run_expiry_burst(concurrent: int) -> int:
    """Fire ``concurrent`` grants at once with no usable credentials; return STS calls."""
    with loopback() as lb:
        assert upload_grant(lb.app)[0] == 200
        lb.clock.advance(3600)  # the cached credentials just expired
        before = lb.stub.assume_role_calls
        barrier = threading.Barrier(concurrent)

        def one(_: int) -> int:
            barrier.wait()
            return upload_grant(lb.app)[0]

        with ThreadPoolExecutor(concurrent) as pool:
            statuses = list(pool.map(one, range(concurrent)))
        assert statuses == [200] * concurrent
        return lb.stub.assume_role_calls - before


def test_64_concurrent_grants_at_expiry_call_sts_once() -> None:
    assert run_expiry_burst(64) == 1


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(20))
def test_expiry_bursts_repeatedly_call_sts_once(round_: int) -> None:
    assert run_expiry_burst(64) == 1
