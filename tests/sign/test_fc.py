"""The FC 3.0 event ↔ WSGI adapter, driven by the JSON fixtures in tests/events/."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from wsgiref.validate import validator

import index as fc
import pytest
from uploadsign.errors import MAX_JSON_DEPTH
from uploadsign.factory import build_app

from .support import BASE_ENV, FakeClock, FakeFetcher

EVENTS = Path(__file__).resolve().parent.parent / "events"


def load(name: str) -> bytes:
    return (EVENTS / name).read_bytes()  # the runtime hands the event over as bytes


@pytest.fixture
def app(clock: FakeClock, fetcher: FakeFetcher) -> Any:
    env = {**BASE_ENV, "UPLOAD_SAMPLE_ROUTE": "on"}
    return validator(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))


def test_plain_and_base64_bodies_give_the_same_grant_shape(app: Any) -> None:
    plain = fc.handle_event(app, load("post_uploads_plain.json"))
    b64 = fc.handle_event(app, load("post_uploads_base64.json"))
    for response in (plain, b64):
        assert response["statusCode"] == 200
        assert response["isBase64Encoded"] is False
        assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
        grant = json.loads(response["body"])
        assert grant["fields"]["x-oss-meta-original-filename"] == "Holiday%20Photo.PNG"
        assert grant["max_size"] == 2048


def test_environ_from_event_is_complete_and_lower_cases_headers() -> None:
    environ = fc.to_environ(json.loads(load("post_uploads_base64.json")))
    body = environ.pop("wsgi.input").read()
    environ.pop("wsgi.errors")
    assert json.loads(body)["filename"] == "Holiday Photo.PNG"
    assert environ == {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/uploads",
        "QUERY_STRING": "v=2",
        "SERVER_NAME": "sign-fake.cn-hangzhou.fcapp.run",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.7",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json; charset=utf-8",
        "HTTP_ACCEPT": "*/*",
        "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
        "HTTP_HOST": "sign-fake.cn-hangzhou.fcapp.run",
        "HTTP_ORIGIN": "https://app.example.com",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0",
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def test_query_parameters_are_rebuilt_and_sample_route_answers(app: Any) -> None:
    event = json.loads(load("get_signature.json"))
    assert fc.to_environ(event)["QUERY_STRING"] == "dir=ignored&tag=a%2Cb"
    response = fc.handle_event(app, json.dumps(event).encode())
    assert response["statusCode"] == 200
    grant = json.loads(response["body"])
    assert grant["dir"] == f"uploads/{grant['grant_id']}/"


def test_preflight_event_from_an_allowed_origin_gets_the_cors_answer(app: Any) -> None:
    response = fc.handle_event(app, load("options_preflight.json"))
    assert response == {
        "statusCode": 204,
        "isBase64Encoded": False,
        "body": "",
        "headers": {
            "Vary": "Origin",
            "Access-Control-Allow-Origin": "https://app.example.com",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Length": "0",
        },
    }


def test_healthz_event_without_query_parameters(app: Any, fetcher: FakeFetcher) -> None:
    response = fc.handle_event(app, load("get_healthz.json"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["configured"] is True
    assert fetcher.calls == 0


def test_malformed_body_event_is_a_json_400(app: Any) -> None:
    response = fc.handle_event(app, load("post_uploads_malformed.json"))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "malformed_json"


def _event(**members: object) -> bytes:
    return json.dumps({"rawPath": "/healthz", **members}).encode()


def _nested(depth: int) -> object:
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[1]", id="array"),
        pytest.param(b"null", id="null"),
        pytest.param(b"[" * 100_000, id="deeply-nested"),
        pytest.param(_event(body="%%%", isBase64Encoded=True), id="bad-base64"),
        pytest.param(_event(body=5), id="body-number"),
        pytest.param(_event(body=["a"]), id="body-list"),
        pytest.param(_event(body="\ud800"), id="body-lone-surrogate"),
        pytest.param(_event(isBase64Encoded="true"), id="base64-flag-string"),
        pytest.param(_event(isBase64Encoded=1), id="base64-flag-number"),
        pytest.param(_event(requestContext=1), id="context-number"),
        pytest.param(_event(requestContext="x"), id="context-string"),
        pytest.param(_event(requestContext=[1]), id="context-list"),
        pytest.param(_event(requestContext={"http": 1}), id="http-number"),
        pytest.param(_event(requestContext={"http": [1]}), id="http-list"),
        pytest.param(_event(requestContext={"http": {"method": 1}}), id="method-number"),
        pytest.param(_event(requestContext={"http": {"path": {}}}), id="path-object"),
        pytest.param(_event(requestContext={"http": {"sourceIp": 7}}), id="source-ip-number"),
        pytest.param(_event(requestContext={"http": {"protocol": []}}), id="protocol-list"),
        pytest.param(_event(requestContext={"domainName": 3}), id="domain-number"),
        pytest.param(_event(rawPath=["/healthz"]), id="raw-path-list"),
        pytest.param(_event(headers=["host: x"]), id="headers-list"),
        pytest.param(_event(headers="host: x"), id="headers-string"),
        pytest.param(_event(headers={"origin": 1}), id="header-value-number"),
        pytest.param(_event(headers={"origin": None}), id="header-value-null"),
        pytest.param(_event(queryParameters="a=1"), id="query-string"),
        pytest.param(_event(queryParameters=[["a", "1"]]), id="query-list"),
        pytest.param(_event(queryParameters={"a": ["1"]}), id="query-value-list"),
        pytest.param(_event(queryParameters={"a": "\ud800"}), id="query-lone-surrogate"),
        pytest.param(_event(extra=_nested(MAX_JSON_DEPTH)), id="nested-past-the-bound"),
        pytest.param(_event(headers={"origin\r\nx-evil": "1"}), id="header-name-crlf"),
        pytest.param(_event(headers={"x oss": "1"}), id="header-name-space"),
        pytest.param(_event(headers={"": "1"}), id="header-name-empty"),
        pytest.param(_event(headers={"ori\x00gin": "1"}), id="header-name-nul"),
        pytest.param(_event(headers={"örigin": "1"}), id="header-name-non-ascii"),
    ],
)
def test_malformed_events_are_a_json_400_bad_event(app: Any, event: bytes) -> None:
    response = fc.handle_event(app, event)
    assert response["statusCode"] == 400
    assert response["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(response["body"])["error"]["code"] == "bad_event"


@pytest.mark.parametrize(
    "members",
    [
        pytest.param({"requestContext": None, "headers": None, "queryParameters": None,
                      "body": None, "isBase64Encoded": None}, id="nulls"),
        pytest.param({"requestContext": {"http": None}}, id="http-null"),
        pytest.param({"requestContext": {"http": {"method": "", "path": ""}}}, id="empty"),
        pytest.param({}, id="absent"),
    ],
)
def test_absent_or_null_event_members_take_their_defaults(
    app: Any, members: dict[str, object]
) -> None:
    response = fc.handle_event(app, _event(**members))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"


def test_binary_answers_are_base64() -> None:
    def binary_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "image/png"), ("X-A", "1"), ("X-A", "2")])
        return [b"\x89PNG\x00"]

    response = fc.handle_event(validator(binary_app), load("get_healthz.json"))
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == b"\x89PNG\x00"
    assert response["headers"]["X-A"] == "1, 2"


def test_index_handler_serves_an_event_through_the_lazy_app(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import index

    # Misconfigured on purpose (no OSS_* variables in the test process): the handler
    # must still answer a JSON error, not raise.
    for name in BASE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(index.app, "_app", None)
    response = index.handler(load("get_healthz.json"), None)
    assert response["statusCode"] == 500
    assert json.loads(response["body"])["error"]["code"] == "misconfigured"


# --- client input through the FC event: bounded JSON, header controls -----------------------

def with_changes(name: str, body: str | None = None, **headers: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(load(name))
    if body is not None:
        event["body"] = body
    event["headers"] = {**event["headers"], **headers}
    return event


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[" * 3000 + "]" * 3000, id="nested-3000-deep"),
        pytest.param('{"filename": "a.png", "size": ' + "[" * 5000, id="unterminated-5000-deep"),
        pytest.param('{"filename": "a.png", "size": ' + "9" * 5000 + "}", id="size-5000-digits"),
    ],
)
def test_deep_or_huge_bodies_through_the_fc_handler_are_400_malformed_json(
    app: Any, body: str
) -> None:
    response = fc.handle_event(app, json.dumps(with_changes("post_uploads_plain.json", body)))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "malformed_json"


@pytest.mark.parametrize("control", ["\x00", "\n", "\r\nSet-Cookie: a=1", "\x7f"],
                         ids=["nul", "lf", "crlf-injection", "del"])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("Origin", "https://app.example.com{c}", id="origin"),
        pytest.param("Authorization", "Bearer abc{c}", id="authorization"),
    ],
)
def test_control_characters_in_event_headers_are_400_invalid_header(
    app: Any, name: str, value: str, control: str
) -> None:
    event = with_changes("post_uploads_plain.json", **{name: value.format(c=control)})
    response = fc.handle_event(app, json.dumps(event))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_header"
    assert not [v for v in response["headers"].values() if control in v]
