"""Multipart upload: Initiate, UploadPart, UploadPartCopy, Abort, ListParts, ListMultipartUploads.

Owns each operation's request reading, permission rule and XML answer (sources:
``../shared/reference/oss-multipart.md`` §1). Initiate fixes what the object will be
(Content-Type, stored headers, user metadata, ACL, storage class, tags); parts are
spooled and moved into the upload whole, so a part is never seen half written, and an
upload again of the same number replaces it. CompleteMultipartUpload is
:mod:`completeupload`; the on-disk layout is :class:`~localcloud.oss.partstore.UploadStore`.
No socket code.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from localcloud.identity import Principal
from localcloud.oss import access, xmlbody
from localcloud.oss.bodyreaders import LimitedReader
from localcloud.oss.buckets import BucketConfig, BucketRegistry
from localcloud.oss.copyobject import copy_source_of, readable_source, source_conditions_hold
from localcloud.oss.errors import OssError, file_already_exists, invalid_argument, invalid_digest
from localcloud.oss.httpmessages import HEADER_CRC64, Request, Response, require_framed_body
from localcloud.oss.listing import shown, url_encoded
from localcloud.oss.objectapi import (
    DEFAULT_CONTENT_TYPE,
    H_OBJECT_ACL,
    MAX_PUT_SIZE,
    authorize_key,
    check_write_acl,
    parse_range,
    request_metadata,
    spool,
    write_storage_class,
    write_tags,
)
from localcloud.oss.objectnames import check_stored_headers
from localcloud.oss.partstore import PartMeta, UploadRecord, UploadStore, new_upload_id
from localcloud.oss.store import ObjectStore
from localcloud.oss.xmlbody import iso_time

#: ListParts echoes the client-side encryption an upload was initiated with (the
#: official SDK's EncryptionClient reads them back to encrypt further parts): element
#: name → the user metadata Initiate stored it under.
CLIENT_ENCRYPTION_ELEMENTS = (
    ("ClientEncryptionKey", "x-oss-meta-client-side-encryption-key"),
    ("ClientEncryptionStart", "x-oss-meta-client-side-encryption-start"),
    ("ClientEncryptionCekAlg", "x-oss-meta-client-side-encryption-cek-alg"),
    ("ClientEncryptionWrapAlg", "x-oss-meta-client-side-encryption-wrap-alg"),
    ("ClientEncryptionDataSize", "x-oss-meta-client-side-encryption-data-size"),
    ("ClientEncryptionPartSize", "x-oss-meta-client-side-encryption-part-size"),
)
MAX_PART_NUMBER = 10000
PAGE_LIMIT = 1000
H_COPY_SOURCE_RANGE = "x-oss-copy-source-range"


def no_such_upload(upload_id: str) -> OssError:
    """The upload id names no upload in progress for this key (reference §1.7)."""
    return OssError(404, "NoSuchUpload",
                    "The specified upload does not exist. The upload ID may be invalid, or "
                    "the upload may have been aborted or completed.",
                    ec="0017-00000244", extra={"UploadId": upload_id})


def invalid_part_number(value: str) -> OssError:
    """UploadPart's partNumber is not an integer in 1..10000 (EC 0017-00000220)."""
    return invalid_argument("Part number must be an integer between 1 and 10000, inclusive.",
                            ec="0017-00000220", name="PartNumber", value=value)


def encoder(query: Mapping[str, str]) -> tuple[bool, str]:
    """Read ``encoding-type``: (URL-encode names?, the EncodingType element or "")."""
    url = url_encoded(query)
    return url, "<EncodingType>url</EncodingType>" if url else ""


def _page_size(query: Mapping[str, str], name: str) -> int:
    raw = query.get(name, "")
    if not raw:
        return PAGE_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= PAGE_LIMIT:
        raise invalid_argument(f"Argument {name} is invalid.", name=name, value=raw)
    return int(raw)


