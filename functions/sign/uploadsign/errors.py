"""The one error tree of the signing function.

Every error a client can provoke, and every dependency failure, is a subclass of
:class:`SignError` carrying its HTTP status and a stable machine-readable ``code``.
``web`` turns them into JSON in exactly one place. Messages are written for the
client: they never carry secrets, request bodies or SDK internals.

Depends on nothing but the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping


class SignError(Exception):
    """Base of every error the function reports; maps to one HTTP answer."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})


class BadRequest(SignError):
    """The request is syntactically wrong (missing field, wrong JSON type)."""

    status = 400
    code = "bad_request"


class MalformedJson(BadRequest):
    """The body is not a UTF-8 JSON object."""

    code = "malformed_json"


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

    Raised by ``jwks``; ``jwtauth`` turns it into a 401, never shown to clients as is.
    """
