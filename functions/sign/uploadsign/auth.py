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

Pure apart from PyJWT: ``now`` is passed in; keys come from an injected ``jwks`` cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import jwt

from uploadsign.errors import OriginNotAllowed, Unauthorized
from uploadsign.jwks import JwksCache, KeyUnavailable

BEARER = "Bearer"
REALM = "oss-direct-upload"
HS_ALGORITHMS = ("HS256",)
JWKS_ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_CHARS = 8192


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


class JwtAuthenticator:
    """``AUTH_MODE=jwt``: ``Authorization: Bearer <JWT>`` verified with PyJWT."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks: JwksCache | None = None,
        issuer: str = "",
        audience: str = "",
        leeway_seconds: int = 30,
    ) -> None:
        if bool(secret) == (jwks is not None):
            raise ValueError("give exactly one of secret and jwks")
        self._secret = secret
        self._jwks = jwks
        self._issuer = issuer
        self._audience = audience
        self._leeway = timedelta(seconds=leeway_seconds)

    def __repr__(self) -> str:
        return f"JwtAuthenticator(issuer={self._issuer!r}, jwks={self._jwks is not None})"

    def authenticate(self, facts: RequestFacts, now: datetime) -> Caller:
        token = _bearer_token(facts.authorization)
        claims = self._verify(token)
        self._check_times(claims, now)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise _invalid("token has no subject")
        return Caller(subject=subject, ip=facts.remote_addr)

    def _verify(self, token: str) -> dict[str, Any]:
        required = ["exp", "sub"] + (["iss"] if self._issuer else []) + (
            ["aud"] if self._audience else []
        )
        options: dict[str, Any] = {
            "require": required,
            # exp/nbf are checked against the injected ``now`` in _check_times.
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": bool(self._audience),
            "verify_iss": bool(self._issuer),
        }
        try:
            if self._jwks is not None:
                kid = jwt.get_unverified_header(token).get("kid")
                if kid is not None and not isinstance(kid, str):
                    raise _invalid("token kid is not a string")
                key: Any = self._jwks.key_for(kid)
                algorithms = list(JWKS_ALGORITHMS)
            else:
                key, algorithms = self._secret, list(HS_ALGORITHMS)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                options=options,  # type: ignore[arg-type]
                audience=self._audience or None,
                issuer=self._issuer or None,
            )
        except KeyUnavailable as exc:
            raise _invalid("token signed with an unknown key") from exc
        except jwt.ImmatureSignatureError as exc:
            raise _invalid("token not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise _invalid("token audience is wrong") from exc
        except jwt.InvalidIssuerError as exc:
            raise _invalid("token issuer is wrong") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise _invalid(f"token lacks the {exc.claim} claim") from exc
        except jwt.PyJWTError as exc:
            raise _invalid("token signature or format is invalid") from exc
        return claims

    def _check_times(self, claims: dict[str, Any], now: datetime) -> None:
        stamp = now.timestamp()
        leeway = self._leeway.total_seconds()
        exp = _number(claims.get("exp"))
        if exp is None:
            raise _invalid("token exp is not a number")
        if stamp >= exp + leeway:
            raise _invalid("token has expired")
        if "nbf" in claims:
            nbf = _number(claims["nbf"])
            if nbf is None:
                raise _invalid("token nbf is not a number")
            if stamp < nbf - leeway:
                raise _invalid("token not valid yet")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _bearer_token(header: str | None) -> str:
    if not header:
        raise Unauthorized("a bearer token is required", challenge=f'{BEARER} realm="{REALM}"')
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != BEARER.lower() or not token:
        raise _invalid("Authorization must be 'Bearer <token>'")
    if len(token) > MAX_TOKEN_CHARS:
        raise _invalid("token is too long")
    return token


def _invalid(reason: str) -> Unauthorized:
    # error_description stays a fixed phrase: never echo the token or a library message.
    return Unauthorized(
        reason,
        challenge=f'{BEARER} realm="{REALM}", error="invalid_token", '
        f'error_description="{reason}"',
    )
