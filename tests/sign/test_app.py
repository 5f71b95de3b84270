"""The WSGI app in process (werkzeug test client): routes, CORS, errors, laziness."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from uploadsign import policy
from uploadsign.errors import SignError, StsError
from uploadsign.factory import build_app
from uploadsign.wsgi import LazyApp, serve
from werkzeug.datastructures import Headers
from werkzeug.test import Client, EnvironBuilder, run_wsgi_app

from .support import BASE_ENV, FIXED_NOW, FakeClock, FakeFetcher

SIGN_ROOT = Path(__file__).resolve().parents[2] / "functions" / "sign"

ORIGIN = "https://app.example.com"
GOOD = {"filename": "cat.png", "size": 1234, "content_type": "image/png"}


def make_client(
    clock: FakeClock, fetcher: FakeFetcher, **env: str
) -> Client:
    app = build_app({**BASE_ENV, **env}, fetcher_factory=lambda s: fetcher, clock=clock)
    return Client(app)


@pytest.fixture
def client(clock: FakeClock, fetcher: FakeFetcher) -> Client:
    return make_client(
        clock, fetcher, UPLOAD_MAX_BYTES="1000000", UPLOAD_ALLOWED_CONTENT_TYPES="image/png",
        UPLOAD_SAMPLE_ROUTE="on",
    )


def error_of(response: Any) -> dict[str, str]:
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    return dict(body["error"])


def test_post_uploads_returns_a_grant_with_cors_for_an_allowed_origin(client: Client) -> None:
    response = client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Cache-Control"] == "no-store"
    grant = response.get_json()
    assert set(grant) == {"mode", "url", "fields", "key", "expires_at", "max_size", "grant_id"}
    assert grant["mode"] == "post"
    assert grant["fields"]["key"] == grant["key"]
    assert policy.decode(grant["fields"]["policy"])["expiration"] == grant["expires_at"]


def test_sample_route_returns_the_sample_fields(client: Client) -> None:
    grant = client.get(
        "/get_post_signature_for_oss_upload", headers={"Origin": ORIGIN}
    ).get_json()
    assert {
        "policy", "x_oss_signature_version", "x_oss_credential", "x_oss_date", "signature",
        "host", "dir", "security_token",
    } <= set(grant)


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_sample_route_does_not_exist_unless_configured(
    clock: FakeClock, fetcher: FakeFetcher, method: str
) -> None:
    response = make_client(clock, fetcher).open(
        "/get_post_signature_for_oss_upload", method=method,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


def test_foreign_origin_gets_no_cors_headers_and_no_anonymous_grant(client: Client) -> None:
    response = client.post("/uploads", json=GOOD, headers={"Origin": "https://evil.example"})
    assert (response.status_code, error_of(response)["code"]) == (403, "origin_not_allowed")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize("path", ["/uploads", "/get_post_signature_for_oss_upload"])
def test_preflight_from_allowed_origin_lists_methods_and_headers(
    client: Client, path: str
) -> None:
    response = client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert "OPTIONS" in response.headers["Access-Control-Allow-Methods"]


def test_preflight_from_foreign_origin_has_no_cors_headers(client: Client) -> None:
    response = client.options("/uploads", headers={"Origin": "https://evil.example"})
    assert not [name for name in response.headers.keys() if name.startswith("Access-Control")]


def test_wildcard_only_when_configured(clock: FakeClock, fetcher: FakeFetcher) -> None:
    client = make_client(clock, fetcher, CORS_ALLOWED_ORIGINS="*")
    response = client.post("/uploads", json=GOOD, headers={"Origin": "https://any.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    none = make_client(clock, fetcher, CORS_ALLOWED_ORIGINS="")
    response = none.post("/uploads", json=GOOD, headers={"Origin": "https://any.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status_code == 403  # anonymous mode: no allowed origin, no grant


BAD_REQUESTS = [
    pytest.param(b"{not json", 400, "malformed_json", id="malformed-json"),
    pytest.param(b"\xff\xfe", 400, "malformed_json", id="not-utf8"),
    pytest.param(b"[1, 2]", 400, "malformed_json", id="json-array"),
    pytest.param(b"", 400, "malformed_json", id="empty-body"),
    pytest.param({"size": 1, "content_type": "image/png"}, 400, "bad_request", id="no-filename"),
    pytest.param({"filename": "a.png"}, 400, "bad_request", id="missing-two"),
    pytest.param({**GOOD, "filename": 7}, 400, "bad_request", id="filename-number"),
    pytest.param({**GOOD, "size": "12"}, 400, "bad_request", id="size-string"),
    pytest.param({**GOOD, "size": 1.5}, 400, "bad_request", id="size-float"),
    pytest.param({**GOOD, "size": True}, 400, "bad_request", id="size-bool"),
    pytest.param({**GOOD, "content_type": None}, 400, "bad_request", id="type-null"),
    pytest.param({**GOOD, "size": 0}, 422, "invalid_size", id="size-zero"),
    pytest.param({**GOOD, "size": -5}, 422, "invalid_size", id="size-negative"),
    pytest.param({**GOOD, "size": 1_000_001}, 413, "too_large", id="size-too-large"),
    pytest.param({**GOOD, "size": 10**30}, 413, "too_large", id="size-absurd"),
    pytest.param({**GOOD, "content_type": "text/html"}, 415, "unsupported_content_type",
                 id="type-not-allowed"),
    pytest.param({**GOOD, "content_type": "image"}, 422, "invalid_field", id="type-malformed"),
    pytest.param({**GOOD, "content_type": "image/" + "p" * 128}, 422, "invalid_field",
                 id="type-subtype-over-127"),
    pytest.param({**GOOD, "filename": "a\x00.png"}, 422, "invalid_filename", id="nul-name"),
    pytest.param({**GOOD, "filename": "x" * 10_000}, 422, "invalid_filename", id="10KB-name"),
    pytest.param({**GOOD, "filename": "../../etc/passwd"}, 422, "invalid_filename",
                 id="traversal"),
    pytest.param({**GOOD, "filename": ""}, 422, "invalid_filename", id="empty-name"),
    # Deep nesting and huge numbers: bounded JSON, never a RecursionError's 500.
    pytest.param(b'{"size": ' + b"[" * 3000 + b"]" * 3000 + b"}", 400, "malformed_json",
                 id="nested-3000-deep"),
    pytest.param(b"[" * 8000, 400, "malformed_json", id="unterminated-8000-deep"),
    pytest.param({**GOOD, "size": 10**400}, 413, "too_large", id="size-10e400"),
    pytest.param({**GOOD, "size": 9007199254740993}, 413, "too_large", id="size-2e53-plus-1"),
    pytest.param(json.dumps(GOOD).replace("1234", "1e400").encode(), 400, "bad_request",
                 id="size-1e400"),
    pytest.param(json.dumps(GOOD).replace("1234", "-0").encode(), 422, "invalid_size",
                 id="size-minus-zero"),
    pytest.param(json.dumps(GOOD).replace("1234", "9" * 5000).encode(), 400, "malformed_json",
                 id="size-5000-digits"),
    pytest.param(json.dumps(GOOD).replace("1234", "NaN").encode(), 400, "malformed_json",
                 id="size-nan"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_REQUESTS)
def test_bad_upload_requests_get_clear_json_errors(
    client: Client, body: object, status: int, code: str
) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post(
        "/uploads", data=data, content_type="application/json", headers={"Origin": ORIGIN}
    )
    assert (response.status_code, error_of(response)["code"]) == (status, code)
    # Errors carry CORS headers too, so the page can read why it failed.
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_oversized_body_is_refused_before_parsing(client: Client) -> None:
    response = client.post(
        "/uploads", data=b"{" + b" " * 20_000 + b"}", headers={"Origin": ORIGIN}
    )
    assert (response.status_code, error_of(response)["code"]) == (413, "too_large")


def _error_classes(root: type[SignError]) -> list[type[SignError]]:
    return [root] + [c for sub in root.__subclasses__() for c in _error_classes(sub)]


def status_line_for(error: SignError) -> str:
    """Return the status line ``wsgi.serve`` answers ``error`` with."""
    def handler(environ: Any, record: Any) -> Any:
        raise error

    lines: list[str] = []

    def start_response(line: str, headers: Any, exc_info: Any = None) -> Any:
        lines.append(line)

    serve(EnvironBuilder().get_environ(), start_response, handler)
    return lines[0]


def test_every_error_status_is_answered_with_its_reason_phrase() -> None:
    from uploadsign import limits, uploadtoken  # noqa: F401 - they define errors of their own

    statuses = {cls.status for cls in _error_classes(SignError)}
    answered = {}
    for status in statuses:
        error = SignError("x")
        error.status = status
        answered[status] = status_line_for(error)
    # RFC 9110 names 413 "Content Too Large"; this function keeps RFC 7231's name.
    phrase = {**{s: HTTPStatus(s).phrase for s in statuses}, 413: "Payload Too Large"}
    assert answered == {status: f"{status} {phrase[status]}" for status in statuses}


def test_unknown_route_is_404(client: Client) -> None:
    response = client.get("/nope")
    assert (response.status_code, error_of(response)["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/uploads", "POST, OPTIONS"),
        ("DELETE", "/uploads", "POST, OPTIONS"),
        ("POST", "/get_post_signature_for_oss_upload", "GET, OPTIONS"),
        ("POST", "/healthz", "GET"),
    ],
)
def test_wrong_method_is_405_with_allow(client: Client, method: str, path: str, allow: str) -> None:
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert error_of(response)["code"] == "method_not_allowed"


def test_healthz_says_configured_without_calling_sts(client: Client, fetcher: FakeFetcher) -> None:
    response = client.get("/healthz")
    assert response.get_json() == {
        "status": "ok",
        "configured": True,
        "bucket": "example-bucket",
        "region": "cn-hangzhou",
        "host": "https://example-bucket.oss-cn-hangzhou.aliyuncs.com",
        "upload_dir": "uploads/",
        "auth_mode": "none",
        "callback": False,
        "max_size": 1000000,
        "allowed_types": ["image/png"],
    }
    assert fetcher.calls == 0


def test_healthz_says_any_type_as_an_empty_list(clock: FakeClock, fetcher: FakeFetcher) -> None:
    health = Client(build_app(BASE_ENV, fetcher_factory=lambda s: fetcher, clock=clock)).get(
        "/healthz"
    ).get_json()
    assert (health["max_size"], health["allowed_types"]) == (10 * 1024 * 1024, [])


def test_healthz_advertises_the_limits_the_page_mirrors(
    clock: FakeClock, fetcher: FakeFetcher
) -> None:
    env = {
        **BASE_ENV,
        "UPLOAD_MAX_BYTES": "2048",
        "UPLOAD_ALLOWED_CONTENT_TYPES": "image/png, image/jpeg",
        "AUTH_MODE": "jwt",
        "AUTH_JWT_SECRET": "FAKE-HS256-SECRET-for-tests-only-0123456789",
    }
    app = build_app(env, fetcher_factory=lambda s: fetcher, clock=clock)
    response = Client(app).get("/healthz", headers={"Origin": ORIGIN})
    health = response.get_json()
    assert (health["max_size"], health["allowed_types"], health["auth_mode"]) == (
        2048, ["image/png", "image/jpeg"], "jwt"
    )
    assert "FAKE-HS256" not in response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN


def test_sts_outage_without_cached_credentials_is_503_with_retry_after(
    client: Client, fetcher: FakeFetcher
) -> None:
    fetcher.failure = StsError("Unavailable", "down")
    response = client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert error_of(response)["code"] == "credentials_unavailable"


def test_outage_after_warm_up_keeps_serving(
    client: Client, fetcher: FakeFetcher, clock: FakeClock
) -> None:
    assert client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN}).status_code == 200
    clock.advance(56 * 60)
    fetcher.failure = StsError("Unavailable", "down")
    assert client.post("/uploads", json=GOOD, headers={"Origin": ORIGIN}).status_code == 200


def test_unexpected_bug_is_a_generic_500_without_details(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Any:
        raise RuntimeError("internal detail that must not leak")

    app = build_app(BASE_ENV, fetcher_factory=lambda s: broken, clock=clock)
    response = Client(app).post("/uploads", json=GOOD, headers={"Origin": ORIGIN})
    assert response.status_code == 500
    assert error_of(response) == {"code": "internal_error", "message": "internal error"}
    assert b"internal detail" not in response.data
    assert "internal detail" in caplog.text  # logged for the operator


def test_lazy_app_reports_every_configuration_problem_and_recovers() -> None:
    env: dict[str, str] = {}
    calls = {"n": 0}

    def factory() -> Any:
        calls["n"] += 1
        return build_app(env, fetcher_factory=lambda s: FakeFetcher(FakeClock(FIXED_NOW)))

    client = Client(LazyApp(factory))
    assert calls["n"] == 0  # nothing is read before the first request
    response = client.get("/healthz")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "misconfigured"
    for name in ("OSS_BUCKET", "OSS_REGION", "OSS_STS_ROLE_ARN"):
        assert name in error["message"]
    env.update(BASE_ENV)
    assert client.get("/healthz").status_code == 200
    client.get("/healthz")
    assert calls["n"] == 2


def test_importing_index_reads_no_environment_and_no_sdk() -> None:
    # A fresh interpreter: this test process has long imported the SDK and the app.
    script = (
        "import sys, index\n"
        "from uploadsign.wsgi import LazyApp\n"
        "assert isinstance(index.app, LazyApp) and index.app._app is None\n"
        "assert callable(index.handler)\n"
        "print(sorted(m for m in sys.modules if m.startswith('alibabacloud')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SIGN_ROOT)}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=SIGN_ROOT,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert out.strip().splitlines()[-1] == "[]"


# --- headers the function reads: control characters are a 400, never a 500 or an echo ------

def send_raw(app: Any, path: str, body: bytes, **environ: str) -> tuple[int, Headers, Any]:
    """POST what client libraries refuse to send (CR, LF, NUL in headers), as FC may pass it."""
    raw = EnvironBuilder(path=path, method="POST", data=body, content_type="application/json",
                         headers=[("Origin", ORIGIN)]).get_environ()
    raw.update(environ)
    answer, status, headers = run_wsgi_app(app, raw, buffered=True)
    return int(status.split(" ", 1)[0]), headers, json.loads(b"".join(answer))


CONTROL_CHARACTERS = [
    pytest.param("\x00", id="nul"),
    pytest.param("\n", id="lf"),
    pytest.param("\r\nSet-Cookie: a=1", id="crlf-injection"),
    pytest.param("\x1b[31m", id="escape"),
    pytest.param("\x7f", id="del"),
    pytest.param("\t", id="tab"),
]
READ_HEADERS = [
    pytest.param("/uploads", "HTTP_AUTHORIZATION", "Bearer abc{c}def", id="uploads-authorization"),
    pytest.param("/uploads", "HTTP_ORIGIN", ORIGIN + "{c}", id="uploads-origin"),
    pytest.param("/uploads", "CONTENT_LENGTH", "{n}{c}", id="uploads-content-length"),
    pytest.param("/callback", "HTTP_AUTHORIZATION", "QQ{c}==", id="callback-authorization"),
    pytest.param("/callback", "HTTP_X_OSS_PUB_KEY_URL", "aHR0cDovL2E{c}=", id="callback-key-url"),
    pytest.param("/callback", "CONTENT_LENGTH", "{n}{c}", id="callback-content-length"),
]


@pytest.mark.parametrize("control", CONTROL_CHARACTERS)
@pytest.mark.parametrize(("path", "key", "template"), READ_HEADERS)
def test_control_characters_in_a_header_the_function_reads_are_400_invalid_header(
    client: Client, path: str, key: str, template: str, control: str
) -> None:
    body = json.dumps(GOOD).encode()
    status, headers, document = send_raw(
        client.application, path, body, **{key: template.format(c=control, n=len(body))}
    )
    assert (status, document["error"]["code"]) == (400, "invalid_header")
    assert control not in document["error"]["message"]
    if key == "HTTP_ORIGIN":
        assert "Access-Control-Allow-Origin" not in headers
    else:
        assert headers["Access-Control-Allow-Origin"] == ORIGIN


@pytest.mark.parametrize("length", ["-1", "+5", "1_0", "\uff15", " 5", "0x10", "5.0", "5 5"])
def test_content_length_must_be_plain_digits(client: Client, length: str) -> None:
    status, _, document = send_raw(client.application, "/uploads", b"{}", CONTENT_LENGTH=length)
    assert (status, document["error"]["code"]) == (400, "invalid_header")


class StalledBody:
    """A request body that never arrives: each read meets the server's deadline."""

    def __init__(self, error: OSError) -> None:
        self.error = error

    def read(self, size: int = -1) -> bytes:
        raise self.error


