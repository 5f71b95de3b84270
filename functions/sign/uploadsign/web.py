"""The WSGI application: routing, CORS, body limit and JSON error mapping.

Plain stdlib WSGI (no framework at runtime). Errors become JSON in exactly one place,
:meth:`SignApp.__call__`: a ``SignError`` maps to its status and code; anything else
is logged and answered with a generic 500 that leaks nothing. ``LazyApp`` defers
reading the configuration to the first request, never import time.

Depends on the application (``grants``, ``upload_request``) and pure modules; does
not import the SDK.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from uploadsign import cors, upload_request
from uploadsign.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    SignError,
)
from uploadsign.grants import GrantService

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

log = logging.getLogger(__name__)

LEGACY_PATH = "/get_post_signature_for_oss_upload"
UPLOADS_PATH = "/uploads"
HEALTH_PATH = "/healthz"
#: The JSON body of POST /uploads is a few hundred bytes; anything this big is abuse.
MAX_BODY_BYTES = 16 * 1024
JSON_TYPE = "application/json; charset=utf-8"
ROUTES: Mapping[str, tuple[str, ...]] = {
    LEGACY_PATH: ("GET", "OPTIONS"),
    UPLOADS_PATH: ("POST", "OPTIONS"),
    HEALTH_PATH: ("GET",),
}
_REASONS = {
    200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found",
    405: "Method Not Allowed", 413: "Payload Too Large", 415: "Unsupported Media Type",
    422: "Unprocessable Entity", 500: "Internal Server Error", 503: "Service Unavailable",
}

Response = tuple[int, dict[str, str], bytes]


def json_response(
    status: int, payload: object, headers: Mapping[str, str] | None = None
) -> Response:
    """Serialize ``payload`` as a non-cacheable JSON answer."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return status, {"Content-Type": JSON_TYPE, "Cache-Control": "no-store", **(headers or {})}, body


def error_response(error: SignError) -> Response:
    """Render a ``SignError`` as ``{"error": {"code", "message"}}`` with its headers."""
    payload = {"error": {"code": error.code, "message": error.message}}
    return json_response(error.status, payload, error.headers)


def send(response: Response, start_response: StartResponse) -> list[bytes]:
    """Hand a finished response to the WSGI server."""
    status, headers, body = response
    headers = {**headers, "X-Content-Type-Options": "nosniff", "Content-Length": str(len(body))}
    start_response(f"{status} {_REASONS.get(status, 'Status')}", list(headers.items()))
    return [body]


class SignApp:
    """Route requests to the grant service; one instance per configured function."""

    def __init__(
        self,
        service: GrantService,
        clock: Callable[[], datetime],
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.service = service
        self.settings = service.settings
        self._clock = clock
        self._max_body = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        origin = environ.get("HTTP_ORIGIN")
        allowed = self.settings.cors_allowed_origins
        try:
            response = self._dispatch(environ)
        except SignError as error:
            response = error_response(error)
        except Exception:
            log.exception("unhandled error on %s", environ.get("PATH_INFO", "?"))
            response = error_response(SignError("internal error"))
        status, headers, body = response
        if environ.get("REQUEST_METHOD") != "OPTIONS":
            headers = {**headers, **cors.response_headers(origin, allowed)}
        return send((status, headers, body), start_response)

    def _dispatch(self, environ: WSGIEnvironment) -> Response:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        methods = ROUTES.get(path)
        if methods is None:
            raise NotFound(f"no route for {path[:200]}")
        if method not in methods:
            raise MethodNotAllowed(methods)
        if method == "OPTIONS":
            headers = cors.preflight_headers(
                environ.get("HTTP_ORIGIN"), self.settings.cors_allowed_origins, methods
            )
            return 204, {**headers, "Cache-Control": "no-store"}, b""
        if path == HEALTH_PATH:
            return json_response(200, self._health())
        now = self._clock()
        if path == LEGACY_PATH:
            return json_response(200, self.service.prefix_grant(now))
        request = upload_request.parse(
            read_body(environ, self._max_body),
            max_bytes=self.settings.upload_max_bytes,
            allowed_types=self.settings.allowed_content_types,
        )
        return json_response(200, self.service.upload_grant(request, now))

    def _health(self) -> dict[str, object]:
        s = self.settings
        return {
            "status": "ok",
            "configured": True,
            "bucket": s.bucket,
            "region": s.region,
            "host": s.host,
            "upload_dir": s.upload_dir,
        }


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """Read the request body, refusing more than ``limit`` bytes with 413."""
    raw_length = environ.get("CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if raw_length:
        try:
            length = int(raw_length)
        except ValueError as exc:
            raise BadRequest("Content-Length is not a number") from exc
        if length < 0:
            raise BadRequest("Content-Length is negative")
        if length > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        return bytes(stream.read(length)) if length else b""
    if not environ.get("wsgi.input_terminated"):
        return b""  # no length and no end marker: reading could block forever
    body = bytes(stream.read(limit + 1))
    if len(body) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    return body


class LazyApp:
    """Build the real app on the first request, once, under a lock.

    A configuration error is answered as a JSON 500 naming every problem, and the build
    is retried on the next request, so fixing the environment needs no redeploy of code.
    """

    def __init__(self, factory: Callable[[], WSGIApplication]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._app: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self._app
        if app is None:
            try:
                app = self._build()
            except SignError as error:
                log.error("cannot start: %s", error.message)
                return send(error_response(error), start_response)
        return app(environ, start_response)

    def _build(self) -> WSGIApplication:
        with self._lock:
            if self._app is None:
                self._app = self._factory()
            return self._app
