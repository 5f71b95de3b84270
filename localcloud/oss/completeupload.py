"""CompleteMultipartUpload: the listed parts become the object, atomically.

Owns reading the request (the ``CompleteMultipartUpload`` body, or
``x-oss-complete-all: yes`` with none), the checks OSS makes on the list (ascending part
numbers in 1..10000, every part present with the ETag UploadPart returned, every part but
the last at least 100 KB; reference §1.7), the object's ETag (``"<MD5 of the parts'
hex ETags>-<count>"``, reference §2) and CRC-64 (of the joined bytes, which is what
combining the part CRCs gives), and the ``CompleteMultipartUploadResult`` answer. The
object is built in a spool file and committed like any write: nothing partial is ever
visible, and ``x-oss-forbid-overwrite`` is checked at the commit. No socket code here.

The upload callback (reference §5): ``x-oss-callback`` (Base64 JSON, checked as PostObject
checks its ``callback`` field, before anything is joined) and ``x-oss-callback-var``
(Base64 JSON of ``x:`` variables) make the completed object's summary go to the
application, signed with the emulator's key; its JSON answer replaces the XML result, and
a failure is 203 ``CallbackFailed`` with the object kept. Only the header form is read:
the ``callback`` query form is not modelled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote
from xml.sax.saxutils import escape

from localcloud.identity import Principal
from localcloud.oss import callback, callbackclient, xmlbody
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.callbackclient import CallbackSigner
from localcloud.oss.errors import (
    MSG_TOO_SMALL,
    OssError,
    invalid_argument,
    invalid_callback,
    malformed_xml,
)
from localcloud.oss.httpmessages import HEADER_CRC64, Request, Response, require_framed_body
from localcloud.oss.listing import shown
from localcloud.oss.multipartupload import MultipartUpload, encoder
from localcloud.oss.objectapi import H_OBJECT_ACL, authorize_key, check_write_acl, spool
from localcloud.oss.partstore import PartMeta, UploadRecord
from localcloud.oss.store import OBJECT_MULTIPART, ObjectMeta

H_COMPLETE_ALL = "x-oss-complete-all"
H_CALLBACK = "x-oss-callback"
H_CALLBACK_VAR = "x-oss-callback-var"
#: Every part but the last must be at least 100 KB. 100 KB = 102400 bytes is UNCONFIRMED
#: (reference §1.6); the larger, stricter reading of "KB" is used.
MIN_PART_BYTES = 100 * 1024
MAX_PART_NUMBER = 10000

#: Returns the endpoint URL clients reach the emulator at, for a request.
EndpointOf = Callable[[Request], str]


def invalid_part_order() -> OssError:
    """The listed parts are not in strictly ascending order (EC pairing inferred)."""
    return OssError(400, "InvalidPartOrder", "The list of parts was not in ascending order.",
                    ec="0042-00000209")


def invalid_part() -> OssError:
    """A listed part is missing or its ETag is not the one UploadPart returned."""
    return OssError(400, "InvalidPart",
                    "One or more of the specified parts could not be found or the specified "
                    "entity tag might not have matched the part's entity tag.")


def part_too_small() -> OssError:
    """A part other than the last is under 100 KB (EC 0042-00000213; Code UNCONFIRMED)."""
    return OssError(400, "EntityTooSmall", MSG_TOO_SMALL, ec="0042-00000213")


def listed_parts(body: bytes) -> list[tuple[int, str]]:
    """Read ``<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>+``.

    An empty list is MalformedXML (UNCONFIRMED; the stricter reading); so is a part
    without a number or ETag. Numbers must ascend strictly: a repeated number is refused
    (UNCONFIRMED; the stricter reading).
    """
    root = xmlbody.parse(body, "CompleteMultipartUpload")
    listed: list[tuple[int, str]] = []
    for child in root:
        if xmlbody.local_name(child.tag) != "Part":
            raise malformed_xml()
        fields = xmlbody.children(child)
        number, etag = fields.get("PartNumber", "").strip(), fields.get("ETag", "").strip()
        if not number or not etag:
            raise malformed_xml()
        if not number.isdigit() or not 1 <= int(number) <= MAX_PART_NUMBER:
            raise OssError(400, "InvalidPartOrder", "Part number must be an integer between "
                           "1 and 10000, inclusive.")
        if listed and int(number) <= listed[-1][0]:
            raise invalid_part_order()
        listed.append((int(number), etag))
    if not listed:
        raise malformed_xml()
    return listed


def multipart_etag(parts: list[PartMeta]) -> str:
    """The object's ETag: MD5 of the parts' upper-case hex ETags joined, then ``-<count>``.

    Derived from a recorded OSS response (reference §2; the rule itself is UNCONFIRMED,
    only the ``HEX32-N`` shape matters to clients).
    """
    joined = "".join(part.etag for part in parts).encode("ascii")
    return f"{hashlib.md5(joined).hexdigest().upper()}-{len(parts)}"  # noqa: S324


def callback_variables(value: str) -> dict[str, str]:
    """Read ``x-oss-callback-var``: Base64 JSON of string values under ``x:`` lower-case keys.

    Anything else is 400 InvalidArgument (reference §5: keys start with ``x:``, lower case).
    """
    try:
        document = json.loads(base64.b64decode(value.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeError, ValueError, RecursionError) as exc:
        raise invalid_callback("The callback-var is not json format.") from exc
    if not isinstance(document, dict) or not all(
            isinstance(k, str) and k.startswith("x:") and k == k.lower() and isinstance(v, str)
            for k, v in document.items()):
        raise invalid_callback("The callback-var is not valid.")
    return dict(document)


def _summary(request: Request, bucket: str, meta: ObjectMeta,
             extra: dict[str, str]) -> dict[str, str]:
    """The system variables of a completed object, then the ``x:`` ones."""
    return {
        "bucket": bucket, "object": meta.key, "etag": meta.etag, "size": str(meta.size),
        "mimeType": meta.content_type, "crc64": str(meta.crc64), "contentMd5": "",
        "clientIp": request.client_ip, "reqId": request.request_id,
        "operation": "CompleteMultipartUpload", "imageInfo.height": "",
        "imageInfo.width": "", "imageInfo.format": "", "vpcId": "", **extra,
    }


@dataclass
class CompleteUpload:
    """CompleteMultipartUpload over the multipart operations' stores.

    ``require_quoted_etag``: a listed ETag must be exactly what UploadPart returned,
    quotes included. Whether OSS also accepts it unquoted is UNCONFIRMED (reference §0.6);
    off accepts both (``RoutingSettings.require_quoted_part_etag``).
    """

    multipart: MultipartUpload
    endpoint_of: EndpointOf
    require_quoted_etag: bool = True
    #: The emulator's callback key and reach; without one a callback header is 501.
    signer: CallbackSigner | None = None

    def __call__(self, request: Request, bucket: BucketConfig, key: str,
                 principal: Principal | None) -> Response:
        """Join the listed parts into ``key`` and end the upload."""
        authorize_key(principal, "oss:PutObject", bucket, key)
        require_framed_body(request)
        url, encoding_xml = encoder(request.query)
        upload_id = request.query.get("uploadId", "")
        uploads = self.multipart.uploads
        record = self.multipart.upload_of(bucket.name, key, upload_id)
        acl = request.header(H_OBJECT_ACL) or record.acl
        check_write_acl(request, principal, bucket, key, acl)
        body = xmlbody.read_body(request)
        spec = callback.parse_callback(request.header(H_CALLBACK)) if request.header(
            H_CALLBACK) else None
        extra = callback_variables(request.header(H_CALLBACK_VAR)) if request.header(
            H_CALLBACK_VAR) else {}
        if spec is not None and self.signer is None:
            raise OssError(501, "NotImplemented", "A callback on Complete is not configured.")
        with uploads.holds(bucket.name, upload_id):
            # Another Complete or an Abort may have ended the upload while this one waited.
            self.multipart.upload_of(bucket.name, key, upload_id)
            meta = self._join(request, bucket.name, key, upload_id, body, record, acl)
            uploads.end(bucket.name, upload_id)
        headers = {"ETag": f'"{meta.etag}"', HEADER_CRC64: str(meta.crc64)}
        if spec is not None and self.signer is not None:
            return self._callback(request, bucket.name, meta, spec, extra, headers)
        location = f"{self.endpoint_of(request)}/{bucket.name}/{quote(key)}"
        answer = (f"{xmlbody.XML_DECLARATION}<CompleteMultipartUploadResult>{encoding_xml}"
                  f"<Location>{escape(location)}</Location>"
                  f"<Bucket>{escape(bucket.name)}</Bucket><Key>{shown(key, url)}</Key>"
                  f'<ETag>"{meta.etag}"</ETag></CompleteMultipartUploadResult>')
        return Response(200, {**xmlbody.XML, **headers}, answer.encode("utf-8"))

    def _join(self, request: Request, bucket: str, key: str, upload_id: str, body: bytes,
              record: UploadRecord, acl: str) -> ObjectMeta:
        """Check the listed parts, join them into ``key`` and return the stored object."""
        uploads = self.multipart.uploads
        stored = {part.number: part for part in uploads.parts(bucket, upload_id)}
        complete_all = request.header(H_COMPLETE_ALL)
        if complete_all:
            if complete_all != "yes":
                raise invalid_argument("x-oss-complete-all must be yes.",
                                       name=H_COMPLETE_ALL, value=complete_all)
            if body.strip():
                # EC 0042-00000216 documents the case; Code and wording UNCONFIRMED.
                raise invalid_argument("The body must be empty with x-oss-complete-all.",
                                       ec="0042-00000216")
            chosen = [stored[number] for number in sorted(stored)]
            if not chosen:
                raise invalid_part()
        else:
            chosen = [self._match(stored, number, etag) for number, etag in listed_parts(body)]
        for part in chosen[:-1]:
            if part.size < MIN_PART_BYTES:
                raise part_too_small()
        # One part file open at a time: an upload may have 10000 parts, more than a
        # process may hold open (a common soft limit is 1024 descriptors).
        pending = [uploads.part_path(bucket, upload_id, part.number) for part in chosen]
        current: BinaryIO | None = None

        def read(size: int) -> bytes:
            nonlocal current
            while True:
                if current is None:
                    if not pending:
                        return b""
                    current = open(pending.pop(0), "rb")  # noqa: SIM115 - closed below
                data = current.read(size)
                if data:
                    return data
                current.close()
                current = None

        try:
            temp_path, size, _, crc = spool(read, self.multipart.store.spool_dir(bucket),
                                            limit=1 << 62)
        finally:
            if current is not None:
                current.close()
        meta = ObjectMeta(
            key=key, size=size, etag=multipart_etag(chosen), crc64=crc,
            content_type=record.content_type, last_modified=request.now, acl=acl,
            storage_class=record.storage_class, headers=record.headers,
            metadata=record.metadata, object_type=OBJECT_MULTIPART, tags=record.tags)
        forbid = request.header("x-oss-forbid-overwrite").lower() == "true"
        self.multipart.store.commit(bucket, temp_path, meta, forbid_overwrite=forbid)
        return meta

    def _callback(self, request: Request, bucket: str, meta: ObjectMeta,
                  spec: callback.CallbackSpec, extra: dict[str, str],
                  headers: dict[str, str]) -> Response:
        """Send the stored object's summary; relay the JSON answer, or 203 (object kept)."""
        signer = self.signer
        assert signer is not None
        return callbackclient.run_callback(spec, _summary(request, bucket, meta, extra), signer,
                                           headers)

    def _match(self, stored: dict[int, PartMeta], number: int, etag: str) -> PartMeta:
        part = stored.get(number)
        quoted = f'"{part.etag}"' if part else ""
        if part is None or not (etag == quoted or (
                not self.require_quoted_etag and etag == part.etag)):
            raise invalid_part()
        return part
