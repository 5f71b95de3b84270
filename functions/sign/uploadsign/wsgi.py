"""The WSGI shell: the one place an error becomes an answer, and every request is logged.

:func:`serve` runs a request handler and turns its outcome into the answer: a ``SignError``
maps to its status and ``{"error": {"code", "message"}}``; anything else is logged and
answered with a generic 500 that leaks nothing; whatever happens, one ``uploadsign.access``
line is written. Every path ends here: the routes (``routes.SignApp``), a configuration
error at the first request (:class:`LazyApp`) and an FC event the adapter could not read
(``index.handler`` hands it over as :data:`ADAPTER_ERROR`).

:class:`LazyApp` builds the configured app on its first request, never at import, so
importing the entry module reads no environment and loads no application code.

The headers every answer carries are decided here too: CORS against the configured
allow-list (:func:`response_headers`, :func:`preflight_headers`), and the access line
(:class:`RequestRecord`, :func:`emit`; :func:`configure_logging` makes INFO lines
visible where no platform handler exists). Depends on the standard library and
``errors`` only.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from uploadsign.errors import SignError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
else:
    StartResponse = WSGIApplication = WSGIEnvironment = Any

log = logging.getLogger("uploadsign.web")

#: Environ key under which a platform adapter hands over the ``SignError`` it raised.
ADAPTER_ERROR = "uploadsign.adapter_error"
JSON_TYPE = "application/json; charset=utf-8"
_REASONS = {
    200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
    413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable",
}

# The access log: one structured JSON line per request, on the ``uploadsign.access``
# logger. Fields: ``event`` (``request``), ``request_id`` (FC's ``x-fc-request-id`` when
# present and plausible, else a fresh one), ``method``, ``route`` (the matched route, never
# the raw path of an unknown URL), ``status``, ``latency_ms``, ``caller``
# (``sub:…``/``ip:…``), ``grant_id``, ``sts_cache`` (``hit``/``miss``/``stale``) and
# ``error`` (the error code). Nothing here ever holds a token, a signature or a
# credential: only these fields are written.
ACCESS_LOGGER = "uploadsign.access"
FC_REQUEST_ID = "HTTP_X_FC_REQUEST_ID"
UNMATCHED_ROUTE = "(unmatched)"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

access_log = logging.getLogger(ACCESS_LOGGER)


@dataclass
class RequestRecord:
    """What the request did, filled in as it goes; written once at the end."""

    request_id: str
    method: str
    route: str = UNMATCHED_ROUTE
    status: int = 0
    latency_ms: float = 0.0
    caller: str | None = None
    grant_id: str | None = None
    sts_cache: str | None = None
    error: str | None = None

    def line(self) -> str:
        """Return the JSON line (compact, stable key order)."""
        return json.dumps({
            "event": "request",
            "request_id": self.request_id,
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "caller": self.caller,
            "grant_id": self.grant_id,
            "sts_cache": self.sts_cache,
            "error": self.error,
        }, separators=(",", ":"), ensure_ascii=True)


def request_id(environ: Mapping[str, Any]) -> str:
    """Use FC's request id when it looks like one; otherwise make one up."""
    given = str(environ.get(FC_REQUEST_ID) or "")
    # fullmatch, not match with $: "$" also matches before a trailing newline.
    return given if _REQUEST_ID_RE.fullmatch(given) else "local-" + os.urandom(8).hex()


def emit(record: RequestRecord) -> None:
    """Write the record's line at INFO."""
    access_log.info(record.line())


# Making INFO lines (access log, ``upload.completed``) reach stdout/stderr: FC's Python
# runtime installs its own root handler; gunicorn and ``python -m`` runs have none, and
# Python then drops INFO records. Called once by the entry point's lazy build, never at
# import and never by ``build_app`` (tests keep their own logging set-up).
PACKAGE_LOGGER = "uploadsign"


def configure_logging(stream: TextIO | None = None) -> None:
    """Send ``uploadsign`` records at INFO and above somewhere visible, once.

    ``stream`` defaults to ``sys.stderr``; the benchmark passes ``/dev/null`` so it pays
    for exactly the production handler and formatter without filling a terminal.
    """
    package = logging.getLogger(PACKAGE_LOGGER)
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)
    if logging.getLogger().handlers or package.handlers:
        return  # the platform (FC) or the host application already writes records
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    package.addHandler(handler)


Response = tuple[int, dict[str, str], bytes]
Handler = Callable[[WSGIEnvironment, RequestRecord], Response]


def json_response(
    status: int, payload: object, headers: Mapping[str, str] | None = None
) -> Response:
    """Serialize ``payload`` as a non-cacheable JSON answer."""
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return status, {"Content-Type": JSON_TYPE, "Cache-Control": "no-store", **(headers or {})}, body


