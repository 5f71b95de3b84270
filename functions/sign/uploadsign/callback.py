"""The upload callback, grant side: the ``callback`` field, the grant token, the callback body.

With ``UPLOAD_CALLBACK_URL`` set, every exact-key grant asks OSS to POST a JSON summary of
the stored object to that URL (oss-postobject.md §10.1). The body names the system
variables (what OSS stored), the grant id, so the callback's log line can be joined to the
grant's, and the grant token, so ``/callback`` can tell an upload of this grant from any
other callback OSS signed. All are pinned in the policy by ``grants``.

Grant tokens: OSS signs its callbacks with a key shared by every OSS customer, over
whatever callback the *uploader's form* asked for: it proves "OSS sent this", not "this
function granted this object". So every grant carries ``v1.<expiry, Unix seconds>.<Base64url
HMAC-SHA256>`` over (grant id, bucket, key, size, media type, expiry) under ``GRANT_SECRET``
(the first signs, every one verifies, so secrets rotate), and ``/callback`` recomputes it
from what OSS reports and refuses any mismatch.

The callback body's answer is what OSS relays to the browser (§10.4): ``{"ok": true,
"bucket", "key", "size", "etag", "mime_type", "grant_id"}``, derived from the body alone
(the same object reported twice gets the same answer); a bounded memory of recent callbacks
only marks the second ``upload.completed`` log line ``duplicate``.

Placeholders are written unquoted (``"size":${size}``) as OSS's samples do: OSS supplies the
JSON quoting; whether ``size`` then arrives as a number or a string is not documented, so
both are accepted. Pure apart from the ``upload.completed`` log line; ``now`` is passed in.
OSS's signature on the callback request is :mod:`uploadsign.callback_verify`'s job.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from uploadsign.errors import (
    BadRequest,
    CallbackRejected,
    InvalidField,
    MalformedJson,
    load_json,
)

CALLBACK = "callback"
GRANT_ID = "x:grant-id"
GRANT_TOKEN = "x:grant-token"
BODY_TYPE_JSON = "application/json"
BODY_TEMPLATE = (
    '{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},'
    '"mimeType":${mimeType},"grant_id":${' + GRANT_ID + '},"grant_token":${'
    + GRANT_TOKEN + "}}"
)


def callback_field(url: str) -> str:
    """Return the Base64 JSON ``callback`` form field that sends the summary to ``url``."""
    document = {
        "callbackUrl": url,
        "callbackBody": BODY_TEMPLATE,
        "callbackBodyType": BODY_TYPE_JSON,
    }
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    return base64.b64encode(text.encode("ascii")).decode("ascii")


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


def mint_token(secret: bytes, claims: GrantClaims) -> str:
    """Return the token for ``claims`` under ``secret`` (ASCII, no padding)."""
    mac = base64.urlsafe_b64encode(_mac(secret, claims)).rstrip(b"=").decode("ascii")
    return f"{VERSION}.{claims.expires}.{mac}"


def token_expiry(token: str) -> int | None:
    """Return the expiry a well-formed token names, or ``None`` if it is malformed."""
    version, _, rest = token.partition(".")
    seconds, _, mac = rest.partition(".")
    if version != VERSION or not seconds.isdigit() or len(seconds) > 12 or not mac:
        return None
    return int(seconds)


def verify_token(secrets: Sequence[bytes], token: str, claims: GrantClaims) -> bool:
    """Say whether ``token`` was minted for exactly ``claims`` under one of ``secrets``.

    ``claims.expires`` must be the expiry the token names (:func:`token_expiry`); comparison is
    constant-time per secret.
    """
    if token_expiry(token) != claims.expires:
        return False
    given = token.encode("ascii", "replace")
    return any(hmac.compare_digest(mint_token(secret, claims).encode("ascii"), given)
               for secret in secrets)


log = logging.getLogger("uploadsign.events")
warnings = logging.getLogger(__name__)

EVENT = "upload.completed"
MAX_REMEMBERED = 4096
MAX_TOKEN_CHARS = 128
#: How long after its grant expired a report is still accepted: a PostObject is
#: checked when it starts, so a 5 GB upload begun at the last second ends much later.
GRANT_GRACE_SECONDS = 24 * 3600
_GRANT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class CallbackBody:
    """One stored object as OSS reported it."""

    bucket: str
    key: str
    size: int
    etag: str
    mime_type: str
    grant_id: str | None
    grant_token: str | None = None

    def answer(self) -> dict[str, Any]:
        """Return the JSON OSS hands back to the browser."""
        return {
            "ok": True,
            "bucket": self.bucket,
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "mime_type": self.mime_type,
            "grant_id": self.grant_id,
        }


def parse_body(body: bytes, *, bucket: str) -> CallbackBody:
    """Read the callback body ``callback.BODY_TEMPLATE`` produced, after OSS filled it."""
    document = load_json(body, "callback body")
    if not isinstance(document, dict):
        raise MalformedJson("callback body must be a JSON object")
    text = {name: _text(document, name) for name in ("bucket", "object", "etag", "mimeType")}
    if text["bucket"] != bucket:
        raise InvalidField("callback is for another bucket")
    if not text["object"]:
        raise InvalidField("callback names no object")
    grant_id = document.get("grant_id")
    if grant_id in ("", None):
        grant_id = None
    elif not isinstance(grant_id, str) or not _GRANT_ID_RE.match(grant_id):
        raise InvalidField("grant_id is malformed")
    grant_token = document.get("grant_token")
    if grant_token in ("", None):
        grant_token = None
    elif not isinstance(grant_token, str) or len(grant_token) > MAX_TOKEN_CHARS:
        raise InvalidField("grant_token is malformed")
    return CallbackBody(
        bucket=text["bucket"],
        key=text["object"],
        size=_size(document.get("size")),
        etag=text["etag"].strip('"'),
        mime_type=text["mimeType"],
        grant_id=grant_id,
        grant_token=grant_token,
    )


def bind_to_grant(done: CallbackBody, secrets: Sequence[bytes], now: datetime) -> None:
    """Refuse a report that is not of an object this function granted.

    The grant token must verify for exactly what OSS reports (bucket, key, size, type)
    under one of ``secrets``, and the report must come within
    ``GRANT_GRACE_SECONDS`` of the grant's expiry (a large upload that started just
    before the expiry may finish long after it). Raises ``CallbackRejected``.
    """
    token = done.grant_token
    if not secrets:
        raise _unbound("no GRANT_SECRET is configured, so no callback can be bound")
    if token is None or done.grant_id is None:
        raise _unbound("callback carries no grant id or grant token")
    expires = token_expiry(token)
    if expires is None:
        raise _unbound("grant token is malformed")
    claims = GrantClaims(
        grant_id=done.grant_id,
        bucket=done.bucket,
        key=done.key,
        size=done.size,
        media_type=done.mime_type,
        expires=expires,
    )
    if not verify_token(secrets, token, claims):
        raise _unbound("grant token does not match the reported bucket, key, size or type")
    if now.timestamp() > expires + GRANT_GRACE_SECONDS:
        raise _unbound("the grant expired too long ago")


def _unbound(reason: str) -> CallbackRejected:
    warnings.warning("callback rejected: %s", reason)
    return CallbackRejected("callback does not match an upload grant of this function")


def _text(document: Mapping[str, Any], name: str) -> str:
    value = document.get(name, "")
    if not isinstance(value, str) or len(value) > 2048:
        raise BadRequest(f"callback field {name} must be a string")
    return value


def _size(value: object) -> int:
    # OSS's JSON typing of ${size} is undocumented: accept 123 and "123".
    if isinstance(value, bool):
        raise BadRequest("callback size must be a number")
    if isinstance(value, str) and value.isdigit() and len(value) < 20:
        return int(value)
    if isinstance(value, int) and value >= 0:
        return value
    raise BadRequest("callback size must be a non-negative integer")


class CallbackLog:
    """Record ``upload.completed`` once per object and remember recent ones."""

    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self._max = max_remembered
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def record(self, report: CallbackBody, request_id: str) -> bool:
        """Log the event; return whether this object was already reported."""
        ident = (report.bucket, report.key, report.etag)
        with self._lock:
            duplicate = ident in self._seen
            self._seen[ident] = None
            self._seen.move_to_end(ident)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
        line = {
            "event": EVENT,
            "request_id": request_id,
            "grant_id": report.grant_id,
            "bucket": report.bucket,
            "key": report.key,
            "size": report.size,
            "etag": report.etag,
            "mime_type": report.mime_type,
            "duplicate": duplicate,
        }
        log.info("%s", json.dumps(line, separators=(",", ":"), ensure_ascii=False))
        return duplicate
