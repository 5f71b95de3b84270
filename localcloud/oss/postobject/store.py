"""PostObject, last steps: store the verified upload, deliver its callback, answer.

Owns the sequencing around the verifier (:mod:`form`): the spool directory, the commit
into the store, the upload callback delivery (:mod:`localcloud.oss.callbackclient`) and
the answer per oss-postobject.md §7: the headers every stored POST carries (ETag,
``x-oss-hash-crc64ecma``, ``Content-MD5``), built here and nowhere else, and the choice
between 204, 200, 201 (``PostResponse`` XML, children Bucket, Location, Key, ETag — the
order of a captured real response, ETag unquoted), a 303 redirect or the callback's
answer. The HTTP shell adds ``x-oss-request-id``, ``Date``, ``Server`` and CORS. Form
parsing, signatures and policies belong to the earlier steps; this module adds no OSS
rules of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, cast
from xml.sax.saxutils import escape

from localcloud.identity import FindPrincipal
from localcloud.oss import callbackclient
from localcloud.oss.buckets import BucketConfig, refuse_public_acl
from localcloud.oss.callbackclient import CallbackSigner
from localcloud.oss.httpmessages import HEADER_CRC64, Request, Response, require_framed_body
from localcloud.oss.postobject.form import PostContext, VerifiedUpload, receive_post
from localcloud.oss.postobject.settings import PostSettings
from localcloud.oss.store import ObjectMeta, ObjectStore


def handle_post_object(
    request: Request,
    bucket: BucketConfig,
    *,
    store: ObjectStore,
    lookup: FindPrincipal,
    settings: PostSettings,
    location_base: str,
    signer: CallbackSigner,
) -> Response:
    """Run one PostObject request end to end and return the response to send."""
    require_framed_body(request)
    ctx = PostContext(
        bucket=bucket.name,
        now=request.now,
        lookup=lookup,
        settings=settings,
        spool_dir=store.spool_dir(bucket.name),
    )
    upload = receive_post(
        cast(BinaryIO, request.body),
        request.header("content-type") or None,
        request.content_length,
        request.headers,
        ctx,
    )
    temp_path = Path(upload.temp_path)
    try:
        refuse_public_acl(bucket, upload.acl)
        meta = ObjectMeta(
            key=upload.key,
            size=upload.size,
            etag=upload.md5_hex.upper(),
            crc64=upload.crc64,
            content_type=upload.content_type,
            last_modified=request.now,
            acl=upload.acl or "default",
            storage_class=upload.storage_class or "Standard",
            headers=dict(upload.headers),
            metadata=dict(upload.metadata),
        )
        store.commit(bucket.name, temp_path, meta, forbid_overwrite=upload.forbid_overwrite)
    finally:
        temp_path.unlink(missing_ok=True)
    if upload.callback is not None:
        return _run_callback(request, bucket, upload, signer)
    status, headers, body = success_response(
        upload, bucket=bucket.name, location=f"{location_base}/{upload.key}",
        etag=upload.md5_hex.upper(),
    )
    return Response(status, headers, body)


def success_headers(upload: VerifiedUpload, etag: str | None = None) -> dict[str, str]:
    """Return the headers of every stored PostObject's answer, callback or not.

    ``ETag`` quoted (``etag`` as given, quoted if bare; default the upload's own),
    ``x-oss-hash-crc64ecma`` in decimal, ``Content-MD5`` in Base64.
    """
    quoted = upload.etag if etag is None else etag if etag.startswith('"') else f'"{etag}"'
    return {"ETag": quoted, HEADER_CRC64: str(upload.crc64), "Content-MD5": upload.content_md5}


def success_response(
    upload: VerifiedUpload, *, bucket: str, location: str, etag: str
) -> tuple[int, dict[str, str], bytes]:
    """Build (status, headers, body) for a stored upload without a callback.

    ``success_action_redirect`` wins when present: 303 to it, nothing added to the
    URL (OSS's code and query parameters are UNCONFIRMED). Otherwise
    ``success_action_status`` 200 → 200 empty, 201 → 201 XML, anything else → 204.
    """
    headers = success_headers(upload, etag)
    if upload.success_action_redirect:
        headers["Location"] = upload.success_action_redirect
        headers["Content-Length"] = "0"
        return 303, headers, b""
    status = upload.success_action_status
    if status == "201":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
            f"<Bucket>{escape(bucket)}</Bucket>"
            f"<Location>{escape(location)}</Location>"
            f"<Key>{escape(upload.key)}</Key>"
            f"<ETag>{escape(headers['ETag'].strip(chr(34)))}</ETag>"
            "</PostResponse>"
        ).encode()
        headers["Content-Type"] = "application/xml"
        headers["Content-Length"] = str(len(body))
        return 201, headers, body
    headers["Content-Length"] = "0"
    return (200 if status == "200" else 204), headers, b""


def _callback_variables(request: Request, bucket: str, upload: VerifiedUpload) -> dict[str, str]:
    variables = {
        "bucket": bucket,
        "object": upload.key,
        "etag": upload.md5_hex.upper(),
        "size": str(upload.size),
        "mimeType": upload.content_type,
        "crc64": str(upload.crc64),
        "contentMd5": upload.content_md5,
        "clientIp": request.client_ip,
        "reqId": request.request_id,
        "operation": "PostObject",
        "imageInfo.height": "",
        "imageInfo.width": "",
        "imageInfo.format": "",
        "vpcId": "",
    }
    variables.update(dict(upload.callback_vars))
    return variables


def _run_callback(
    request: Request, bucket: BucketConfig, upload: VerifiedUpload, signer: CallbackSigner
) -> Response:
    """Deliver the upload's callback; answer with the application's JSON, or 203."""
    spec = upload.callback
    assert spec is not None
    return callbackclient.run_callback(
        spec, _callback_variables(request, bucket.name, upload), signer, success_headers(upload)
    )
