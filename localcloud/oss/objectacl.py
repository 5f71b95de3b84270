"""GetObjectAcl and PutObjectAcl: an object's own ACL, read as XML and set by header.

Owns both operations' permission rule, the ``AccessControlPolicy`` answer and the change
of one object's ACL (its bytes and every other piece of metadata kept, Last-Modified
included). Only a signed caller whose RAM policy allows ``oss:GetObjectAcl`` /
``oss:PutObjectAcl`` may call them: OSS gives them to the bucket owner and the users it
authorizes, never through a public bucket or object ACL. No socket code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from xml.sax.saxutils import escape

from localcloud.identity import Principal, oss_object_resource
from localcloud.oss import xmlbody
from localcloud.oss.buckets import BucketConfig, refuse_public_acl
from localcloud.oss.copyobject import clone_bytes
from localcloud.oss.errors import OssError, access_denied_by_ram, invalid_argument
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.listing import owner_xml
from localcloud.oss.objectapi import H_OBJECT_ACL, check_key, no_such_key
from localcloud.oss.store import OBJECT_ACLS, ObjectStore

ACTION_GET = "oss:GetObjectAcl"
ACTION_PUT = "oss:PutObjectAcl"


def _authorize(principal: Principal | None, action: str, bucket: str, key: str) -> None:
    if principal is None:
        # Documented for GetObjectACL; PutObjectACL's anonymous wording is UNCONFIRMED and
        # takes the same shape.
        verb = "read" if action == ACTION_GET else "write"
        raise OssError(403, "AccessDenied",
                       f"You do not have {verb} acl permission on this object.")
    if not principal.is_allowed(action, oss_object_resource(bucket, key)):
        raise access_denied_by_ram()


def access_control_policy(grant: str) -> bytes:
    """Render the ``AccessControlPolicy`` body (``default``: the object defers to the bucket)."""
    return (f"{xmlbody.XML_DECLARATION}<AccessControlPolicy>"
            f"{owner_xml()}"
            f"<AccessControlList><Grant>{escape(grant)}</Grant></AccessControlList>"
            "</AccessControlPolicy>").encode()


@dataclass
class ObjectAcl:
    """The two object-ACL operations over one store."""

    store: ObjectStore

    def get(self, request: Request, bucket: BucketConfig, key: str,
            principal: Principal | None) -> Response:
        """Answer the object's ACL; an object that never set one answers ``default``.

        ``default`` (not the bucket's ACL) is what OSS's own SDK tests expect after a
        plain PutObject (aliyun-oss-python-sdk ``tests/test_object.py::test_object_acl``).
        """
        del request
        check_key(key)
        _authorize(principal, ACTION_GET, bucket.name, key)
        meta = self.store.head(bucket.name, key)
        if meta is None:
            raise no_such_key()
        grant = meta.acl or "default"
        return Response(200, dict(xmlbody.XML),
                        access_control_policy(grant))

    def put(self, request: Request, bucket: BucketConfig, key: str,
            principal: Principal | None) -> Response:
        """Set the object's ACL from ``x-oss-object-acl``; nothing else about it changes."""
        check_key(key)
        _authorize(principal, ACTION_PUT, bucket.name, key)
        acl = request.header(H_OBJECT_ACL)
        if acl not in OBJECT_ACLS:
            # Documented: an invalid value is 400 InvalidArgument. A missing header is
            # UNCONFIRMED; it is refused the same way rather than read as "default".
            raise invalid_argument("no such object access control exists",
                                   name=H_OBJECT_ACL, value=acl)
        refuse_public_acl(bucket, acl)
        with self.store.open(bucket.name, key) as found:
            if found is None:
                raise no_such_key()
            meta, handle = found
            temp_path = clone_bytes(self.store, handle, bucket.name)
        # Known limit of the emulator: the store offers no metadata-only update under its
        # key lock, so the same bytes are committed again with the new ACL; a DeleteObject
        # or PutObject landing between the read above and this commit is overwritten.
        self.store.commit(bucket.name, temp_path, replace(meta, acl=acl),
                          forbid_overwrite=False)
        return Response(200)
