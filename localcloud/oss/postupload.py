"""The PostObject request flow: verify (PostObject core) → store atomically → answer.

Owns the sequencing around the verifier: the spool directory, the commit into the store,
the upload callback delivery and the headers every successful POST carries (ETag,
``x-oss-hash-crc64ecma``, ``Content-MD5``). Form parsing, signatures and policies belong
to :mod:`localcloud.oss.postobject`; this module adds no OSS rules of its own.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.oss import callback, callbackclient, catalog, postobject
from localcloud.oss.access import Lookup, refuse_public_acl
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.postsettings import PostSettings
from localcloud.oss.store import ObjectMeta, ObjectStore
from localcloud.oss.wire import HEADER_CRC64, Request, Response


@dataclass(frozen=True)
class CallbackSigner:
    """The emulator's own RSA key for callbacks and the URL where its public half is served.

    ``timeout`` is OSS's fixed 5 s; only tests shorten it, to exercise a slow application.
    ``allowed_origins`` are the only origins callbacks may reach (none unless configured).
    """

    private_key: rsa.RSAPrivateKey = field(repr=False)
    pub_key_url: str
    timeout: float = callbackclient.TIMEOUT_SECONDS
    allowed_origins: frozenset[str] = frozenset()


def _success_headers(md5_hex: str, crc64: int) -> dict[str, str]:
    return {
        "ETag": f'"{md5_hex.upper()}"',
        HEADER_CRC64: str(crc64),
        "Content-MD5": base64.b64encode(bytes.fromhex(md5_hex)).decode("ascii"),
    }


def handle_post_object(
    request: Request,
    bucket: BucketConfig,
    *,
    store: ObjectStore,
    lookup: Lookup,
    settings: PostSettings,
    location_base: str,
    signer: CallbackSigner,
) -> Response:
    """Run one PostObject request end to end and return the response to send."""
    ctx = postobject.PostContext(
        bucket=bucket.name,
        now=request.now,
        lookup=lookup,
        settings=settings,
        spool_dir=store.spool_dir(bucket.name),
    )
    upload = postobject.receive_post(
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
    headers = _success_headers(upload.md5_hex, upload.crc64)
    location = f"{location_base}/{upload.key}"
    if upload.callback is not None:
        return _run_callback(request, bucket, upload, upload.callback, headers, signer)
    status, extra_headers, body = postobject.success_response(
        upload, bucket=bucket.name, location=location, etag=upload.md5_hex.upper()
    )
    headers.update(extra_headers)
    return Response(status, headers, body)


def _callback_variables(
    request: Request, bucket: str, upload: postobject.VerifiedUpload
) -> dict[str, str]:
    md5_b64 = base64.b64encode(bytes.fromhex(upload.md5_hex)).decode("ascii")
    variables = {
        "bucket": bucket,
        "object": upload.key,
        "etag": upload.md5_hex.upper(),
        "size": str(upload.size),
        "mimeType": upload.content_type,
        "crc64": str(upload.crc64),
        "contentMd5": md5_b64,
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
    request: Request,
    bucket: BucketConfig,
    upload: postobject.VerifiedUpload,
    spec: callback.CallbackSpec,
    headers: dict[str, str],
    signer: CallbackSigner,
) -> Response:
    body = callback.render_callback_body(spec, _callback_variables(request, bucket.name, upload))

    def sign(path: str, query: str, data: bytes) -> str:
        return callback.sign_callback(signer.private_key, path, query, data)

    answer = callbackclient.post_callback(
        urls=list(spec.urls),
        host=spec.host,
        body=body,
        body_type=spec.body_type,
        pub_key_url=signer.pub_key_url,
        sign=sign,
        allowed=signer.allowed_origins,
        timeout=signer.timeout,
    )
    if answer.body is not None:
        headers["Content-Type"] = "application/json"
        return Response(200, headers, answer.body)
    error = catalog.callback_failed(answer.failure or "callback failed")
    error.headers.update(headers)
    raise error
