"""CopyObject within the local cloud, and re-committing a stored object with new metadata.

Owns the copy operation: reading ``x-oss-copy-source`` (``/bucket/key``, the key
URL-encoded), the metadata directive, the ``x-oss-copy-source-if-*`` conditions, the RAM
checks (``oss:GetObject`` on the source, ``oss:PutObject`` on the target and
``oss:PutObjectAcl`` when an ACL is set), ``x-oss-forbid-overwrite`` and the
``CopyObjectResult`` answer. Also owns :func:`clone_bytes`, which PutObjectAcl uses too: an
object's bytes are never rewritten in place (every commit renames a new file over the old
name), so a hard link to the open data file is a faithful copy that costs no I/O.
No socket code; bytes go through :class:`ObjectStore`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote
from xml.sax.saxutils import escape

from localcloud.identity import Principal
from localcloud.oss import access, xmlbody
from localcloud.oss.buckets import BucketConfig, BucketRegistry, no_such_bucket
from localcloud.oss.errors import (
    copy_source_too_large,
    invalid_argument,
    invalid_copy_source,
    invalid_metadata_directive,
    not_implemented,
    precondition_failed,
)
from localcloud.oss.httpmessages import HEADER_CRC64, Request, Response
from localcloud.oss.objectapi import (
    CHUNK,
    H_OBJECT_ACL,
    check_key,
    check_write_acl,
    etag_header,
    no_such_key,
    request_metadata,
    write_storage_class,
    write_tags,
)
from localcloud.oss.objectnames import check_stored_headers
from localcloud.oss.operations import H_COPY_SOURCE
from localcloud.oss.store import (
    OBJECT_MULTIPART,
    OBJECT_NORMAL,
    ObjectMeta,
    ObjectStore,
)

H_DIRECTIVE = "x-oss-metadata-directive"
H_TAGGING_DIRECTIVE = "x-oss-tagging-directive"
#: The user metadata the client-side encryption of OSS's SDKs keeps its envelope in.
CLIENT_ENCRYPTION_META = "x-oss-meta-client-side-encryption-"
H_IF_MATCH = "x-oss-copy-source-if-match"
H_IF_NONE_MATCH = "x-oss-copy-source-if-none-match"
H_IF_UNMODIFIED_SINCE = "x-oss-copy-source-if-unmodified-since"
H_IF_MODIFIED_SINCE = "x-oss-copy-source-if-modified-since"

#: The older CopyObject reference limits it to objects under 1 GB; the current one lifts
#: the limit within a bucket. The stricter (older) reading is the default.
DEFAULT_COPY_MAX_BYTES = 1024**3


@dataclass(frozen=True)
class CopySource:
    """The object an ``x-oss-copy-source`` header names."""

    bucket: str
    key: str


def parse_copy_source(value: str) -> CopySource:
    """Read ``/bucket/key`` (key URL-encoded; a leading ``/`` is required, EC 0042-00000301).

    A ``?versionId=`` names a version; versioning is not modelled, so it is a 501.
    """
    path, _, version = value.partition("?")
    if version:
        raise not_implemented()
    bucket, sep, raw_key = path[1:].partition("/")
    if not path.startswith("/") or not sep or not bucket or not raw_key:
        raise invalid_copy_source()
    return CopySource(bucket, unquote(raw_key))


def clone_bytes(store: ObjectStore, handle: BinaryIO, bucket: str) -> Path:
    """Return a new spool file of ``bucket`` holding exactly the bytes of the open ``handle``.

    A hard link when the open file still has its name (checked by inode, so a concurrent
    overwrite of the source is never picked up); otherwise a byte copy from the handle.
    """
    fd, name = tempfile.mkstemp(dir=store.spool_dir(bucket), prefix="copy-")
    os.close(fd)
    path = Path(name)
    source_name = handle.name if isinstance(handle.name, str) else None
    if source_name is not None:
        path.unlink()
        try:
            os.link(source_name, path)
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                return path
            path.unlink()
        except OSError:
            path.unlink(missing_ok=True)
    try:
        handle.seek(0)
        with open(path, "wb") as out:
            shutil.copyfileobj(handle, out, CHUNK)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _etags(value: str) -> set[str]:
    return {part.strip().strip('"') for part in value.split(",") if part.strip()}


def _http_time(value: str) -> datetime | None:
    # An unreadable date is ignored, as HTTP (RFC 9110 §13.1.3) treats a bad condition
    # date; OSS's handling is UNCONFIRMED.
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def copy_source_of(request: Request, buckets: BucketRegistry, bucket: BucketConfig, key: str,
                   principal: Principal | None) -> tuple[CopySource, BucketConfig]:
    """Return the source a copy onto ``bucket/key`` names and its bucket; allow the write.

    Both keys are checked first, then the source bucket must exist (NoSuchBucket), then
    the caller needs ``oss:PutObject`` on the target.
    """
    check_key(key)
    source = parse_copy_source(request.header(H_COPY_SOURCE))
    check_key(source.key)
    source_bucket = buckets.get(source.bucket)
    if source_bucket is None:
        raise no_such_bucket()
    access.authorize(principal, "oss:PutObject", bucket=bucket.name, key=key,
                     acl=bucket.acl_in_force)
    return source, source_bucket


def readable_source(found: tuple[ObjectMeta, BinaryIO] | None, principal: Principal | None,
                    source: CopySource, source_bucket: BucketConfig,
                    ) -> tuple[ObjectMeta, BinaryIO]:
    """Return the opened copy source if the caller may read it; NoSuchKey when missing.

    A missing source is reported only to a caller the source bucket's ACL lets read it.
    """
    if found is None:
        access.authorize(principal, "oss:GetObject", bucket=source.bucket,
                         key=source.key, acl=source_bucket.acl_in_force)
        raise no_such_key()
    access.authorize(principal, "oss:GetObject", bucket=source.bucket, key=source.key,
                     acl=access.effective_acl(found[0].acl, source_bucket))
    return found


def source_conditions_hold(request: Request, meta: ObjectMeta) -> bool:
    """Apply the ``x-oss-copy-source-if-*`` headers: False means 304, a 412 is raised.

    As in HTTP, a matching If-Match overrides If-Unmodified-Since and a failing
    If-None-Match overrides If-Modified-Since.
    """
    modified = meta.last_modified.replace(microsecond=0)
    if_match = request.header(H_IF_MATCH)
    if if_match and meta.etag not in _etags(if_match) and "*" not in _etags(if_match):
        raise precondition_failed()
    unmodified_since = _http_time(request.header(H_IF_UNMODIFIED_SINCE) or "")
    if not if_match and unmodified_since is not None and modified > unmodified_since:
        raise precondition_failed()
    if_none_match = request.header(H_IF_NONE_MATCH)
    if if_none_match and (meta.etag in _etags(if_none_match) or "*" in _etags(if_none_match)):
        return False
    modified_since = _http_time(request.header(H_IF_MODIFIED_SINCE) or "")
    return bool(if_none_match) or modified_since is None or modified > modified_since


def copy_result(meta: ObjectMeta) -> bytes:
    """Render the ``CopyObjectResult`` body."""
    moment = meta.last_modified.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return (f"{xmlbody.XML_DECLARATION}<CopyObjectResult>"
            f"<ETag>{escape(etag_header(meta))}</ETag>"
            f"<LastModified>{moment}</LastModified>"
            "</CopyObjectResult>").encode()


@dataclass
class CopyObject:
    """The CopyObject operation over one store and bucket registry."""

    store: ObjectStore
    buckets: BucketRegistry
    max_bytes: int = DEFAULT_COPY_MAX_BYTES

    def __call__(self, request: Request, bucket: BucketConfig, key: str,
                 principal: Principal | None) -> Response:
        """Copy the source object onto ``bucket/key`` and answer ``CopyObjectResult``."""
        source, source_bucket = copy_source_of(request, self.buckets, bucket, key, principal)
        directive = (request.header(H_DIRECTIVE) or "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            # The case does not count: the official SDK's integration tests send "replace"
            # and OSS copies. Any other value is refused.
            raise invalid_metadata_directive(request.header(H_DIRECTIVE))
        tagging_directive = request.header(H_TAGGING_DIRECTIVE) or "Copy"
        if tagging_directive.lower() not in ("copy", "replace"):
            # Documented as Copy and Replace; the official SDK's integration tests send
            # COPY and REPLACE, so the case does not count. Anything else is refused.
            raise invalid_argument("Unknown tagging directive.", name=H_TAGGING_DIRECTIVE,
                                   value=tagging_directive)
        new_tags = (write_tags(request, principal, bucket, key)
                    if tagging_directive.lower() == "replace" else None)
        acl = request.header(H_OBJECT_ACL) or "default"
        check_write_acl(request, principal, bucket, key, acl)
        storage_class = write_storage_class(request)
        check_stored_headers(request)
        same = (source.bucket, source.key) == (bucket.name, key)
        with self.store.open(source.bucket, source.key) as found:
            src, handle = readable_source(found, principal, source, source_bucket)
            if not source_conditions_hold(request, src):
                return Response(304)
            if src.size > self.max_bytes:
                raise copy_source_too_large()
            temp_path = clone_bytes(self.store, handle, bucket.name)
        # Copying an object onto itself only changes its metadata, and then the request's
        # metadata applies whatever the directive (CopyObject reference).
        if directive == "REPLACE" or same:
            content_type, headers, metadata = request_metadata(request, key)
            # Facts from the official SDK's integration tests (test_client.py, TestCopier):
            # without a Content-Type the copy keeps the source's, and the client-side
            # encryption metadata survives a REPLACE (the bytes stay decryptable).
            content_type = request.header("content-type") or src.content_type
            metadata.update({name: value for name, value in src.metadata.items()
                             if name.startswith(CLIENT_ENCRYPTION_META)})
        else:
            content_type, headers, metadata = src.content_type, dict(src.headers), dict(
                src.metadata)
        meta = ObjectMeta(
            key=key, size=src.size, etag=src.etag, crc64=src.crc64, content_type=content_type,
            last_modified=request.now, acl=acl, storage_class=storage_class, headers=headers,
            metadata=metadata, tags=dict(src.tags) if new_tags is None else new_tags,
            # A copy keeps the source's ETag, so a multipart source's copy stays Multipart;
            # an appendable one's becomes Normal (UNCONFIRMED: OSS does not say whether a
            # copy can be appended to).
            object_type=src.object_type if src.object_type == OBJECT_MULTIPART
            else OBJECT_NORMAL,
        )
        forbid = request.header("x-oss-forbid-overwrite").lower() == "true"
        self.store.commit(bucket.name, temp_path, meta, forbid_overwrite=forbid)
        return Response(200, {**xmlbody.XML, "ETag": etag_header(meta),
                              HEADER_CRC64: str(meta.crc64)}, copy_result(meta))
