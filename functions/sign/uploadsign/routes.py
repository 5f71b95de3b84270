"""The routes of the signing function: routing, CORS preflights, auth, rate limit, body limit.

Plain stdlib WSGI (no framework at runtime). Handlers raise ``SignError``s; they become
answers, and every request its access line, in one place: :func:`uploadsign.wsgi.serve`.

Depends on the application (``grants``, ``multipart``, ``auth``, ``callback``,
``callback_verify``) and pure modules; does not import the SDK. The multipart routes
(``/uploads/{upload_id}...``) are authenticated like ``POST /uploads`` but not rate limited:
a large file needs many part-URL calls, and each is bound to one sealed upload id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from uploadsign import callback
from uploadsign.auth import Authenticator, Caller, RateLimiter, RequestFacts
from uploadsign.callback_verify import CallbackVerifier
from uploadsign.errors import (
    BadRequest,
    InvalidHeader,
    MalformedJson,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    load_json,
)
from uploadsign.grants import Grant, GrantService, parse_upload_request
from uploadsign.multipart import MAX_PARTS_PER_CALL, MultipartService
from uploadsign.uploadtoken import InvalidPartNumbers
from uploadsign.wsgi import RequestRecord, Response, json_response, preflight_headers, serve

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from uploadsign.limits import SharedLimits
else:
    StartResponse = WSGIEnvironment = Any


LEGACY_PATH = "/get_post_signature_for_oss_upload"
UPLOADS_PATH = "/uploads"
HEALTH_PATH = "/healthz"
CALLBACK_PATH = "/callback"
UPLOAD_PATH = "/uploads/{upload_id}"
PARTS_PATH = "/uploads/{upload_id}/parts"
COMPLETE_PATH = "/uploads/{upload_id}/complete"
_MULTIPART_PATH = re.compile(r"^/uploads/([^/]+)(/parts|/complete)?$")
#: The JSON body of POST /uploads is a few hundred bytes; anything this big is abuse.
MAX_BODY_BYTES = 16 * 1024
ROUTES: Mapping[str, tuple[str, ...]] = {
    LEGACY_PATH: ("GET", "OPTIONS"),
    UPLOADS_PATH: ("POST", "OPTIONS"),
    HEALTH_PATH: ("GET",),
    CALLBACK_PATH: ("POST",),
    UPLOAD_PATH: ("GET", "DELETE", "OPTIONS"),
    PARTS_PATH: ("POST", "OPTIONS"),
    COMPLETE_PATH: ("POST", "OPTIONS"),
}
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class SignApp:
    """Route requests to the grant service and the callback; one per configured function."""

    def __init__(
        self,
        service: GrantService,
        clock: Callable[[], datetime],
        *,
        multipart: MultipartService,
        authenticator: Authenticator,
        limiter: RateLimiter,
        verifier: CallbackVerifier,
        callback_log: callback.CallbackLog,
        monotonic: Callable[[], float],
        max_body_bytes: int = MAX_BODY_BYTES,
        shared: SharedLimits | None = None,
    ) -> None:
        self.service = service
        self.multipart = multipart
        self.settings = service.settings
        self._clock = clock
        self._auth = authenticator
        self._limiter = limiter
        self._verifier = verifier
        self._callback_log = callback_log
        self._monotonic = monotonic
        self._max_body = max_body_bytes
        self._shared = shared  # LIMITS_REDIS_URL: rate limit and quota in Redis

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return serve(environ, start_response, self._dispatch,
                     allowed_origins=self.settings.cors_allowed_origins, monotonic=self._monotonic)

    def _dispatch(self, environ: WSGIEnvironment, record: RequestRecord) -> Response:
        path = environ.get("PATH_INFO") or "/"
        method = record.method
        upload_id = None
        if match := _MULTIPART_PATH.match(path):
            upload_id = match.group(1)
            path = {None: UPLOAD_PATH, "/parts": PARTS_PATH}.get(match.group(2), COMPLETE_PATH)
        methods = ROUTES.get(path)
        if path == LEGACY_PATH and not self.settings.sample_route:
            methods = None  # UPLOAD_SAMPLE_ROUTE=off: the route does not exist
        if methods is None:
            raise NotFound(f"no route for {path[:200]}")
        record.route = path
        if method not in methods:
            raise MethodNotAllowed(methods)
        if method == "OPTIONS":
            # Preflights never carry credentials, so they are never authenticated.
            headers = preflight_headers(
                environ.get("HTTP_ORIGIN"), self.settings.cors_allowed_origins, methods
            )
            return 204, {**headers, "Cache-Control": "no-store"}, b""
        if path == HEALTH_PATH:
            return json_response(200, self._health())
        if path == CALLBACK_PATH:
            return self._callback(environ, record)
        if upload_id is not None:
            return self._multipart(environ, path, method, upload_id, record)
        return self._grant(environ, path, record)

    def _grant(self, environ: WSGIEnvironment, path: str, record: RequestRecord) -> Response:
        now = self._clock()
        caller = self._authenticate(environ, now)
        record.caller = caller.identity
        self._limiter.take(caller.identity)
        grant: Grant
        if path == LEGACY_PATH:
            grant = self.service.prefix_grant(now, caller)
            self._admit(caller, grant.grant_id, 0, None)
        else:
            request = parse_upload_request(
                read_body(environ, self._max_body),
                max_bytes=self.settings.upload_max_bytes,
                allowed_types=self.settings.allowed_content_types,
            )
            if request.size > self.settings.multipart_threshold_bytes:
                grant = self.multipart.plan(request, now, caller, lambda grant_id, expires: (
                    self._admit(caller, grant_id, request.size, expires - now)))
            else:
                grant = self.service.upload_grant(request, now, caller)
                # Without a callback nothing tells whether it was used: count it at once.
                hold = (grant.expires_at or now) - now if self.settings.callback_url else None
                self._admit(caller, grant.grant_id, request.size, hold)
        record.grant_id, record.sts_cache = grant.grant_id, grant.sts_cache
        return json_response(200, grant.body)

    def _admit(self, caller: Caller, grant_id: str, size: int, hold: timedelta | None) -> None:
        if self._shared is not None:  # else the per-instance RateLimiter alone
            self._shared.admit(caller.identity, grant_id, size, hold)

    def _multipart(self, environ: WSGIEnvironment, path: str, method: str, upload_id: str,
                   record: RequestRecord) -> Response:
        now = self._clock()
        caller = self._authenticate(environ, now)
        record.caller = caller.identity
        claims = self.multipart.claims(upload_id, now, caller)
        record.grant_id = claims.grant_id
        if path == PARTS_PATH:
            numbers = parse_part_numbers(read_body(environ, self._max_body))
            return json_response(200, self.multipart.sign_parts(claims, numbers, now))
        if path == COMPLETE_PATH:
            read_body(environ, self._max_body)  # optional {}; nothing in it is used
            answer = self.multipart.complete(claims)
            if self._shared is not None:
                self._shared.commit(claims.grant_id)
            return json_response(200, answer)
        if method == "DELETE":
            self.multipart.abort(claims)
            if self._shared is not None:
                self._shared.release(claims.grant_id)
            return 204, {"Cache-Control": "no-store"}, b""
        return json_response(200, self.multipart.status(claims))

    def _authenticate(self, environ: WSGIEnvironment, now: datetime) -> Caller:
        facts = RequestFacts(
            authorization=header(environ, "HTTP_AUTHORIZATION"),
            origin=header(environ, "HTTP_ORIGIN"),
            remote_addr=str(environ.get("REMOTE_ADDR") or ""),
        )
        return self._auth.authenticate(facts, now)

    def _callback(self, environ: WSGIEnvironment, record: RequestRecord) -> Response:
        record.caller = "oss"
        body = read_body(environ, self._max_body)
        self._verifier.verify(
            path=request_path(environ),
            query=str(environ.get("QUERY_STRING") or ""),
            body=body,
            authorization=header(environ, "HTTP_AUTHORIZATION"),
            pub_key_url=header(environ, "HTTP_X_OSS_PUB_KEY_URL"),
        )
        done = callback.parse_body(body, bucket=self.settings.bucket)
        callback.bind_to_grant(done, self.settings.grant_secrets, self._clock())
        record.grant_id = done.grant_id
        if self._shared is not None:  # the quota's reservation becomes usage, once
            self._shared.commit(done.grant_id)
        self._callback_log.record(done, record.request_id)
        return json_response(200, done.answer())

    def _health(self) -> dict[str, object]:
        # The page mirrors max_size and allowed_types (empty = any) in its pre-checks.
        s = self.settings
        return {
            "status": "ok",
            "configured": True,
            "bucket": s.bucket,
            "region": s.region,
            "host": s.host,
            "upload_dir": s.upload_dir,
            "auth_mode": s.auth_mode,
            "callback": bool(s.callback_url),
            "max_size": s.upload_max_bytes,
            "allowed_types": list(s.allowed_content_types),
        }


def parse_part_numbers(body: bytes) -> list[int]:
    """Read ``{"part_numbers": [1, 2, ...]}``: 1..100 distinct integers, in the order given.

    Raises MalformedJson/BadRequest (400) or InvalidPartNumbers (422); the range against
    the plan's ``part_count`` is checked by ``MultipartService.sign_parts``.
    """
    document = load_json(body)
    if not isinstance(document, dict) or "part_numbers" not in document:
        raise MalformedJson('body must be a JSON object {"part_numbers": [...]}')
    numbers = document["part_numbers"]
    if not isinstance(numbers, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) for n in numbers
    ):
        raise BadRequest("part_numbers must be a list of integers")
    if not 1 <= len(numbers) <= MAX_PARTS_PER_CALL or len(set(numbers)) != len(numbers):
        raise InvalidPartNumbers(
            f"part_numbers must hold 1..{MAX_PARTS_PER_CALL} distinct part numbers")
    return numbers


def request_path(environ: WSGIEnvironment) -> str:
    """Return the decoded request path as OSS signed it (``SCRIPT_NAME`` + ``PATH_INFO``).

    PEP 3333 servers hand the path as Latin-1-decoded bytes; FC's adapter hands real text.
    """
    path = str(environ.get("SCRIPT_NAME") or "") + str(environ.get("PATH_INFO") or "/")
    try:
        return path.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return path


def header(environ: WSGIEnvironment, key: str) -> str | None:
    """Return a header the function reads (``None`` if absent); 400 if it holds controls.

    None of them (a bearer token, an origin, Base64, digits) ever contains a control
    character; CR or LF would split a header if a value were ever echoed.
    """
    value = environ.get(key)
    if value is None:
        return None
    text = str(value)
    if _CONTROL_CHARACTERS.search(text):
        name = key.removeprefix("HTTP_").replace("_", "-").title()
        raise InvalidHeader(f"the {name} header contains control characters")
    return text


def _read(stream: Any, size: int) -> bytes:
    try:
        return bytes(stream.read(size))
    except (TimeoutError, ConnectionError) as exc:
        # gunicorn.conf.py's body deadline, or a client gone mid-body: the client's doing.
        raise RequestTimeout("the request body did not arrive in time") from exc


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """Read the request body, refusing more than ``limit`` bytes with 413."""
    raw_length = header(environ, "CONTENT_LENGTH") or ""
    stream = environ["wsgi.input"]
    if raw_length:
        # ASCII digits only: int() would also take "+5", "1_0", " 5" and other scripts' digits.
        if not (raw_length.isascii() and raw_length.isdigit()):
            raise InvalidHeader("the Content-Length header is not a number of bytes")
        digits = raw_length.lstrip("0") or "0"
        # Compared as text first, so a 100,000-digit length never reaches int().
        if len(digits) > len(str(limit)) or int(digits) > limit:
            raise PayloadTooLarge(f"request body exceeds {limit} bytes")
        length = int(digits)
        return _read(stream, length) if length else b""
    if not environ.get("wsgi.input_terminated"):
        return b""  # no length and no end marker: reading could block forever
    body = _read(stream, limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    return body
