"""Finished HTTP answers: the ``(status, headers, body)`` triple and its JSON forms.

Owns the one JSON error shape ``{"error": {"code", "message"}}`` and the hand-over to a
WSGI server. Kept apart from ``web`` so the lazy entry point can answer a configuration
error without importing the application. Depends on the standard library and
``errors`` only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from uploadsign.errors import SignError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
else:
    StartResponse = Any

JSON_TYPE = "application/json; charset=utf-8"
_REASONS = {
    200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
    415: "Unsupported Media Type", 422: "Unprocessable Entity", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
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