@dataclass
class MultipartUpload:
    """The multipart operations but Complete, over one object store and upload store."""

    store: ObjectStore
    buckets: BucketRegistry
    uploads: UploadStore

    def upload_of(self, bucket: str, key: str, upload_id: str) -> UploadRecord:
        """Return the upload in progress ``upload_id`` of ``key``, or raise NoSuchUpload."""
        record = self.uploads.get(bucket, upload_id)
        if record is None or record.key != key:
            raise no_such_upload(upload_id)
        return record

    def initiate(self, request: Request, bucket: BucketConfig, key: str,
                 principal: Principal | None) -> Response:
        """Start an upload of ``key``; answer ``InitiateMultipartUploadResult``."""
        authorize_key(principal, "oss:PutObject", bucket, key)
        url, encoding_xml = encoder(request.query)
        check_stored_headers(request)
        acl = request.header(H_OBJECT_ACL) or "default"
        check_write_acl(request, principal, bucket, key, acl)
        storage_class = write_storage_class(request)
        tags = write_tags(request, principal, bucket, key)
        if (request.header("x-oss-forbid-overwrite").lower() == "true"
                and self.store.head(bucket.name, key) is not None):
            raise file_already_exists()
        _, headers, metadata = request_metadata(request, key)
        # No guess from the key here: the official SDK's integration tests read
        # application/octet-stream back from an upload to "….jpg" initiated without one.
        content_type = request.header("content-type") or DEFAULT_CONTENT_TYPE
        record = UploadRecord(
            upload_id=new_upload_id(), key=key, initiated=request.now,
            content_type=content_type, acl=acl, storage_class=storage_class,
            headers=headers, metadata=metadata, tags=tags)
        self.uploads.initiate(bucket.name, record)
        body = (f"{xmlbody.XML_DECLARATION}<InitiateMultipartUploadResult>{encoding_xml}"
                f"<Bucket>{escape(bucket.name)}</Bucket><Key>{shown(key, url)}</Key>"
                f"<UploadId>{record.upload_id}</UploadId></InitiateMultipartUploadResult>")
        return Response(200, dict(xmlbody.XML), body.encode("utf-8"))

    def _part_number(self, request: Request) -> int:
        raw = request.query.get("partNumber", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PART_NUMBER:
            raise invalid_part_number(raw)
        return int(raw)

    def upload_part(self, request: Request, bucket: BucketConfig, key: str,
                    principal: Principal | None) -> Response:
        """Store the body as part ``partNumber`` (replacing an earlier one of that number)."""
        authorize_key(principal, "oss:PutObject", bucket, key)
        require_framed_body(request)
        number = self._part_number(request)
        upload_id = request.query.get("uploadId", "")
        self.upload_of(bucket.name, key, upload_id)
        if request.content_length is not None and request.content_length > MAX_PUT_SIZE:
            raise OssError(400, "EntityTooLarge",
                           "Your proposed upload exceeds the maximum allowed size.")
        path, size, md5, crc = spool(request.body.read, self.store.spool_dir(bucket.name))
        expected = request.header("content-md5")
        if expected and expected != base64.b64encode(md5).decode("ascii"):
            path.unlink(missing_ok=True)
            raise invalid_digest()
        part = PartMeta(number, size, md5.hex().upper(), crc, request.now)
        if not self.uploads.put_part(bucket.name, upload_id, path, part):
            raise no_such_upload(upload_id)
        return Response(200, {"ETag": f'"{part.etag}"', HEADER_CRC64: str(crc),
                              "Content-MD5": base64.b64encode(md5).decode("ascii")})

    def upload_part_copy(self, request: Request, bucket: BucketConfig, key: str,
                         principal: Principal | None) -> Response:
        """Copy (a range of) an object as part ``partNumber``; answer ``CopyPartResult``."""
        source, source_bucket = copy_source_of(request, self.buckets, bucket, key, principal)
        number = self._part_number(request)
        upload_id = request.query.get("uploadId", "")
        self.upload_of(bucket.name, key, upload_id)
        with self.store.open(source.bucket, source.key) as found:
            src, handle = readable_source(found, principal, source, source_bucket)
            if not source_conditions_hold(request, src):
                return Response(304)
            start, length = 0, src.size
            wanted = request.header(H_COPY_SOURCE_RANGE)
            if wanted:
                # UNCONFIRMED how OSS answers a range it cannot satisfy here; the stricter
                # reading refuses it (standard HTTP range behaviour) rather than copy all.
                span = parse_range(wanted, src.size, standard=True)
                if span is None:
                    raise invalid_argument("The x-oss-copy-source-range is invalid.",
                                           name=H_COPY_SOURCE_RANGE, value=wanted)
                start, length = span
            handle.seek(start)
            source_range = LimitedReader(handle, length)  # a file never reads short
            path, size, md5, crc = spool(source_range.read, self.store.spool_dir(bucket.name))
        part = PartMeta(number, size, md5.hex().upper(), crc, request.now)
        if not self.uploads.put_part(bucket.name, upload_id, path, part):
            raise no_such_upload(upload_id)
        body = (f"{xmlbody.XML_DECLARATION}<CopyPartResult>"
                f"<LastModified>{iso_time(part.last_modified)}</LastModified>"
                f'<ETag>"{part.etag}"</ETag></CopyPartResult>')
        return Response(200, {**xmlbody.XML, "ETag": f'"{part.etag}"', HEADER_CRC64: str(crc)},
                        body.encode())

    def abort(self, request: Request, bucket: BucketConfig, key: str,
              principal: Principal | None) -> Response:
        """End an upload and discard its parts."""
        authorize_key(principal, "oss:AbortMultipartUpload", bucket, key)
        upload_id = request.query.get("uploadId", "")
        self.upload_of(bucket.name, key, upload_id)
        with self.uploads.holds(bucket.name, upload_id):  # not while a Complete runs
            if not self.uploads.end(bucket.name, upload_id):
                raise no_such_upload(upload_id)
        return Response(204)

    def list_parts(self, request: Request, bucket: BucketConfig, key: str,
                   principal: Principal | None) -> Response:
        """List an upload's parts by number, a page of at most ``max-parts``."""
        authorize_key(principal, "oss:ListParts", bucket, key)
        query = request.query
        url, encoding_xml = encoder(query)
        upload_id = query.get("uploadId", "")
        record = self.upload_of(bucket.name, key, upload_id)
        max_parts = _page_size(query, "max-parts")
        raw_marker = query.get("part-number-marker", "") or "0"
        if not raw_marker.isdigit():
            raise invalid_argument("Argument part-number-marker is invalid.",
                                   name="part-number-marker", value=raw_marker)
        marker = int(raw_marker)
        after = [p for p in self.uploads.parts(bucket.name, upload_id) if p.number > marker]
        # A Complete or Abort ending the upload meanwhile (record first, then the parts)
        # may have torn that read: the upload is then gone, never listed half.
        self.upload_of(bucket.name, key, upload_id)
        page, truncated = after[:max_parts], len(after) > max_parts
        # NextPartNumberMarker is the last part listed, also on the last page (as the
        # official SDK's integration tests read it).
        next_marker = page[-1].number if page else marker
        parts = [f"{xmlbody.XML_DECLARATION}<ListPartsResult>{encoding_xml}",
                 f"<Bucket>{escape(bucket.name)}</Bucket><Key>{shown(key, url)}</Key>",
                 f"<UploadId>{upload_id}</UploadId>",
                 f"<StorageClass>{escape(record.storage_class)}</StorageClass>",
                 *(f"<{element}>{escape(record.metadata[name])}</{element}>"
                   for element, name in CLIENT_ENCRYPTION_ELEMENTS if name in record.metadata),
                 f"<PartNumberMarker>{marker}</PartNumberMarker>",
                 f"<NextPartNumberMarker>{next_marker}</NextPartNumberMarker>",
                 f"<MaxParts>{max_parts}</MaxParts>",
                 xmlbody.is_truncated(truncated)]
        for part in page:
            parts.append(f"<Part><PartNumber>{part.number}</PartNumber>"
                         f"<LastModified>{iso_time(part.last_modified)}</LastModified>"
                         f'<ETag>"{part.etag}"</ETag><HashCrc64ecma>{part.crc64}'
                         f"</HashCrc64ecma><Size>{part.size}</Size></Part>")
        parts.append("</ListPartsResult>")
        return Response(200, dict(xmlbody.XML), "".join(parts).encode("utf-8"))

    def list_uploads(self, request: Request, bucket: BucketConfig, key: str,
                     principal: Principal | None) -> Response:
        """List uploads in progress by key then upload id: prefix, delimiter, markers."""
        del key
        access.authorize(principal, "oss:ListMultipartUploads", bucket=bucket.name, key="",
                         acl=bucket.acl_in_force)
        query = request.query
        url, encoding_xml = encoder(query)
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        key_marker = query.get("key-marker", "")
        # upload-id-marker counts only with key-marker (ListMultipartUploads reference).
        id_marker = query.get("upload-id-marker", "") if key_marker else ""
        max_uploads = _page_size(query, "max-uploads")
        entries: list[tuple[str, UploadRecord | None]] = []  # (key or prefix, upload)
        truncated = False
        # The last upload covered, one folded into a common prefix included: resuming
        # after it never lists that prefix twice.
        last: UploadRecord | None = None
        for record in self.uploads.list(bucket.name):
            name = record.key
            if not name.startswith(prefix):
                continue
            if key_marker and (name < key_marker or (
                    name == key_marker and (not id_marker or record.upload_id <= id_marker))):
                continue
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            group = name[:cut + len(delimiter)] if cut >= 0 else None
            if group is not None and entries and entries[-1] == (group, None):
                last = record
                continue
            if len(entries) >= max_uploads:
                truncated = True
                break
            entries.append((group, None) if group is not None else (name, record))
            last = record
        parts = [f"{xmlbody.XML_DECLARATION}<ListMultipartUploadsResult>{encoding_xml}",
                 f"<Bucket>{escape(bucket.name)}</Bucket>",
                 f"<KeyMarker>{shown(key_marker, url)}</KeyMarker>",
                 f"<UploadIdMarker>{escape(id_marker)}</UploadIdMarker>",
                 f"<NextKeyMarker>{shown(last.key, url) if last else ''}</NextKeyMarker>",
                 f"<NextUploadIdMarker>{last.upload_id if last else ''}</NextUploadIdMarker>",
                 f"<Delimiter>{shown(delimiter, url)}</Delimiter>",
                 f"<Prefix>{shown(prefix, url)}</Prefix>",
                 f"<MaxUploads>{max_uploads}</MaxUploads>",
                 xmlbody.is_truncated(truncated)]
        for name, upload in entries:
            if upload is None:
                parts.append(f"<CommonPrefixes><Prefix>{shown(name, url)}</Prefix>"
                             "</CommonPrefixes>")
            else:
                parts.append(f"<Upload><Key>{shown(name, url)}</Key>"
                             f"<UploadId>{upload.upload_id}</UploadId>"
                             f"<Initiated>{iso_time(upload.initiated)}</Initiated></Upload>")
        parts.append("</ListMultipartUploadsResult>")
        return Response(200, dict(xmlbody.XML), "".join(parts).encode("utf-8"))
