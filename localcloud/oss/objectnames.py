"""What an object name and the header values an object keeps may hold, as OSS decides.

Owns the byte rules of stored values: an object name (UTF-8, 1 to 1023 bytes, no leading
``/`` or ``\\``, no NUL or DEL), a user-metadata name (``x-oss-meta-`` plus letters, digits
and hyphens) and a value an object keeps and sends back as a header (UTF-8 text without
control characters, judged on the bytes received). PutObject, CopyObject, AppendObject,
multipart uploads and PostObject all refuse with these. Pure: no routing, no storage.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from localcloud.oss.errors import (
    invalid_metadata_name,
    invalid_object_name,
    invalid_stored_value,
    object_name_empty,
    object_name_leading_slash,
    object_name_not_utf8,
    object_name_too_long,
)

if TYPE_CHECKING:
    from localcloud.oss.httpmessages import Request

META_PREFIX = "x-oss-meta-"
MAX_KEY_BYTES = 1023
# Request headers whose values an object keeps and sends back on every GET and HEAD.
STORED_REQUEST_HEADERS = (
    "content-type", "cache-control", "content-disposition", "content-encoding",
    "content-language", "expires", "x-oss-storage-class",
)

# EC 0011-00000004: a user-metadata name holds letters, digits and hyphens only (names
# arrive lower-cased: HTTP header names and form field names are case-insensitive).
_META_NAME_RE = re.compile(r"x-oss-meta-[0-9a-z-]+")
# C0 controls and DEL. UNCONFIRMED which of them OSS refuses in a stored value or an
# object name; the stricter reading refuses them all, HTAB included (HTTP would allow a
# tab inside a header value, but nothing a browser upload needs contains one).
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# In an object name OSS accepts the C0 controls U+0001..U+001F: the official Python SDK's
# integration tests store, read and batch-delete a key holding all of them, and the
# ListObjects reference tells clients to ask for encoding-type=url when names hold
# controls XML 1.0 cannot carry. NUL and DEL appear in no such source: refused, the
# stricter reading (UNCONFIRMED).
_NAME_REFUSED_RE = re.compile(r"[\x00\x7f]")


def check_object_name(key: str) -> None:
    """Refuse an object name as OSS does: 400 InvalidObjectName, before anything is stored.

    Documented: UTF-8, 1 to 1023 bytes, not starting with ``/`` or ``\\``. NUL and DEL
    are refused as well (the stricter reading, see ``_NAME_REFUSED_RE``); the other
    control characters are names OSS accepts. A key reaches a response header only
    through :func:`localcloud.oss.httpmessages.header_line`, which refuses anything that
    would split it.
    """
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise object_name_not_utf8() from None
    if not raw:
        raise object_name_empty()
    if len(raw) > MAX_KEY_BYTES:
        raise object_name_too_long()
    if key[0] in "/\\":
        raise object_name_leading_slash()
    if _NAME_REFUSED_RE.search(key):
        raise invalid_object_name()


def check_metadata_name(name: str) -> None:
    """Refuse an ``x-oss-meta-*`` name that is not letters, digits and hyphens."""
    if not _META_NAME_RE.fullmatch(name):
        raise invalid_metadata_name()


def check_stored_value(name: str, value: str) -> None:
    """Refuse a value an object would keep and send back as a header, if it holds a control.

    ``name`` is the header or form field the value came from (lower case).
    """
    if _CONTROL_RE.search(value) or not _is_text(value):
        raise invalid_stored_value(name)


def check_stored_headers(request: Request) -> None:
    """Refuse a write whose stored request headers would not come back byte for byte.

    Every ``x-oss-meta-*`` name and every header an object keeps
    (:data:`STORED_REQUEST_HEADERS`, user metadata) must be UTF-8 without control
    characters; checked on the bytes received, before the body is read.
    """
    for name, value in request.headers.items():
        if name.startswith(META_PREFIX):
            check_metadata_name(name)
        elif name not in STORED_REQUEST_HEADERS:
            continue
        raw = request.raw_headers.get(name)
        if raw is not None:
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise invalid_stored_value(name) from None
        check_stored_value(name, value)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