def serve(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    handler: Handler,
    *,
    allowed_origins: Sequence[str] = (),
    monotonic: Callable[[], float] = time.monotonic,
) -> list[bytes]:
    """Answer one request with ``handler``; map its errors; write the access line."""
    started = monotonic()
    record = RequestRecord(
        request_id=request_id(environ),
        method=str(environ.get("REQUEST_METHOD", "GET")).upper()[:16],
    )
    try:
        refused = environ.get(ADAPTER_ERROR)
        if isinstance(refused, SignError):
            raise refused
        status, headers, body = handler(environ, record)
    except SignError as error:
        record.error = error.code
        status, headers, body = json_response(
            error.status,
            {"error": {"code": error.code, "message": error.message, **error.details}},
            error.headers,
        )
    except Exception:
        log.exception("unhandled error on %s", record.route)
        record.error = SignError.code
        status, headers, body = json_response(
            500, {"error": {"code": SignError.code, "message": "internal error"}}
        )
    if record.method != "OPTIONS":
        headers = {**headers, **response_headers(environ.get("HTTP_ORIGIN"), allowed_origins)}
    record.status = status
    record.latency_ms = round((monotonic() - started) * 1000.0, 3)
    emit(record)
    headers = {**headers, "X-Content-Type-Options": "nosniff", "Content-Length": str(len(body))}
    start_response(f"{status} {_REASONS.get(status, 'Status')}", list(headers.items()))
    return [body]


class LazyApp:
    """Build the real app on the first request, once, under a lock.

    A configuration error is answered (through :func:`serve`) as a JSON 500 naming every
    problem, and the build is retried on the next request, so fixing the environment
    needs no redeploy of code.
    """

    def __init__(self, factory: Callable[[], WSGIApplication]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._app: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self._app
        if app is None and ADAPTER_ERROR not in environ:
            try:
                app = self._build()
            except SignError as error:
                log.error("cannot start: %s", error.message)
                return serve(environ, start_response, _raising(error))
        if app is None:
            return serve(environ, start_response, _raising(SignError("no app")))
        return app(environ, start_response)

    def _build(self) -> WSGIApplication:
        with self._lock:
            if self._app is None:
                self._app = self._factory()
            return self._app


def _raising(error: SignError) -> Handler:
    def handler(environ: WSGIEnvironment, record: RequestRecord) -> Response:
        raise error

    return handler


# CORS decisions against the configured allow-list. An origin not on the list gets no
# CORS headers at all (the browser then blocks the page from reading the answer); ``*``
# applies only when configured literally. A malformed ``Origin`` (control characters,
# spaces, non-ASCII) gets none either, whatever the list says.
ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
MAX_AGE = "Access-Control-Max-Age"
EXPOSE_HEADERS = "Access-Control-Expose-Headers"
WILDCARD = "*"
PREFLIGHT_MAX_AGE_SECONDS = 600
#: Request headers the page sends: the JSON body's type and, in jwt mode, the bearer token.
ALLOWED_REQUEST_HEADERS = "Authorization, Content-Type"
#: Response headers the page must be able to read (not CORS-safelisted): when to retry,
#: and why a token was refused.
EXPOSED_RESPONSE_HEADERS = "Retry-After, WWW-Authenticate"
#: A serialized origin (``null`` or ``scheme://host[:port]``) is printable ASCII without spaces.
_SERIALIZED_ORIGIN = re.compile(r"[!-~]+")


def response_headers(origin: str | None, allowed: Sequence[str]) -> dict[str, str]:
    """Return the CORS headers for an actual request from ``origin``."""
    headers: dict[str, str] = {}
    if WILDCARD not in allowed and allowed:
        # The answer depends on Origin: caches must not hand one origin's answer to another.
        headers["Vary"] = "Origin"
    if not origin or not _SERIALIZED_ORIGIN.fullmatch(origin):
        return headers
    if WILDCARD in allowed:
        headers[ALLOW_ORIGIN] = WILDCARD
    elif origin in allowed:
        headers[ALLOW_ORIGIN] = origin
    if ALLOW_ORIGIN in headers:
        headers[EXPOSE_HEADERS] = EXPOSED_RESPONSE_HEADERS
    return headers


def preflight_headers(
    origin: str | None, allowed: Sequence[str], methods: Sequence[str]
) -> dict[str, str]:
    """Return the headers of a preflight answer; no CORS headers for a foreign origin."""
    headers = response_headers(origin, allowed)
    headers.pop(EXPOSE_HEADERS, None)  # meaningless on a preflight
    if ALLOW_ORIGIN in headers:
        headers[ALLOW_METHODS] = ", ".join(methods)
        headers[ALLOW_HEADERS] = ALLOWED_REQUEST_HEADERS
        headers[MAX_AGE] = str(PREFLIGHT_MAX_AGE_SECONDS)
    return headers