@pytest.mark.parametrize("error", [TimeoutError("timed out"), ConnectionResetError()],
                         ids=["deadline", "client-gone"])
@pytest.mark.parametrize("path", ["/uploads", "/callback"])
def test_a_body_that_never_arrives_is_408_without_a_traceback(
    client: Client, caplog: pytest.LogCaptureFixture, path: str, error: OSError
) -> None:
    status, _, document = send_raw(client.application, path, b"", CONTENT_LENGTH="100",
                                   **{"wsgi.input": StalledBody(error)})  # type: ignore[arg-type]
    assert (status, document["error"]["code"]) == (408, "request_timeout")
    assert not [r for r in caplog.records if r.exc_info]


def test_absurd_content_length_is_413_without_converting_it(client: Client) -> None:
    status, _, document = send_raw(client.application, "/uploads", b"{}",
                                   CONTENT_LENGTH="9" * 100_000)
    assert (status, document["error"]["code"]) == (413, "too_large")


@pytest.mark.parametrize("control", CONTROL_CHARACTERS)
def test_malformed_origin_gets_no_cors_headers_even_with_a_wildcard(
    clock: FakeClock, fetcher: FakeFetcher, control: str
) -> None:
    app = make_client(clock, fetcher, CORS_ALLOWED_ORIGINS="*").application
    origin = {"HTTP_ORIGIN": ORIGIN + control}
    health, headers, _ = send_raw(app, "/healthz", b"", REQUEST_METHOD="GET", **origin)
    assert health == 200
    assert not [name for name in headers.keys() if name.startswith("Access-Control")]
    preflight = EnvironBuilder(path="/uploads", method="OPTIONS").get_environ()
    _, status, headers = run_wsgi_app(app, {**preflight, **origin}, buffered=True)
    assert status.startswith("204")
    assert not [name for name in headers.keys() if name.startswith("Access-Control")]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        pytest.param("1-6650a1b2-0123456789abcdef", True, id="fc-style"),
        pytest.param("1-abc\n", False, id="trailing-lf"),
        pytest.param("1-abc\x00def", False, id="nul"),
        pytest.param("1-abc\r\n{\"event\":\"forged\"}", False, id="line-injection"),
        pytest.param("x" * 129, False, id="too-long"),
    ],
)
def test_fc_request_id_is_logged_only_when_plausible(
    client: Client, caplog: pytest.LogCaptureFixture, given: str, kept: bool
) -> None:
    caplog.set_level(logging.INFO, logger="uploadsign.access")
    status, _, _ = send_raw(client.application, "/uploads", json.dumps(GOOD).encode(),
                            HTTP_X_FC_REQUEST_ID=given)
    assert status == 200
    [line] = [json.loads(r.getMessage()) for r in caplog.records if r.name == "uploadsign.access"]
    if kept:
        assert line["request_id"] == given
    else:
        assert line["request_id"].startswith("local-")
