"""CORS decisions against the configured allow-list.

Owns which origins get CORS headers and what a preflight answers. An origin not on
the list gets no CORS headers at all (the browser then blocks the page from reading
the answer); ``*`` applies only when configured literally. A malformed ``Origin`` (control
characters, spaces, non-ASCII) gets none either, whatever the list says. Pure: strings
in, header dicts out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

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
