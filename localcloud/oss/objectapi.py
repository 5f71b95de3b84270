"""What the object operations share: key checks, a write's headers, spooling, answers.

Owns the steps every object operation takes alike: refusing a key OSS refuses, reading
what a write's headers say about the object (Content-Type, stored headers, user metadata,
tags, ACL, storage class), spooling a body within the 5 GB limit while hashing it, and
writing an object's headers and bytes (ranges included) into an answer. The basic
operations that use them are :mod:`localcloud.oss.objects`'; copy, append, multipart,
ACL and tagging are their own modules'. ACL/RAM checks go through
:mod:`localcloud.oss.access`, bytes through :class:`ObjectStore`. No socket code.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import BinaryIO

from localcloud.identity import Principal
from localcloud.oss import access
from localcloud.oss.buckets import BucketConfig, refuse_public_acl
from localcloud.oss.crc64 import crc64_update
from localcloud.oss.errors import (
    MSG_TOO_LARGE,
    OssError,
    invalid_argument,
)
from localcloud.oss.httpmessages import HEADER_CRC64, Request
from localcloud.oss.objectnames import check_object_name
from localcloud.oss.store import OBJECT_ACLS, OBJECT_APPENDABLE, ObjectMeta
from localcloud.oss.tagging import H_TAGGING, HEADER_TAGGING_COUNT, tags_from_header

CHUNK = 256 * 1024
MAX_KEY_BYTES = 1023
MAX_PUT_SIZE = 5 * 1024**3
STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding",
                  "content-language", "expires")
DEFAULT_CONTENT_TYPE = "application/octet-stream"
#: Where the next AppendObject must start: an appendable object's size.
HEADER_NEXT_APPEND_POSITION = "x-oss-next-append-position"
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
H_OBJECT_ACL = "x-oss-object-acl"
H_STORAGE_CLASS = "x-oss-storage-class"
#: The storage classes CopyObject documents for ``x-oss-storage-class``.
STORAGE_CLASSES = frozenset({"Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"})


def no_such_key() -> OssError:
    """Return the 404 OSS answers for a missing object."""
    return OssError(404, "NoSuchKey", "The specified key does not exist.", ec="0026-00000001")


def put_too_large() -> OssError:
    """PutObject's refusal past 5 GB (the PostObject text, without its EC)."""
    return OssError(400, "EntityTooLarge", MSG_TOO_LARGE)


def check_key(key: str) -> None:
    """Refuse keys OSS refuses (every object operation calls this; PostObject too, via objectnames).

    Empty, over 1023 bytes, not UTF-8, starting with / or \\, or holding NUL or DEL:
    400 InvalidObjectName (:func:`localcloud.oss.objectnames.check_object_name`).
    """
    check_object_name(key)


def authorize_key(principal: Principal | None, action: str, bucket: BucketConfig,
                  key: str) -> None:
    """Check ``key``, then allow ``action`` on it as the bucket's ACL and the caller's RAM say."""
    check_key(key)
    access.authorize(principal, action, bucket=bucket.name, key=key, acl=bucket.acl_in_force)


