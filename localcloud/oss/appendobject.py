"""AppendObject: ``POST /<key>?append&position=<n>`` writes or extends an Appendable object.

Owns the operation: the first append (position 0, no object yet) creates an Appendable
object with the request's Content-Type, stored headers, metadata, ACL, storage class and
tags; each later one must start exactly at the object's length (409
PositionNotEqualToLength, with ``x-oss-next-append-position`` saying where) and only adds
bytes. A Normal or Multipart object is not appendable (409 ObjectNotAppendable). The new
content is built in a spool file (the old bytes copied, never appended to in place, so a
reader of the old object keeps its view) and committed only if the object is still the
one the position was checked against. The ETag is the MD5 of the whole content
(OSS documents only that it is not to be read as one; UNCONFIRMED how it is made); the
CRC-64 chains from the previous one. No socket code.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path

from localcloud.identity import Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.errors import OssError, invalid_argument, invalid_digest
from localcloud.oss.httpmessages import HEADER_CRC64, Request, Response, require_framed_body
from localcloud.oss.objectapi import (
    H_OBJECT_ACL,
    HEADER_NEXT_APPEND_POSITION,
    MAX_PUT_SIZE,
    authorize_key,
    check_write_acl,
    request_metadata,
    spool,
    write_storage_class,
    write_tags,
)
from localcloud.oss.objectnames import check_stored_headers
from localcloud.oss.store import OBJECT_APPENDABLE, ObjectMeta, ObjectStore


def position_not_equal(length: int) -> OssError:
    """The append does not start at the object's length (AppendObject reference)."""
    return OssError(409, "PositionNotEqualToLength", "Position is not equal to file length",
                    headers={HEADER_NEXT_APPEND_POSITION: str(length)})


def not_appendable() -> OssError:
    """The object exists and was not written by AppendObject (AppendObject reference)."""
    return OssError(409, "ObjectNotAppendable", "The object is not appendable")


@dataclass
class AppendObject:
    """The AppendObject operation over one store."""

    store: ObjectStore

    def __call__(self, request: Request, bucket: BucketConfig, key: str,
                 principal: Principal | None) -> Response:
        """Append the body at ``position``; answer the next position and the CRC-64."""
        authorize_key(principal, "oss:PutObject", bucket, key)
        require_framed_body(request)
        raw = request.query.get("position", "")
        if not raw.isdigit():
            raise invalid_argument("Argument position is invalid.", name="position",
                                   value=raw)
        position = int(raw)
        check_stored_headers(request)
        acl = request.header(H_OBJECT_ACL) or "default"
        check_write_acl(request, principal, bucket, key, acl)
        storage_class = write_storage_class(request)
        tags = write_tags(request, principal, bucket, key)
        spool_dir = self.store.spool_dir(bucket.name)
        with self.store.open(bucket.name, key) as found:
            current = found[0] if found else None
            self._check_position(current, position)
            handle = found[1] if found else None
            body_read = request.body.read
            reading_old = handle is not None

            def read(size: int) -> bytes:
                nonlocal reading_old
                if reading_old and handle is not None:
                    data = handle.read(size)
                    if data:
                        return data
                    reading_old = False
                return body_read(size)

            temp_path, size, md5, crc = spool(read, spool_dir, limit=MAX_PUT_SIZE)
        try:
            self._check_digest(request, temp_path, position)
            if current is None:
                content_type, headers, metadata = request_metadata(request, key)
                meta = ObjectMeta(
                    key=key, size=size, etag=md5.hex().upper(), crc64=crc,
                    content_type=content_type, last_modified=request.now, acl=acl,
                    storage_class=storage_class, headers=headers, metadata=metadata,
                    object_type=OBJECT_APPENDABLE, tags=tags)
            else:
                # Headers of a later append are not applied (only the first one creates).
                meta = ObjectMeta(
                    key=key, size=size, etag=md5.hex().upper(), crc64=crc,
                    content_type=current.content_type, last_modified=request.now,
                    acl=current.acl, storage_class=current.storage_class,
                    headers=current.headers, metadata=current.metadata,
                    object_type=OBJECT_APPENDABLE, tags=current.tags)

            checked = (current.etag, current.size) if current else None

            def unchanged(now: ObjectMeta | None) -> None:
                # A write since the position was checked wins: this append is refused as
                # it would have been had it come after that write.
                if ((now.etag, now.size) if now else None) != checked:
                    self._check_position(now, position)
                    raise position_not_equal(now.size if now else 0)

            self.store.commit(bucket.name, temp_path, meta, forbid_overwrite=False,
                              precondition=unchanged)
        finally:
            temp_path.unlink(missing_ok=True)
        return Response(200, {HEADER_NEXT_APPEND_POSITION: str(size), HEADER_CRC64: str(crc),
                              "ETag": f'"{meta.etag}"'})

    @staticmethod
    def _check_position(current: ObjectMeta | None, position: int) -> None:
        if current is not None and current.object_type != OBJECT_APPENDABLE:
            raise not_appendable()
        length = current.size if current else 0
        if position != length:
            raise position_not_equal(length)

    @staticmethod
    def _check_digest(request: Request, temp_path: Path, position: int) -> None:
        """Check ``Content-MD5`` against the appended bytes (the request body) only."""
        expected = request.header("content-md5")
        if not expected:
            return
        digest = hashlib.md5()  # noqa: S324 - Content-MD5 is MD5 by definition
        with open(temp_path, "rb") as handle:
            handle.seek(position)
            while chunk := handle.read(256 * 1024):
                digest.update(chunk)
        if base64.b64encode(digest.digest()).decode("ascii") != expected:
            raise invalid_digest()
