"""PostObject, first step: read the multipart form and verify it before storing a byte.

Owns the order of checks (oss-postobject.md §14) and the reading of the body: shape
(``key`` before ``file``, exactly one file, limits), then the fields' decision
(:mod:`plan`: signature, policy, permission) *before* a byte of the file is read, then
streaming the file to a temporary file with ``content-length-range`` and the 5 GB limit
enforced as it arrives, then the parts after ``file`` and ``Content-MD5``. Storing,
forbid-overwrite races, responses and callbacks are :mod:`store`'s. Every configurable
reading of an UNCONFIRMED OSS behaviour lives in :class:`PostSettings`, each with the
stricter default. Must not import the signing function.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from localcloud.oss.callback import CallbackSpec
from localcloud.oss.crc64 import crc64_update
from localcloud.oss.errors import invalid_digest
from localcloud.oss.multipart import MultipartReader, boundary_from_content_type
from localcloud.oss.postobject import errors
from localcloud.oss.postobject.plan import FormHead, FormPlan, PostContext, plan_upload
from localcloud.oss.postobject.settings import PostSettings

__all__ = ["PostContext", "VerifiedUpload", "receive_post"]

FIELD_FILE = "file"
HEADER_CONTENT_MD5 = "content-md5"
EC_FILE_MISSING = "0006-00000104"
# Room for boundaries and part headers when judging a declared Content-Length.
FRAMING_ALLOWANCE = 1024 * 1024


@dataclass(frozen=True)
class VerifiedUpload:
    """Everything the shell needs to store the object and answer."""

    key: str  # after ${filename} expansion
    temp_path: Path  # the file bytes, fully written and fsynced; the shell renames it
    size: int
    md5_hex: str
    crc64: int
    content_type: str
    headers: dict[str, str]  # Cache-Control, Content-Disposition, Content-Encoding, Expires
    metadata: dict[str, str]  # x-oss-meta-* (lower-cased names)
    acl: str | None
    storage_class: str | None
    forbid_overwrite: bool
    success_action_status: str | None
    success_action_redirect: str | None
    callback: CallbackSpec | None
    callback_vars: dict[str, str]  # x:* fields
    access_key_id: str
    filename: str | None = None  # the file part's client-side name

    @property
    def etag(self) -> str:
        """Return the quoted upper-case MD5 ETag of a simple upload."""
        return f'"{self.md5_hex.upper()}"'

    @property
    def content_md5(self) -> str:
        """Return the Base64 MD5 (``Content-MD5`` / ``${contentMd5}``)."""
        return base64.b64encode(bytes.fromhex(self.md5_hex)).decode("ascii")


def _read_value(reader: MultipartReader, limit: int) -> str:
    data = bytearray()
    for chunk in reader.iter_body():
        data += chunk
        if len(data) > limit:
            raise errors.field_value_too_long()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.malformed() from exc


def _read_prefile(
    reader: MultipartReader, settings: PostSettings
) -> tuple[dict[str, str], str | None, str | None]:
    """Read fields up to the file part; return them and the file's name and type."""
    fields: dict[str, str] = {}
    total = 0
    while True:
        part = reader.next_part()
        if part is None:
            raise errors.malformed(ec=EC_FILE_MISSING)
        name = part.name.lower()
        if name == FIELD_FILE:
            return fields, part.filename, part.content_type
        value = _read_value(reader, settings.max_field_value_bytes)
        total += len(part.name.encode("utf-8")) + len(value.encode("utf-8"))
        if total > settings.max_prefile_bytes:
            raise errors.prefile_too_large()
        if name in fields and settings.reject_duplicate_fields:
            raise errors.malformed()
        fields[name] = value


def _spool(reader: MultipartReader, plan: FormPlan, ctx: PostContext) -> tuple[Path, int, str, int]:
    """Write the file part to a temp file, refusing as soon as a size limit is passed."""
    limit = ctx.settings.max_object_bytes
    high = plan.max_size
    handle = tempfile.NamedTemporaryFile(dir=ctx.spool_dir, prefix=".post-", delete=False)
    path = Path(handle.name)
    try:
        size, md5, crc = 0, hashlib.md5(), 0
        with handle:
            for chunk in reader.iter_body():
                size += len(chunk)
                if size > limit:
                    raise errors.entity_too_large(five_gb=True)
                if high is not None and size > high:
                    raise errors.entity_too_large()
                handle.write(chunk)
                md5.update(chunk)
                crc = crc64_update(crc, chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size < plan.min_size:
            raise errors.entity_too_small()
        return path, size, md5.hexdigest(), crc
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _skip_trailing(reader: MultipartReader, settings: PostSettings) -> None:
    """Ignore non-file parts after ``file``; a second file is an error."""
    total = 0
    while (part := reader.next_part()) is not None:
        if part.name.lower() == FIELD_FILE or part.filename is not None:
            raise errors.too_many_files()
        for chunk in reader.iter_body():
            total += len(chunk)
            if total > settings.max_trailing_bytes:
                raise errors.malformed()
    reader.finish()


def _check_digest(reader: MultipartReader, header: str | None) -> None:
    if header is None:
        return
    try:
        expected = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise invalid_digest() from exc
    if expected != reader.body_md5():
        raise invalid_digest()


def receive_post(
    stream: BinaryIO,
    content_type: str | None,
    content_length: int | None,
    request_headers: Mapping[str, str],
    ctx: PostContext,
) -> VerifiedUpload:
    """Stream-parse and verify a PostObject body; raise OssError, leaving no temp file.

    Reads at most ``content_length`` bytes (``None``: until EOF of an already
    de-chunked stream). Signature, policy and permission are decided from the fields
    before ``file``, so a refused form never spools its file.
    """
    boundary = boundary_from_content_type(content_type)
    if content_length is not None and content_length < 0:
        raise errors.malformed()
    settings = ctx.settings
    if content_length is not None and content_length > (
        settings.max_object_bytes + settings.max_prefile_bytes + settings.max_trailing_bytes
        + FRAMING_ALLOWANCE
    ):
        # A body that declares more than any acceptable form can hold is refused
        # before a byte is read ("Post body size must be less than 5G").
        raise errors.entity_too_large(five_gb=True)
    headers = {name.lower(): value for name, value in request_headers.items()}
    content_md5 = headers.get(HEADER_CONTENT_MD5)
    reader = MultipartReader(
        stream, boundary, content_length,
        max_name_bytes=settings.max_field_name_bytes, compute_md5=content_md5 is not None,
    )
    fields, filename, file_type = _read_prefile(reader, settings)
    plan = plan_upload(FormHead(fields, filename, file_type, headers), ctx)
    path, size, md5_hex, crc = _spool(reader, plan, ctx)
    try:
        _skip_trailing(reader, settings)
        _check_digest(reader, content_md5)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return VerifiedUpload(
        key=plan.key, temp_path=path, size=size, md5_hex=md5_hex, crc64=crc,
        content_type=plan.content_type, headers=plan.headers, metadata=plan.metadata,
        acl=plan.acl, storage_class=plan.storage_class, forbid_overwrite=plan.forbid_overwrite,
        success_action_status=fields.get("success_action_status"),
        success_action_redirect=fields.get("success_action_redirect"),
        callback=plan.callback, callback_vars=plan.callback_vars,
        access_key_id=plan.access_key_id, filename=filename,
    )
