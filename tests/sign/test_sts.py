"""The STS adapter against HTTP-level stubs (``responses``), alone and behind the cache.

The SDK (tea-openapi 0.4.6 / darabonba-core) sends ``POST https://<endpoint>/`` with the
AssumeRole parameters in the query string; ``responses`` matches the URL without it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from uploadsign.config import Settings
from uploadsign.errors import CredentialsUnavailable, StsError, StsThrottled
from uploadsign.sts import CredentialCache, build_fetcher, session_policy

from .support import (
    BASE_ENV,
    FAKE_STS_KEY_ID,
    FAKE_STS_SECRET,
    FAKE_STS_TOKEN,
    ROLE_ARN,
    FakeClock,
)

STS_URL = "https://sts.cn-hangzhou.aliyuncs.com/"
#: The real clock decides whether SDK-returned credentials look fresh; keep them far out.
FAR_EXPIRY = "2099-01-01T00:00:00Z"


def success_body(expiration: str = FAR_EXPIRY) -> dict[str, object]:
    return {
        "RequestId": "FAKE-REQUEST-ID",
        "AssumedRoleUser": {"Arn": ROLE_ARN + "/oss-direct-upload", "AssumedRoleId": "1:x"},
        "Credentials": {
            "AccessKeyId": FAKE_STS_KEY_ID,
            "AccessKeySecret": FAKE_STS_SECRET,
            "SecurityToken": FAKE_STS_TOKEN,
            "Expiration": expiration,
        },
    }


@pytest.fixture
def sts() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env(BASE_ENV)


def test_success_returns_credentials_and_sends_the_narrowed_session_policy(
    sts: responses.RequestsMock, settings: Settings
) -> None:
    sts.add(responses.POST, STS_URL, json=success_body())
    creds = build_fetcher(settings)()
    assert (creds.access_key_id, creds.access_key_secret, creds.security_token) == (
        FAKE_STS_KEY_ID, FAKE_STS_SECRET, FAKE_STS_TOKEN,
    )
    assert creds.expiration == datetime(2099, 1, 1, tzinfo=timezone.utc)
    sent = sts.calls[0].request
    assert sent.method == "POST"
    query = {k: v[0] for k, v in parse_qs(urlsplit(sent.url or "").query).items()}
    assert query == {
        "DurationSeconds": "3600",
        "Policy": session_policy("example-bucket", "uploads/"),
        "RoleArn": ROLE_ARN,
        "RoleSessionName": "oss-direct-upload",
    }
    assert json.loads(query["Policy"]) == {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["oss:PutObject", "oss:PutObjectAcl", "oss:ListParts",
                           "oss:AbortMultipartUpload"],
                "Resource": ["acs:oss:*:*:example-bucket/uploads/*"],
            }
        ],
    }
    assert sent.headers["x-acs-action"] == "AssumeRole"
    # The caller identity is the execution role from the (fake) environment.
    assert sent.headers["x-acs-accesskey-id"] == "LOCAL-EXEC-KEY-ID-FAKE"
    assert sent.headers["x-acs-security-token"] == "local-exec-token-fake-0000"


def test_local_http_endpoint_is_used_as_is(sts: responses.RequestsMock) -> None:
    settings = Settings.from_env({**BASE_ENV, "STS_ENDPOINT": "http://127.0.0.1:9911"})
    sts.add(responses.POST, "http://127.0.0.1:9911/", json=success_body())
    assert build_fetcher(settings)().access_key_id == FAKE_STS_KEY_ID


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "code"),
    [
        pytest.param(
            400,
            {"RequestId": "R", "HostId": "sts.aliyuncs.com", "Code": "InvalidParameter",
             "Message": "The parameter RoleArn is wrong."},
            {}, StsError, "InvalidParameter", id="error-json-400",
        ),
        pytest.param(
            403,
            {"RequestId": "R", "Code": "NoPermission", "Message": "You are not authorized."},
            {}, StsError, "NoPermission", id="error-json-403",
        ),
        pytest.param(
            400,
            {"RequestId": "R", "Code": "Throttling.User",
             "Message": "Request was denied due to user flow control."},
            {"x-acs-retry-after": "9"}, StsThrottled, "Throttling.User", id="throttling",
        ),
        pytest.param(
            500, "<html>oops</html>", {}, StsError, "Unavailable", id="html-500",
        ),
        pytest.param(200, "not json", {}, StsError, "Unavailable", id="malformed-200"),
        pytest.param(
            200, {"RequestId": "R"}, {}, StsError, "MalformedResponse", id="no-credentials",
        ),
        pytest.param(
            200,
            {"RequestId": "R", "Credentials": {"AccessKeyId": "STS.A", "AccessKeySecret": "s",
                                               "SecurityToken": "t", "Expiration": "tomorrow"}},
            {}, StsError, "MalformedResponse", id="bad-expiration",
        ),
    ],
)
def test_sts_failures_are_wrapped_with_their_cause(
    sts: responses.RequestsMock,
    settings: Settings,
    status: int,
    body: object,
    headers: dict[str, str],
    error: type[StsError],
    code: str,
) -> None:
    if isinstance(body, dict):
        sts.add(responses.POST, STS_URL, json=body, status=status, headers=headers)
    else:
        sts.add(responses.POST, STS_URL, body=str(body), status=status, headers=headers)
    with pytest.raises(error) as info:
        build_fetcher(settings)()
    assert info.value.code == code
    assert len(sts.calls) == 1  # the SDK does not retry on its own


def test_timeout_is_wrapped_as_unavailable(
    sts: responses.RequestsMock, settings: Settings
) -> None:
    sts.add(responses.POST, STS_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(StsError) as info:
        build_fetcher(settings)()
    assert info.value.code == "Unavailable"
    assert info.value.__cause__ is not None


def test_throttling_retry_after_reaches_the_503(
    sts: responses.RequestsMock, settings: Settings
) -> None:
    sts.add(
        responses.POST, STS_URL, status=400, headers={"x-acs-retry-after": "9"},
        json={"RequestId": "R", "Code": "Throttling.User", "Message": "flow control"},
    )
    cache = CredentialCache(
        build_fetcher(settings), FakeClock(datetime.now(timezone.utc)),
        refresh_margin=timedelta(minutes=5),
    )
    with pytest.raises(CredentialsUnavailable) as info:
        cache.get()
    assert info.value.headers == {"Retry-After": "9"}


def test_fifty_threads_through_the_real_sdk_make_one_sts_call(
    sts: responses.RequestsMock, settings: Settings
) -> None:
    gate = threading.Event()

    def slow_success(request: object) -> tuple[int, dict[str, str], str]:
        gate.wait(10)
        return 200, {"Content-Type": "application/json"}, json.dumps(success_body())

    sts.add_callback(responses.POST, STS_URL, callback=slow_success)
    cache = CredentialCache(
        build_fetcher(settings), lambda: datetime.now(timezone.utc),
        refresh_margin=timedelta(minutes=5),
    )
    with ThreadPoolExecutor(max_workers=50) as pool:
        futures = [pool.submit(cache.get) for _ in range(50)]
        gate.set()
        keys = {future.result(timeout=60).access_key_id for future in futures}
    assert keys == {FAKE_STS_KEY_ID}
    assert len(sts.calls) == 1


def test_refresh_ahead_then_failure_keeps_serving_through_the_real_sdk(
    sts: responses.RequestsMock, settings: Settings
) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    clock = FakeClock(now)
    first_expiry = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sts.add(responses.POST, STS_URL, json=success_body(first_expiry))
    sts.add(responses.POST, STS_URL, status=503, body="upstream down")
    sts.add(responses.POST, STS_URL, json=success_body(FAR_EXPIRY))
    cache = CredentialCache(build_fetcher(settings), clock, refresh_margin=timedelta(minutes=5))
    first = cache.get()
    clock.advance(56 * 60)  # inside the refresh margin
    assert cache.get() is first  # refresh failed, cached still valid
    assert len(sts.calls) == 2
    clock.advance(5)  # past the failure back-off
    assert cache.get().expiration == datetime(2099, 1, 1, tzinfo=timezone.utc)
    assert len(sts.calls) == 3
