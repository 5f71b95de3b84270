"""The one error tree of the signing function.

Every error a client can provoke, and every dependency failure, is a subclass of
:class:`SignError` carrying its HTTP status and a stable machine-readable ``code``.
``wsgi.serve`` turns them into JSON in exactly one place. Messages are written for the
client: they never carry secrets, request bodies or SDK internals.

:func:`load_json` lives here beside :class:`MalformedJson`, the one error it raises: every
JSON a client sends (the ``POST /uploads`` body, the callback body, the FC event) is read
through it, so its bounds hold everywhere.

Depends on nothing but the standard library.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any


class SignError(Exception):
    """Base of every error the function reports; maps to one HTTP answer."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None,
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        #: Extra members of the answer's ``error`` object (e.g. when a quota resets).
        self.details: dict[str, Any] = dict(details or {})


class BadRequest(SignError):
    """The request is syntactically wrong (missing field, wrong JSON type)."""

    status = 400
    code = "bad_request"


class MalformedJson(BadRequest):
    """The body is not a UTF-8 JSON object."""

    code = "malformed_json"


class BadEvent(BadRequest):
    """(FC handler) The event is not a valid FC 3.0 HTTP-trigger event."""

    code = "bad_event"


class InvalidHeader(BadRequest):
    """A header the function reads holds control characters or is otherwise unreadable."""

    code = "invalid_header"


#: Our documents are flat (the FC event is 3 levels deep); deeper is abuse, and the
#: parser's recursion must never reach the interpreter's limit (a ``RecursionError``).
MAX_JSON_DEPTH = 32
#: No number we read has more than 20 digits; the bound keeps ``int()`` linear on every
#: Python (3.10 before 3.10.7 converts long digit strings in quadratic time).
MAX_JSON_NUMBER_CHARS = 1000
_JSON_STRUCTURE = re.compile(r'[\[\]{}"\\]')


class _OutOfBounds(ValueError):
    """A number or constant ``load_json`` refuses; becomes ``MalformedJson``."""


def _bounded_int(text: str) -> int:
    if len(text) > MAX_JSON_NUMBER_CHARS:
        raise _OutOfBounds(f"a number longer than {MAX_JSON_NUMBER_CHARS} characters")
    return int(text)


def _bounded_float(text: str) -> float:
    if len(text) > MAX_JSON_NUMBER_CHARS:
        raise _OutOfBounds(f"a number longer than {MAX_JSON_NUMBER_CHARS} characters")
    return float(text)


def _no_constant(name: str) -> Any:
    raise _OutOfBounds(f"{name}, which JSON does not have")


_JSON_DECODER = json.JSONDecoder(
    parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_no_constant
)


def _deeper_than(text: str, limit: int) -> bool:
    """Say whether arrays and objects in ``text`` nest deeper than ``limit`` (one pass)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # the usual case, at C speed: too few openers to nest that deep
    depth, in_string, escaped_at = 0, False, -1
    for match in _JSON_STRUCTURE.finditer(text):
        at, char = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def load_json(raw: str | bytes, what: str = "body") -> Any:
    """Parse client JSON within bounds; raise ``MalformedJson`` for anything else.

    Bounds: nesting at most ``MAX_JSON_DEPTH``, numbers at most ``MAX_JSON_NUMBER_CHARS``
    characters, no ``NaN``/``Infinity`` (not JSON, though ``json.loads`` takes them).
    Bytes must be UTF-8. ``what`` names the document in the error message.
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"{what} is not UTF-8 text") from exc
    if _deeper_than(text, MAX_JSON_DEPTH):
        raise MalformedJson(f"{what} nests JSON deeper than {MAX_JSON_DEPTH} levels")
    try:
        return _JSON_DECODER.decode(text)
    except _OutOfBounds as exc:
        raise MalformedJson(f"{what} has {exc}") from exc
    except ValueError as exc:
        raise MalformedJson(f"{what} is not valid JSON") from exc


class NotFound(SignError):
    """No route matches the path."""

    status = 404
    code = "not_found"


class MethodNotAllowed(SignError):
    """The route exists but not for this method; ``Allow`` lists the ones it has."""

    status = 405
    code = "method_not_allowed"

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__(
            "method not allowed; use " + ", ".join(allowed),
            headers={"Allow": ", ".join(allowed)},
        )


class RequestTimeout(SignError):
    """The announced body did not arrive in time (the server's read deadline passed)."""

    status = 408
    code = "request_timeout"


class PayloadTooLarge(SignError):
    """The request body, or the announced file size, exceeds the limit."""

    status = 413
    code = "too_large"


class UnsupportedContentType(SignError):
    """The announced content type is not on the allow-list."""

    status = 415
    code = "unsupported_content_type"


class InvalidField(SignError):
    """A well-typed field carries an unacceptable value (size, filename, type syntax)."""

    status = 422
    code = "invalid_field"


class InvalidFilename(InvalidField):
    """The filename is empty, too long, has control characters or path separators."""

    code = "invalid_filename"


class InvalidSize(InvalidField):
    """The size is not a positive integer."""

    code = "invalid_size"


class ConfigurationError(SignError):
    """The function's environment is incomplete or invalid; lists every problem."""

    status = 500
    code = "misconfigured"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("function is misconfigured: " + "; ".join(problems))
        self.problems = list(problems)


class CredentialsUnavailable(SignError):
    """No valid upload credentials: STS failed and nothing usable is cached."""

    status = 503
    code = "credentials_unavailable"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class StsError(Exception):
    """AssumeRole failed; raised by the STS adapter, never shown to clients as is.

    ``code`` is STS's own error code (or ``Network``/``MalformedResponse``); it is safe to
    log: it never contains credentials.
    """

    def __init__(self, code: str, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.retry_after = retry_after


class StsThrottled(StsError):
    """STS refused the call because of flow control."""


class Unauthorized(SignError):
    """No bearer token, or one that does not verify; carries the RFC 6750 challenge."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str, *, challenge: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class Forbidden(SignError):
    """The caller is known but may not do this (anonymous from a foreign origin)."""

    status = 403
    code = "forbidden"


class OriginNotAllowed(Forbidden):
    """Anonymous mode: the request's ``Origin`` is missing or not on the allow-list."""

    code = "origin_not_allowed"


class CallbackRejected(Forbidden):
    """``POST /callback`` without a valid OSS signature (or from a key URL not allowed)."""

    code = "callback_rejected"


class RateLimited(SignError):
    """This caller asked for too many grants on this instance; retry after a while."""

    status = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many upload grants; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class FetchError(Exception):
    """A small HTTP GET (JWKS, callback public key) failed; never shown to clients as is."""


class KeyUnavailable(Exception):
    """No JWKS key for a token (unknown ``kid``, or the JWKS cannot be fetched).

    Raised by ``jwtauth.JwksCache``; ``jwtauth`` turns it into a 401, never shown to clients as is.
    """
