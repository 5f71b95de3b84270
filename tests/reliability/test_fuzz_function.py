"""Fuzzing the signing function's request parsing: only documented 4xx, never a 500.

Bodies of ``POST /uploads`` go through the WSGI app (fake credentials injected); whole
FC events go through ``index.handler``, configured from the environment and talking to the
STS stub on loopback. Bounded: a few hundred examples each, no deadline.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from uploadsign.credentials import TemporaryCredentials
from uploadsign.factory import build_app
from uploadsign.web import SignApp

from bench.loopback import ORIGIN, call, function_env, loopback

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
DOCUMENTED = {200, 204, 400, 401, 403, 404, 405, 413, 415, 422, 429}
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def fake_credentials() -> TemporaryCredentials:
    return TemporaryCredentials("STS.FAKE-AK-FUZZ", "fake-fuzz-secret", "fake-fuzz-token",
                                NOW + timedelta(hours=1))


@pytest.fixture(scope="module")
def app() -> SignApp:
    env = function_env("http://127.0.0.1:9", UPLOAD_ALLOWED_CONTENT_TYPES="image/png,text/plain",
                       UPLOAD_MAX_BYTES="1000000")
    return build_app(env, fetcher_factory=lambda s: fake_credentials, clock=lambda: NOW)


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=300))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=6)
documents = st.fixed_dictionaries(
    {},
    optional={
        "filename": st.one_of(values, st.text(max_size=400)),
        "size": st.one_of(values, st.integers(min_value=-5, max_value=2_000_000)),
        "content_type": st.one_of(values, st.sampled_from(["image/png", "text/plain", "x/y"])),
        "extra": values,
    },
)
bodies = st.one_of(
    documents.map(lambda d: json.dumps(d).encode()),
    values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def assert_documented(status: int, body: bytes | str) -> None:
    assert status in DOCUMENTED, body[:300]
    if status >= 400:
        assert json.loads(body)["error"]["code"]


@FUZZ
@given(body=bodies)
def test_any_uploads_body_gets_a_grant_or_a_documented_4xx(app: SignApp, body: bytes) -> None:
    status, _, raw = call(app, "POST", "/uploads", body)
    assert_documented(status, raw)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"]),
       path=st.one_of(st.sampled_from(["/uploads", "/get_post_signature_for_oss_upload",
                                       "/healthz"]), st.text(max_size=40)))
def test_any_method_and_path_gets_a_documented_answer(app: SignApp, method: str, path: str) -> None:
    status, _, raw = call(app, method, path or "/", b"{}")
    assert_documented(status, raw)


@pytest.fixture(scope="module")
def handler() -> Iterator[Any]:
    """``index.handler`` configured through the environment, STS stub on loopback."""
    import app as app_module
    import index

    patch = pytest.MonkeyPatch()
    with loopback() as lb:
        for name, value in function_env(lb.sts_url).items():
            patch.setenv(name, value)
        patch.setattr(app_module.app, "_app", None)  # built on the next request, from this env
        try:
            yield index.handler
        finally:
            patch.undo()


headers = st.dictionaries(st.sampled_from(["content-type", "origin", "host", "content-length",
                                           "x-anything"]),
                          st.one_of(st.text(max_size=40), st.just(ORIGIN)), max_size=4)
events = st.fixed_dictionaries(
    {},
    optional={
        "version": st.one_of(st.just("v1"), values),
        "rawPath": st.one_of(st.sampled_from(["/uploads", "/healthz"]), values),
        "body": st.one_of(bodies.map(lambda b: b.decode("latin-1")), values),
        "isBase64Encoded": st.one_of(st.booleans(), values),
        "headers": st.one_of(headers, values),
        "queryParameters": values,
        "requestContext": values | st.fixed_dictionaries({}, optional={
            "domainName": values,
            "http": values | st.fixed_dictionaries({}, optional={
                "method": st.one_of(st.sampled_from(["GET", "POST", "OPTIONS", "PUT"]), values),
                "path": st.one_of(st.sampled_from(
                    ["/uploads", "/get_post_signature_for_oss_upload", "/healthz", "/nope"]),
                    values),
                "sourceIp": values,
                "protocol": values,
            }),
        }),
    },
)
raw_events = st.one_of(events.map(lambda e: json.dumps(e).encode()), st.binary(max_size=200),
                       values.map(lambda v: json.dumps(v).encode()))


@FUZZ
@given(event=raw_events)
def test_any_fc_event_gets_a_documented_answer(handler: Any, event: bytes) -> None:
    answer = handler(event, None)
    assert_documented(answer["statusCode"], answer["body"])


@pytest.mark.parametrize("context", [1, "x", [1], {"http": 1}, {"http": [1]}],
                         ids=["number", "string", "list", "http-number", "http-list"])
def test_event_with_non_object_request_context_is_a_400(handler: Any, context: object) -> None:
    event = json.dumps({"rawPath": "/healthz", "requestContext": context}).encode()
    answer = handler(event, None)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["code"] == "bad_event"
