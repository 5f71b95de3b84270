"""One JSON access line per request: fields, request ids, callers, grant ids, STS cache state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import index as fc
import jwt
import pytest
from uploadsign.errors import StsError
from uploadsign.factory import build_app
from uploadsign.wsgi import LazyApp
from werkzeug.test import Client

from .support import BASE_ENV, FIXED_NOW, FakeClock, FakeFetcher

ORIGIN = "https://app.example.com"
GOOD = {"filename": "cat.png", "size": 1234, "content_type": "image/png"}
FIELDS = {"event", "request_id", "method", "route", "status", "latency_ms", "caller",
          "grant_id", "sts_cache", "error"}
SECRET = "FAKE-HS256-SECRET-for-log-tests-0123456789"
EVENTS = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture
def client(clock: FakeClock, fetcher: FakeFetcher) -> Client:
    return Client(build_app(BASE_ENV, fetcher_factory=lambda s: fetcher, clock=clock))


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "uploadsign.access"]
    for line in lines:
        assert set(line) == FIELDS
    return lines


def test_every_request_writes_exactly_one_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN})
    client.post("/uploads", data=b"{", headers={"Origin": ORIGIN})
    client.options("/uploads", headers={"Origin": ORIGIN})
    client.get("/healthz")
    client.get("/secret-looking/path")
    lines = access_lines(caplog)
    assert [(x["method"], x["route"], x["status"], x["error"]) for x in lines] == [
        ("POST", "/uploads", 200, None),
        ("POST", "/uploads", 400, "malformed_json"),
        ("OPTIONS", "/uploads", 204, None),
        ("GET", "/healthz", 200, None),
        ("GET", "(unmatched)", 404, "not_found"),
    ]
    assert all(isinstance(x["latency_ms"], float) and x["latency_ms"] >= 0 for x in lines)


def test_an_unreadable_fc_event_and_a_misconfigured_function_write_their_line_too(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    bad_event = fc.handle_event(client.application, b"not json")
    misconfigured = Client(LazyApp(lambda: build_app({}))).get("/healthz")
    assert (bad_event["statusCode"], misconfigured.status_code) == (400, 500)
    assert [(x["route"], x["status"], x["error"]) for x in access_lines(caplog)] == [
        ("(unmatched)", 400, "bad_event"),
        ("(unmatched)", 500, "misconfigured"),
    ]


def test_grant_line_names_the_grant_the_caller_and_the_sts_cache_state(
    client: Client, caplog: pytest.LogCaptureFixture, fetcher: FakeFetcher, clock: FakeClock
) -> None:
    caplog.set_level("INFO")
    environ = {"REMOTE_ADDR": "198.51.100.4"}
    first = client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN}, environ_base=environ)
    client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN}, environ_base=environ)
    clock.advance(56 * 60)  # inside the refresh margin, STS down: cached credentials serve
    fetcher.failure = StsError("Unavailable", "down")
    client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN}, environ_base=environ)
    lines = access_lines(caplog)
    assert [x["sts_cache"] for x in lines] == ["miss", "hit", "stale"]
    assert lines[0]["grant_id"] == first.get_json()["grant_id"]
    assert {x["caller"] for x in lines} == {"ip:198.51.100.4"}


def test_fc_request_id_is_used_and_a_bogus_one_replaced(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    client.get("/healthz", headers={"x-fc-request-id": "1-6632f0a0-FAKE-REQUEST-ID"})
    client.get("/healthz", environ_base={"HTTP_X_FC_REQUEST_ID": "bad id\n{\"forged\":1}"})
    client.get("/healthz")
    ids = [x["request_id"] for x in access_lines(caplog)]
    assert ids[0] == "1-6632f0a0-FAKE-REQUEST-ID"
    assert ids[1].startswith("local-") and ids[2].startswith("local-") and ids[1] != ids[2]


def test_fc_event_logs_the_source_ip_as_the_anonymous_caller(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    event = json.loads((EVENTS / "post_uploads_plain.json").read_text())
    event["headers"]["x-fc-request-id"] = "1-fake-from-event"
    response = fc.handle_event(client.application, event)
    assert response["statusCode"] == 200
    [line] = access_lines(caplog)
    assert (line["caller"], line["request_id"]) == ("ip:203.0.113.7", "1-fake-from-event")


def test_jwt_caller_is_logged_by_subject_never_by_token(
    clock: FakeClock, fetcher: FakeFetcher, caplog: pytest.LogCaptureFixture,
    logged_secrets: set[str],
) -> None:
    caplog.set_level("INFO")
    env = {**BASE_ENV, "AUTH_MODE": "jwt", "AUTH_JWT_SECRET": SECRET}
    client = Client(build_app(env, fetcher_factory=lambda s: fetcher, clock=clock))
    token = jwt.encode({"sub": "alice", "exp": int(FIXED_NOW.timestamp()) + 300}, SECRET)
    logged_secrets.update({SECRET, token, token.split(".")[2]})
    ok = client.post("/uploads", json=GOOD, headers={"Authorization": f"Bearer {token}"})
    client.post("/uploads", json=GOOD, headers={"Authorization": f"Bearer {token}x"})
    logged_secrets.add(ok.get_json()["fields"]["x-oss-signature"])
    lines = access_lines(caplog)
    assert [(x["caller"], x["status"]) for x in lines] == [("sub:alice", 200), (None, 401)]
