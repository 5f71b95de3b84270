"""GetObjectTagging, PutObjectTagging and DeleteObjectTagging.

Owns the three operations: their permission rule (RAM actions of their own; a public ACL
admits them as it admits reads and writes) and the change of one object's tags, its
bytes, metadata and Last-Modified kept (PutObjectTagging reference: changing tags does
not update Last-Modified). The tag rules are :mod:`tagging`. No socket code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from localcloud.identity import Principal
from localcloud.oss import access, xmlbody
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.copyobject import clone_bytes
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.objectapi import authorize_key, check_key, no_such_key
from localcloud.oss.store import ObjectStore
from localcloud.oss.tagging import render_tagging, tags_from_body


@dataclass
class ObjectTagging:
    """Get/Put/DeleteObjectTagging over one store."""

    store: ObjectStore

    def get(self, request: Request, bucket: BucketConfig, key: str,
            principal: Principal | None) -> Response:
        """Answer the object's tags."""
        del request
        check_key(key)
        meta = self.store.head(bucket.name, key)
        access.authorize(principal, "oss:GetObjectTagging", bucket=bucket.name, key=key,
                         acl=access.effective_acl(meta.acl if meta else None, bucket))
        if meta is None:
            raise no_such_key()
        return Response(200, dict(xmlbody.XML), render_tagging(meta.tags))

    def put(self, request: Request, bucket: BucketConfig, key: str,
            principal: Principal | None) -> Response:
        """Replace the object's tags with the body's."""
        authorize_key(principal, "oss:PutObjectTagging", bucket, key)
        tags = tags_from_body(xmlbody.read_body(request))
        self._retag(bucket.name, key, tags)
        return Response(200)

    def delete(self, request: Request, bucket: BucketConfig, key: str,
               principal: Principal | None) -> Response:
        """Remove every tag of the object."""
        del request
        authorize_key(principal, "oss:DeleteObjectTagging", bucket, key)
        self._retag(bucket.name, key, {})
        return Response(204)

    def _retag(self, bucket: str, key: str, tags: dict[str, str]) -> None:
        with self.store.open(bucket, key) as found:
            if found is None:
                raise no_such_key()
            meta, handle = found
            temp_path = clone_bytes(self.store, handle, bucket)
        # The same known limit as PutObjectAcl's (objectacl.py): the bytes are committed
        # again with the new tags, so a write landing in between is overwritten.
        self.store.commit(bucket, temp_path, replace(meta, tags=tags), forbid_overwrite=False)
