"""What a verified upload callback means: the ``upload.completed`` event and its answer.

OSS relays the answer's JSON to the browser as the POST's response (§10.4), so the
answer is what the page shows: ``{"ok": true, "bucket", "key", "size", "etag",
"mime_type", "grant_id"}``. It is derived from the callback body alone, so the same
object reported twice gets the same answer (idempotent); a bounded memory of recent
completions only marks the second log line ``duplicate``. Only a completion whose
grant token verifies for what OSS reports is accepted (:func:`bind_to_grant`).

Pure apart from the ``upload.completed`` log line; no I/O; ``now`` is passed in.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from uploadsign import granttoken
from uploadsign.errors import (
    BadRequest,
    CallbackRejected,
    InvalidField,
    MalformedJson,
    load_json,
)

log = logging.getLogger("uploadsign.events")
warnings = logging.getLogger(__name__)

EVENT = "upload.completed"
MAX_REMEMBERED = 4096
MAX_TOKEN_CHARS = 128
#: How long after its grant expired a completion is still accepted: a PostObject is
#: checked when it starts, so a 5 GB upload begun at the last second ends much later.
COMPLETION_GRACE_SECONDS = 24 * 3600
_GRANT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Completion:
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


def parse(body: bytes, *, bucket: str) -> Completion:
    """Read the callback body ``callback.BODY_TEMPLATE`` produced, after OSS filled it."""
    try:
        document = load_json(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedJson("callback body must be a UTF-8 JSON object") from exc
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
    return Completion(
        bucket=text["bucket"],
        key=text["object"],
        size=_size(document.get("size")),
        etag=text["etag"].strip('"'),
        mime_type=text["mimeType"],
        grant_id=grant_id,
        grant_token=grant_token,
    )


def bind_to_grant(done: Completion, secrets: Sequence[bytes], now: datetime) -> None:
    """Refuse a completion that is not of an object this function granted.

    The grant token must verify for exactly what OSS reports (bucket, key, size, type)
    under one of ``secrets``, and the report must come within
    ``COMPLETION_GRACE_SECONDS`` of the grant's expiry (a large upload that started just
    before the expiry may finish long after it). Raises ``CallbackRejected``.
    """
    token = done.grant_token
    if not secrets:
        raise _unbound("no GRANT_SECRET is configured, so no callback can be bound")
    if token is None or done.grant_id is None:
        raise _unbound("callback carries no grant id or grant token")
    expires = granttoken.expiry(token)
    if expires is None:
        raise _unbound("grant token is malformed")
    claims = granttoken.GrantClaims(
        grant_id=done.grant_id,
        bucket=done.bucket,
        key=done.key,
        size=done.size,
        media_type=done.mime_type,
        expires=expires,
    )
    if not granttoken.verify(secrets, token, claims):
        raise _unbound("grant token does not match the reported bucket, key, size or type")
    if now.timestamp() > expires + COMPLETION_GRACE_SECONDS:
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


class CompletionLog:
    """Record ``upload.completed`` once per object and remember recent ones."""

    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self._max = max_remembered
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def record(self, completion: Completion, request_id: str) -> bool:
        """Log the event; return whether this object was already reported."""
        ident = (completion.bucket, completion.key, completion.etag)
        with self._lock:
            duplicate = ident in self._seen
            self._seen[ident] = None
            self._seen.move_to_end(ident)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)
        line = {
            "event": EVENT,
            "request_id": request_id,
            "grant_id": completion.grant_id,
            "bucket": completion.bucket,
            "key": completion.key,
            "size": completion.size,
            "etag": completion.etag,
            "mime_type": completion.mime_type,
            "duplicate": duplicate,
        }
        log.info("%s", json.dumps(line, separators=(",", ":"), ensure_ascii=False))
        return duplicate