def guess_content_type(key: str) -> str:
    """Guess a Content-Type from the key's extension, as OSS does when none is sent."""
    guessed, _ = mimetypes.guess_type(key, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


def etag_header(meta: ObjectMeta) -> str:
    """Return the quoted ETag header value."""
    return f'"{meta.etag}"'


def http_date(moment: datetime) -> str:
    """Format an RFC 7231 date."""
    return format_datetime(moment.astimezone(timezone.utc), usegmt=True)


def request_metadata(request: Request, key: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """Return what a write's headers say about the object: Content-Type (guessed from the
    key when absent), the stored headers (Cache-Control, …) and the user metadata."""
    return (
        request.header("content-type") or guess_content_type(key),
        {canonical_name(n): request.header(n) for n in STORED_HEADERS if request.header(n)},
        {n: v for n, v in request.headers.items() if n.startswith("x-oss-meta-")},
    )


def write_tags(request: Request, principal: Principal | None, bucket: BucketConfig,
               key: str) -> dict[str, str]:
    """Return the tags a write's ``x-oss-tagging`` sets, checked, and the caller allowed.

    Tagging on upload also needs ``oss:PutObjectTagging`` (OSS's object tagging guide).
    """
    if not request.header(H_TAGGING):
        return {}
    tags = tags_from_header(request)
    access.authorize(principal, "oss:PutObjectTagging", bucket=bucket.name, key=key,
                     acl=bucket.acl_in_force)
    return tags


def check_write_acl(request: Request, principal: Principal | None, bucket: BucketConfig,
                    key: str, acl: str) -> None:
    """Refuse the ACL ``acl`` a write sets unless OSS knows it and the caller may set it.

    A public one is refused while the bucket blocks public access; an explicit
    ``x-oss-object-acl`` also needs ``oss:PutObjectAcl``, the stricter reading of
    PostSettings.acl_field_needs_put_object_acl.
    """
    if acl not in OBJECT_ACLS:
        raise invalid_argument("no such object access control exists")
    refuse_public_acl(bucket, acl)
    if request.header(H_OBJECT_ACL):
        access.authorize(principal, "oss:PutObjectAcl", bucket=bucket.name, key=key,
                         acl=bucket.acl_in_force)


def write_storage_class(request: Request) -> str:
    """Return the storage class a write's ``x-oss-storage-class`` asks for (Standard)."""
    storage_class = request.header(H_STORAGE_CLASS) or "Standard"
    if storage_class not in STORAGE_CLASSES:
        raise invalid_argument("no such storage class exists",
                               name=H_STORAGE_CLASS, value=storage_class)
    return storage_class


def spool(read: Callable[[int], bytes], directory: Path, limit: int = MAX_PUT_SIZE,
          ) -> tuple[Path, int, bytes, int]:
    """Copy everything ``read`` yields into a new file of ``directory``.

    Return its path, size, MD5 digest and CRC-64; past ``limit`` bytes the file is removed
    and the write refused (400 EntityTooLarge).
    """
    fd, name = tempfile.mkstemp(dir=directory, prefix="put-")
    path = Path(name)
    md5 = hashlib.md5()  # noqa: S324 - OSS's ETag is MD5 by definition
    crc = 0
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                data = read(CHUNK)
                if not data:
                    break
                size += len(data)
                if size > limit:
                    raise put_too_large()
                md5.update(data)
                crc = crc64_update(crc, data)
                out.write(data)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, size, md5.digest(), crc


def object_headers(meta: ObjectMeta) -> dict[str, str]:
    """Return the headers GetObject/HeadObject send for an object."""
    headers = {
        "Content-Type": meta.content_type,
        "ETag": etag_header(meta),
        "Last-Modified": http_date(meta.last_modified),
        "Accept-Ranges": "bytes",
        "x-oss-object-type": meta.object_type,
        "x-oss-storage-class": meta.storage_class,
        HEADER_CRC64: str(meta.crc64),
    }
    if meta.object_type == OBJECT_APPENDABLE:
        headers[HEADER_NEXT_APPEND_POSITION] = str(meta.size)
    if meta.tags:
        headers[HEADER_TAGGING_COUNT] = str(len(meta.tags))
    for name, value in meta.headers.items():
        headers[name] = value
    for name, value in meta.metadata.items():
        headers[name] = value
    return headers


class FileBody:
    """``length`` bytes of an open file from ``start``, as a response body the shell closes.

    A class, not a generator: the shell closes every body, also one it never iterates
    (a HEAD, a client gone before the first chunk), and closing an unstarted generator
    would leave the file open.
    """

    def __init__(self, handle: BinaryIO, start: int, length: int) -> None:
        self._handle = handle
        self._start = start
        self._length = length

    def __iter__(self) -> Iterator[bytes]:
        self._handle.seek(self._start)
        left = self._length
        while left > 0:
            data = self._handle.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield data

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._handle.close()


def parse_range(value: str, size: int, *, standard: bool) -> tuple[int, int] | None:
    """Parse a single ``bytes=`` range; None means "send the whole object".

    OSS ignores a malformed or unsatisfiable range and sends the whole object, unless
    the caller asks for ``x-oss-range-behavior: standard``, which makes an
    unsatisfiable range a 416 InvalidRange.
    """
    match = _RANGE_RE.match(value.strip()) if value else None
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        count = min(int(last), size)
        return (size - count, count) if count > 0 else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        if standard:
            raise OssError(416, "InvalidRange", "The requested range cannot be satisfied")
        return None
    return start, end - start + 1


def canonical_name(name: str) -> str:
    """Return a header name in its usual capitalization (``cache-control`` → ``Cache-Control``)."""
    return "-".join(part.capitalize() for part in name.split("-"))
