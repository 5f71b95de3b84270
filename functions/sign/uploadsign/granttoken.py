"""Grant tokens: an HMAC that binds a completion report to the one grant that allowed it.

OSS signs its callbacks with a key shared by every OSS customer, and that signature
covers whatever callback body the *uploader's form* asked for: it proves "OSS sent
this", not "this function granted this object". So every grant carries a token,
``v1.<expiry, Unix seconds>.<Base64url HMAC-SHA256>`` over (grant id, bucket, key,
size, media type, expiry) under a function secret (``GRANT_SECRET``), pinned in the
policy as an ``x:`` variable; ``/callback`` recomputes it from what OSS reports and
refuses any mismatch. Several secrets may be configured: the first signs, every one
verifies, so a secret can be rotated without refusing grants already handed out.

Pure: the secrets and every value are arguments; the clock is the caller's. Depends on
the standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass

VERSION = "v1"
#: RFC 2104 §3: a key shorter than the hash output weakens the MAC.
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class GrantClaims:
    """What a grant allowed: exactly one object, of one size and type, until ``expires``."""

    grant_id: str
    bucket: str
    key: str
    size: int
    media_type: str
    expires: int  # Unix seconds


def _mac(secret: bytes, claims: GrantClaims) -> bytes:
    # A JSON array is unambiguous whatever the values contain (no delimiter games).
    message = json.dumps(
        [VERSION, claims.grant_id, claims.bucket, claims.key, claims.size,
         claims.media_type, claims.expires],
        separators=(",", ":"), ensure_ascii=True,
    )
    return hmac.new(secret, message.encode("ascii"), hashlib.sha256).digest()


def mint(secret: bytes, claims: GrantClaims) -> str:
    """Return the token for ``claims`` under ``secret`` (ASCII, no padding)."""
    mac = base64.urlsafe_b64encode(_mac(secret, claims)).rstrip(b"=").decode("ascii")
    return f"{VERSION}.{claims.expires}.{mac}"


def expiry(token: str) -> int | None:
    """Return the expiry a well-formed token names, or ``None`` if it is malformed."""
    version, _, rest = token.partition(".")
    seconds, _, mac = rest.partition(".")
    if version != VERSION or not seconds.isdigit() or len(seconds) > 12 or not mac:
        return None
    return int(seconds)


def verify(secrets: Sequence[bytes], token: str, claims: GrantClaims) -> bool:
    """Say whether ``token`` was minted for exactly ``claims`` under one of ``secrets``.

    ``claims.expires`` must be the expiry the token names (:func:`expiry`); comparison is
    constant-time per secret.
    """
    if expiry(token) != claims.expires:
        return False
    given = token.encode("ascii", "replace")
    return any(hmac.compare_digest(mint(secret, claims).encode("ascii"), given)
               for secret in secrets)
