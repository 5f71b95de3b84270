"""Who is asking for a grant: anonymous-by-origin (``AUTH_MODE=none``) or a verified JWT.

Owns the decision and its failures: 401 with an RFC 6750 ``WWW-Authenticate`` challenge
for a missing or bad token, 403 for an anonymous request whose ``Origin`` is missing or
not allowed. The token itself never leaves this module: a :class:`Caller` carries the
subject or the client IP, nothing else.

Anonymous mode reads the spec strictly: a grant goes only to a request whose ``Origin``
header is on ``CORS_ALLOWED_ORIGINS`` (``*`` admits any origin, but one must be sent). A
request without ``Origin`` — curl, a server, a same-origin GET — is refused, because
the point of the mode is "only my page may ask". ``Origin`` can be forged outside a
browser; the mode keeps other sites' pages out, not scripts (use ``jwt`` for that).

The token check itself (``AUTH_MODE=jwt``) is :class:`uploadsign.jwtauth.JwtAuthenticator`,
kept in its own module so PyJWT is imported only when that mode is configured.

Pure: ``now`` is passed in; depends on ``errors`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from uploadsign.errors import OriginNotAllowed


@dataclass(frozen=True)
class Caller:
    """The identity a grant is issued to: ``sub`` when verified, else the client IP."""

    subject: str | None
    ip: str

    @property
    def identity(self) -> str:
        """Return the rate-limit and log key: ``sub:<subject>`` or ``ip:<address>``."""
        return f"sub:{self.subject}" if self.subject is not None else f"ip:{self.ip or '-'}"


@dataclass(frozen=True)
class RequestFacts:
    """What authentication looks at; built by the web layer from the environ."""

    authorization: str | None
    origin: str | None
    remote_addr: str


class Authenticator(Protocol):
    """Decide who the caller is, or raise the ``SignError`` the client should see."""

    def authenticate(self, facts: RequestFacts, now: datetime) -> Caller: ...


class OriginAuthenticator:
    """``AUTH_MODE=none``: anonymous callers, admitted by their page's origin."""

    def __init__(self, allowed_origins: Sequence[str]) -> None:
        self._allowed = tuple(allowed_origins)

    def authenticate(self, facts: RequestFacts, now: datetime) -> Caller:
        if not facts.origin:
            raise OriginNotAllowed("anonymous grants need an Origin header from an allowed page")
        if "*" not in self._allowed and facts.origin not in self._allowed:
            raise OriginNotAllowed("this origin may not request upload grants")
        return Caller(subject=None, ip=facts.remote_addr)
