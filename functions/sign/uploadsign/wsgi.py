"""The WSGI shell: the one place an error becomes an answer, and every request is logged.

:func:`serve` runs a request handler and turns its outcome into the answer: a ``SignError``
maps to its status and ``{"error": {"code", "message"}}``; anything else is logged and
answered with a generic 500 that leaks nothing; whatever happens, one ``uploadsign.access``
line is written. Every path ends here: the routes (``routes.SignApp``), a configuration
error at the first request (:class:`LazyApp`) and an FC event the adapter could not read
(``fc`` hands it over as :data:`ADAPTER_ERROR`).

:class:`LazyApp` builds the configured app on its first request, never at import, so
importing the entry module reads no environment and loads no application code.
Depends on the standard library, ``errors``, ``accesslog`` and ``cors`` only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from uploadsign import accesslog, cors
from uploadsign.accesslog import RequestRecord
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
    404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    413: "Payload Too Large", 415: "Unsupported Media Type", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
}

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
        request_id=accesslog.request_id(environ),
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
            error.status, {"error": {"code": error.code, "message": error.message}},
            error.headers,
        )
    except Exception:
        log.exception("unhandled error on %s", record.route)
        record.error = SignError.code
        status, headers, body = json_response(
            500, {"error": {"code": SignError.code, "message": "internal error"}}
        )
    if record.method != "OPTIONS":
        headers = {**headers, **cors.response_headers(environ.get("HTTP_ORIGIN"), allowed_origins)}
    record.status = status
    record.latency_ms = round((monotonic() - started) * 1000.0, 3)
    accesslog.emit(record)
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
