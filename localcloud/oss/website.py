"""Static website hosting: the bucket's index and error documents for anonymous readers.

Owns the website read path (``/`` and ``dir/`` → index document; missing → error
document or 404; private objects → 403), so the upload page is served from the emulated
bucket as in production. No signatures: website reads are anonymous by definition.
"""

from __future__ import annotations

import os

from localcloud.oss.access import effective_acl
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.errors import access_denied_by_bucket_acl
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.objectapi import FileBody, no_such_key, object_headers
from localcloud.oss.store import ObjectStore

_PUBLIC = frozenset({"public-read", "public-read-write"})


def resolve_key(bucket: BucketConfig, path_key: str) -> str:
    """Map a website path to an object key (index document for ``/`` and ``dir/``)."""
    if bucket.index_document and (path_key == "" or path_key.endswith("/")):
        return path_key + bucket.index_document
    return path_key


def _read(store: ObjectStore, bucket: BucketConfig, key: str, status: int) -> Response | None:
    with store.open(bucket.name, key) as found:
        if found is None:
            return None
        meta, handle = found
        if effective_acl(meta.acl, bucket) not in _PUBLIC:
            raise access_denied_by_bucket_acl()
        stream = os.fdopen(os.dup(handle.fileno()), "rb")
    return Response(status, object_headers(meta), FileBody(stream, 0, meta.size),
                    content_length=meta.size)


def serve(store: ObjectStore, bucket: BucketConfig, path_key: str, request: Request) -> Response:
    """Answer an anonymous website GET/HEAD."""
    del request
    key = resolve_key(bucket, path_key)
    response = _read(store, bucket, key, 200) if key else None
    if response is not None:
        return response
    if bucket.error_document:
        fallback = _read(store, bucket, bucket.error_document, 404)
        if fallback is not None:
            return fallback
    raise no_such_key()
