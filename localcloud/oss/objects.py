"""The basic object operations: Put/Get/Head/Delete object, GetObjectMeta, the listings.

Owns each operation's request parsing and response shape (headers, XML) for PutObject,
GetObject, HeadObject (and GetObjectMeta), DeleteObject, ListObjects V1 and V2 and
ListObjectVersions. Callers pass a routed request with its bucket, key and the principal
the router authenticated (the listings' permission is checked by the router); the steps
these share with the other object operations are :mod:`localcloud.oss.objectapi`'s.
No socket code.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

from localcloud.identity import Principal
from localcloud.oss import access, xmlbody
from localcloud.oss.buckets import BucketConfig, BucketRegistry
from localcloud.oss.errors import (
    OssError,
    invalid_argument,
    invalid_digest,
    not_implemented,
)
from localcloud.oss.httpmessages import HEADER_CRC64, Request, Response, require_framed_body
from localcloud.oss.listing import (
    ListPage,
    ListParams,
    list_page,
    render_list_v1,
    render_list_v2,
    render_list_versions,
)
from localcloud.oss.objectapi import (
    H_OBJECT_ACL,
    MAX_PUT_SIZE,
    FileBody,
    authorize_key,
    canonical_name,
    check_key,
    check_write_acl,
    etag_header,
    no_such_key,
    object_headers,
    parse_range,
    put_too_large,
    request_metadata,
    spool,
    write_tags,
)
from localcloud.oss.objectnames import check_stored_headers
from localcloud.oss.operations import RESPONSE_OVERRIDES
from localcloud.oss.store import ObjectMeta, ObjectStore


class ObjectApi:
    """The object operations over one store and bucket registry.

    Every operation takes the caller the router already authenticated (None: anonymous).
    """

    def __init__(self, store: ObjectStore, buckets: BucketRegistry) -> None:
        self._store = store
        self._buckets = buckets

    def put_object(self, request: Request, bucket: BucketConfig, key: str,
                   principal: Principal | None) -> Response:
        """Store the request body as an object (streamed to a temp file, then renamed)."""
        authorize_key(principal, "oss:PutObject", bucket, key)
        require_framed_body(request)
        check_stored_headers(request)
        acl = request.header(H_OBJECT_ACL, "default")
        check_write_acl(request, principal, bucket, key, acl)
        tags = write_tags(request, principal, bucket, key)
        if request.content_length is not None and request.content_length > MAX_PUT_SIZE:
            raise put_too_large()
        temp_path, size, md5, crc = spool(request.body.read,
                                          self._store.spool_dir(bucket.name))
        try:
            expected_md5 = request.header("content-md5")
            if expected_md5 and expected_md5 != base64.b64encode(md5).decode("ascii"):
                raise invalid_digest()
            content_type, headers, metadata = request_metadata(request, key)
            meta = ObjectMeta(
                key=key,
                size=size,
                etag=md5.hex().upper(),
                crc64=crc,
                content_type=content_type,
                last_modified=request.now,
                acl=acl,
                storage_class=request.header("x-oss-storage-class", "Standard"),
                headers=headers,
                metadata=metadata,
                tags=tags,
            )
            forbid = request.header("x-oss-forbid-overwrite").lower() == "true"
            self._store.commit(bucket.name, temp_path, meta, forbid_overwrite=forbid)
        finally:
            if temp_path.exists():
                temp_path.unlink()
        return Response(200, {
            "ETag": etag_header(meta),
            HEADER_CRC64: str(crc),
            "Content-MD5": base64.b64encode(md5).decode("ascii"),
        })

    def get_object(self, request: Request, bucket: BucketConfig, key: str,
                   principal: Principal | None) -> Response:
        """Return an object's bytes (whole, or the requested byte range) and headers."""
        check_key(key)
        with self._store.open(bucket.name, key) as found:
            if found is None:
                access.authorize(principal, "oss:GetObject", bucket=bucket.name, key=key,
                                 acl=bucket.acl_in_force)
                raise no_such_key()
            meta, handle = found
            acl = access.effective_acl(meta.acl, bucket)
            access.authorize(principal, "oss:GetObject", bucket=bucket.name, key=key, acl=acl)
            headers = object_headers(meta)
            headers.update(response_overrides(request.query, principal))
            start, length, status = 0, meta.size, 200
            span = parse_range(request.header("range"), meta.size,
                               standard=request.header("x-oss-range-behavior") == "standard")
            if span is not None:
                start, length = span
                status = 206
                headers["Content-Range"] = f"bytes {start}-{start + length - 1}/{meta.size}"
            # The open handle outlives this block: the shell streams it, then closes it.
            stream = os.fdopen(os.dup(handle.fileno()), "rb")
        return Response(status, headers, FileBody(stream, start, length), content_length=length)

    def head_object(self, request: Request, bucket: BucketConfig, key: str,
                    principal: Principal | None) -> Response:
        """Return an object's headers (HeadObject, and GetObjectMeta for ``?objectMeta``)."""
        check_key(key)
        meta = self._store.head(bucket.name, key)
        acl = access.effective_acl(meta.acl if meta else None, bucket)
        access.authorize(principal, "oss:GetObject", bucket=bucket.name, key=key, acl=acl)
        if meta is None:
            raise no_such_key()
        headers = object_headers(meta)
        if "objectMeta" in request.query:
            # GetObjectMeta: only ETag, size and Last-Modified (plus the CRC the SDK's
            # result reads); the size is the Content-Length, as the reference documents.
            headers = {n: headers[n] for n in ("ETag", "Last-Modified", HEADER_CRC64)}
        return Response(200, headers, b"", content_length=meta.size)

    def delete_object(self, request: Request, bucket: BucketConfig, key: str,
                      principal: Principal | None) -> Response:
        """Delete an object; deleting a missing key succeeds too, as in OSS."""
        authorize_key(principal, "oss:DeleteObject", bucket, key)
        self._store.delete(bucket.name, key)
        return Response(204)

    def list_objects_v2(self, request: Request, bucket: BucketConfig, key: str,
                        principal: Principal | None) -> Response:
        """List keys with prefix, delimiter, start-after, max-keys and continuation."""
        del key, principal
        if request.query.get("list-type") != "2":
            # Only list-type=2 is documented; another value is not understood.
            raise not_implemented()
        params = ListParams.from_query(request.query)
        return self._list_page(bucket, params, render_list_v2)

    def list_object_versions(self, request: Request, bucket: BucketConfig, key: str,
                             principal: Principal | None) -> Response:
        """ListObjectVersions of a bucket whose versioning was never enabled."""
        del key, principal
        params = ListParams.from_query_versions(request.query)
        return self._list_page(bucket, params, render_list_versions)

    def list_objects(self, request: Request, bucket: BucketConfig, key: str,
                     principal: Principal | None) -> Response:
        """ListObjects (V1): prefix, marker, delimiter, max-keys, NextMarker paging."""
        del key, principal
        params = ListParams.from_query_v1(request.query)
        return self._list_page(bucket, params, render_list_v1)

    def _list_page(self, bucket: BucketConfig, params: ListParams,
                   render: Callable[[str, ListParams, ListPage], bytes]) -> Response:
        """Answer the page of the bucket's keys ``params`` selects, as ``render`` writes it."""
        page = list_page(self._store.list(bucket.name), params)
        return Response(200, dict(xmlbody.XML),
                        render(bucket.name, params, page))


def response_overrides(query: dict[str, str], principal: Principal | None) -> dict[str, str]:
    """Return the headers GetObject's ``response-*`` parameters replace.

    Anonymous callers may not use them (documented: 400 InvalidRequest). A value with a
    control character could split the response's headers, so it is refused.
    """
    wanted = {name: value for name, value in query.items() if name in RESPONSE_OVERRIDES}
    if not wanted:
        return {}
    if principal is None:
        raise OssError(400, "InvalidRequest", "Request specific response headers cannot be "
                       "used for anonymous GET requests.")
    headers: dict[str, str] = {}
    for name, value in wanted.items():
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
            # UNCONFIRMED wording; the refusal keeps CR/LF out of the response head.
            raise invalid_argument(f"Argument {name} is invalid.", name=name, value="")
        headers[canonical_name(name[len("response-"):])] = value
    return headers
