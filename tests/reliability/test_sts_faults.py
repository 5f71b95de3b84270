"""STS misbehaving (timeouts, 5xx, throttling, malformed bodies, resets) through the stub.

While cached credentials are usable no grant fails; with nothing usable the answer is a
503 with ``Retry-After``; once STS behaves again the same app recovers, no restart.
"""

from __future__ import annotations

import json

import pytest

from localcloud.sts import FaultMode
from tests.support.loopback import Loopback, call, upload_grant

LEGACY = "/get_post_signature_for_oss_upload"
#: STS_TIMEOUT_SECONDS is 1 in the harness: a 1.5 s delay is a client-side timeout.
FAULTS = [
    pytest.param(FaultMode.DELAY, id="timeout"),
    pytest.param(FaultMode.SERVER_ERROR, id="5xx"),
    pytest.param(FaultMode.THROTTLE, id="throttled"),
    pytest.param(FaultMode.MALFORMED_JSON, id="malformed-body"),
    pytest.param(FaultMode.CONNECTION_RESET, id="connection-reset"),
]
#: Past the function's failure back-off (2 s): the next grant tries STS again.
AFTER_BACKOFF = 3


def inject_forever(lb: Loopback, mode: FaultMode) -> None:
    lb.faults.inject(mode, count=None, delay_seconds=1.5, status=503)


def token_of(body: bytes) -> str:
    return str(json.loads(body)["fields"]["x-oss-security-token"])


def assert_unavailable(answer: tuple[int, dict[str, str], bytes]) -> None:
    status, headers, body = answer
    assert status == 503
    assert int(headers["Retry-After"]) >= 1
    assert json.loads(body)["error"]["code"] == "credentials_unavailable"


@pytest.mark.parametrize("mode", FAULTS)
def test_grants_keep_succeeding_on_cached_credentials_while_sts_fails(
    lb: Loopback, mode: FaultMode
) -> None:
    status, _, first = upload_grant(lb.app)
    assert status == 200
    inject_forever(lb, mode)
    lb.clock.advance(3400)  # inside the refresh window, 140 s before the usable limit
    for _ in range(8):
        status, _, body = upload_grant(lb.app)
        assert status == 200
        assert token_of(body) == token_of(first)
        assert call(lb.app, "GET", LEGACY)[0] == 200
        lb.clock.advance(0.5)
    # STS was really tried and really failed (a delayed answer may still be issued by
    # the stub after the client gave up, so the stub's issue count proves nothing here).
    assert lb.faults.applied >= 1


@pytest.mark.parametrize("mode", FAULTS)
def test_without_cached_credentials_a_failing_sts_gives_503_with_retry_after(
    lb: Loopback, mode: FaultMode
) -> None:
    inject_forever(lb, mode)
    assert_unavailable(upload_grant(lb.app))
    assert_unavailable(call(lb.app, "GET", LEGACY))


@pytest.mark.parametrize("mode", FAULTS)
def test_the_same_app_recovers_once_sts_answers_again(lb: Loopback, mode: FaultMode) -> None:
    inject_forever(lb, mode)
    assert_unavailable(upload_grant(lb.app))
    lb.faults.clear()
    lb.clock.advance(AFTER_BACKOFF)
    assert upload_grant(lb.app)[0] == 200


@pytest.mark.parametrize("mode", [FaultMode.SERVER_ERROR, FaultMode.CONNECTION_RESET])
def test_expired_cache_and_failing_sts_give_503_then_recover(lb: Loopback, mode: FaultMode) -> None:
    assert upload_grant(lb.app)[0] == 200
    inject_forever(lb, mode)
    lb.clock.advance(3600)  # the cached credentials are now past expiry
    assert_unavailable(upload_grant(lb.app))
    lb.faults.clear()
    lb.clock.advance(AFTER_BACKOFF)
    assert upload_grant(lb.app)[0] == 200
    assert lb.stub.issued == 2


def test_a_failing_sts_is_not_called_again_within_the_backoff(lb: Loopback) -> None:
    inject_forever(lb, FaultMode.SERVER_ERROR)
    for _ in range(10):
        assert_unavailable(upload_grant(lb.app))
    assert lb.stub.assume_role_calls == 1


def test_intermittent_failures_during_refreshes_never_fail_a_grant(lb: Loopback) -> None:
    assert upload_grant(lb.app)[0] == 200
    # Every other STS call fails; the refresh window (300 s) holds 60 grant attempts.
    lb.faults.inject(FaultMode.SERVER_ERROR, count=None, probability=0.5)
    for _ in range(2000):
        lb.clock.advance(5)
        assert upload_grant(lb.app)[0] == 200
    assert lb.stub.issued >= 3
