"""The signing function's one entry module: ``index.handler`` (FC 3.0) and ``index.app`` (WSGI).

FC's built-in runtime calls ``index.handler``; gunicorn serves ``index:app``
(``gunicorn.conf.py``). ``app`` reads ``os.environ`` on its first request, never at
import, so importing this module is cheap and side-effect free: the application (and
logging) is imported and set up at that moment, and a misconfigured environment is
answered instead of crashing the import.

``handler`` translates FC 3.0's HTTP-trigger event to WSGI and back
(function-compute-and-deploy.md §2.3): the runtime hands it a JSON document as bytes and
expects ``{statusCode, headers, isBase64Encoded, body}``, so the same WSGI app serves FC,
gunicorn and tests. Known losses, inherent to the event format: repeated query keys and
headers arrive comma-joined, scheme and port are absent (``https``/443 assumed), and the
answer's flat header map cannot carry two headers of one name. The event is client
input: it is read with ``errors.load_json`` (bounded nesting and numbers) and header
names must be HTTP tokens; header values reach the app as they are, and the app checks
the ones it reads.
"""

from __future__ import annotations

import base64
import io
import os
import re
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from uploadsign.errors import BadEvent, MalformedJson, load_json
from uploadsign.wsgi import ADAPTER_ERROR, LazyApp

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment
    from uploadsign.routes import SignApp
else:
    WSGIApplication = WSGIEnvironment = Any

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
#: RFC 9110 ``token``: what a header name is made of (no spaces, controls or non-ASCII).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def load_event(event: bytes | str | Mapping[str, Any]) -> Mapping[str, Any]:
    """Parse the raw event (bytes in the real runtime) into a mapping."""
    if isinstance(event, Mapping):
        return event
    try:
        document = load_json(event, "event")
    except MalformedJson as exc:
        raise BadEvent(exc.message) from exc
    if not isinstance(document, dict):
        raise BadEvent("event is not a JSON object")
    return document


def _object(value: object, where: str) -> Mapping[str, Any]:
    """Return a JSON object, treating an absent or ``null`` member as empty."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise BadEvent(f"event {where} is not a JSON object")
    return value


def _text(value: object, where: str, default: str) -> str:
    """Return a string member, ``default`` when absent, empty or ``null``."""
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise BadEvent(f"event {where} is not a string")
    return value


def _string_map(value: object, where: str) -> dict[str, str]:
    """Return a flat ``string → string`` map (FC joins repeated values with commas)."""
    document = _object(value, where)
    if not all(isinstance(v, str) for v in document.values()):
        raise BadEvent(f"event {where} values are not all strings")
    return {str(k): v for k, v in document.items()}


def event_body(event: Mapping[str, Any]) -> bytes:
    """Return the request body bytes, decoding Base64 when the event says so."""
    body = _text(event.get("body"), "body", "")
    encoded = event.get("isBase64Encoded")
    if encoded is not None and not isinstance(encoded, bool):
        raise BadEvent("event isBase64Encoded is not a boolean")
    if encoded:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as exc:
            raise BadEvent("event body is not valid Base64") from exc
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a \ud800 escape
        raise BadEvent("event body is not valid UTF-8 text") from exc


def to_environ(event: Mapping[str, Any]) -> WSGIEnvironment:
    """Build a PEP 3333 environ from an FC 3.0 HTTP-trigger event.

    Every member is type-checked first: a wrongly shaped event raises ``BadEvent``
    (a 400), never an ``AttributeError`` deep in here.
    """
    context = _object(event.get("requestContext"), "requestContext")
    http = _object(context.get("http"), "requestContext.http")
    method = _text(http.get("method"), "requestContext.http.method", "GET").upper()
    # requestContext.http.path is the decoded path; rawPath is still URL-encoded.
    raw_path = _text(event.get("rawPath"), "rawPath", "/")
    path = _text(http.get("path"), "requestContext.http.path", raw_path)
    headers = {name.lower(): value for name, value in _string_map(
        event.get("headers"), "headers").items()}
    if not all(_HEADER_NAME.fullmatch(name) for name in headers):
        raise BadEvent("event headers have a name that is not an HTTP token")
    try:
        query = urlencode(_string_map(event.get("queryParameters"), "queryParameters"))
    except UnicodeEncodeError as exc:
        raise BadEvent("event queryParameters are not valid UTF-8 text") from exc
    body = event_body(event)
    domain = _text(context.get("domainName"), "requestContext.domainName", "localhost")
    host = headers.get("host") or domain
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": host.split(":")[0],
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": _text(http.get("protocol"), "requestContext.http.protocol",
                                 "HTTP/1.1"),
        "REMOTE_ADDR": _text(http.get("sourceIp"), "requestContext.http.sourceIp", ""),
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if "content-type" in headers:
        environ["CONTENT_TYPE"] = headers["content-type"]
    for name, value in headers.items():
        if name not in ("content-type", "content-length"):
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call_app(
    app: WSGIApplication, environ: WSGIEnvironment
) -> tuple[int, dict[str, str], bytes]:
    """Run the WSGI app once and collect status, folded headers and body."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = status
        captured["headers"] = headers
        return lambda data: None  # the legacy write() callable; this app never uses it

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    folded: dict[str, str] = {}
    for name, value in captured["headers"]:
        folded[name] = f"{folded[name]}, {value}" if name in folded else value
    return int(captured["status"].split(" ", 1)[0]), folded, body


def to_fc_response(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """Build the FC 3.0 response struct; text stays text, anything else is Base64."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    is_text = content_type.startswith(_TEXT_TYPES) or not body
    return {
        "statusCode": status,
        "headers": dict(headers),
        "isBase64Encoded": not is_text,
        "body": body.decode("utf-8") if is_text else base64.b64encode(body).decode("ascii"),
    }


def handle_event(app: WSGIApplication, event: bytes | str | Mapping[str, Any]) -> dict[str, Any]:
    """Serve one FC event with ``app``; a malformed event gets a JSON 400 ``bad_event``."""
    try:
        environ = to_environ(load_event(event))
    except BadEvent as exc:
        # Answered and access-logged where every error is (``wsgi.serve``), through the
        # environ of an empty event (GET /): the event's own method and path are unknown.
        environ = {**to_environ({}), ADAPTER_ERROR: exc}
    return to_fc_response(*call_app(app, environ))


def _build() -> SignApp:
    from uploadsign import wsgi
    from uploadsign.factory import build_app

    wsgi.configure_logging()
    return build_app(os.environ)


app = LazyApp(_build)


def handler(event: bytes | str | dict[str, Any], context: object) -> dict[str, Any]:
    """Answer one HTTP-trigger invocation."""
    return handle_event(app, event)
