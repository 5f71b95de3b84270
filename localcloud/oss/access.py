"""Who is asking and may they: header-signature authentication plus ACL and RAM checks.

Owns the decision "may this request read/write this object", combining the V4 header
signature (verified by :mod:`localcloud.oss.headerauth`), the caller's RAM policies
(:meth:`Principal.is_allowed`) and the object/bucket ACL for anonymous callers.
No storage, no HTTP shell.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl

from localcloud.identity import Principal, oss_object_resource
from localcloud.oss.catalog import access_denied_by_bucket_acl, access_denied_by_ram
from localcloud.oss.wire import Request

Lookup = Callable[[str], Principal | None]

PUBLIC_READ_ACLS = frozenset({"public-read", "public-read-write"})
READ_ACTIONS = frozenset({"oss:GetObject", "oss:ListObjects", "oss:GetBucketInfo",
                          "oss:GetBucketCors"})


def authenticate(
    request: Request, *, bucket: str, key: str, lookup: Lookup, now: datetime
) -> Principal | None:
    """Verify the request's header signature; None when it carries none (anonymous)."""
    # Imported lazily: the header verifier is a sibling module that may be absent in a
    # partial checkout; PostObject and website reads do not need it.
    from localcloud.oss.headerauth import verify_header_auth

    return verify_header_auth(
        request.method,
        request.raw_path,
        parse_qsl(request.query_string, keep_blank_values=True),
        request.headers,
        bucket=bucket,
        key=key,
        lookup=lookup,
        now=now,
        raw_query=request.query_string,
    )


def effective_acl(object_acl: str | None, bucket_acl: str) -> str:
    """Return the ACL that applies: the object's unless it defers to the bucket."""
    if object_acl in (None, "", "default"):
        return bucket_acl
    return object_acl


def authorize(
    principal: Principal | None, action: str, *, bucket: str, key: str, acl: str
) -> None:
    """Raise AccessDenied unless the caller may perform ``action`` on ``bucket/key``.

    Anonymous callers get only what the ACL grants the world. Signed callers need their
    RAM policies to allow the action; a public ACL also admits them for reads, as OSS's
    ACL grants everyone, signed or not.
    """
    public_read = acl in PUBLIC_READ_ACLS and action in READ_ACTIONS
    public_write = acl == "public-read-write"
    if principal is None:
        if public_read or public_write:
            return
        raise access_denied_by_bucket_acl()
    if principal.is_allowed(action, oss_object_resource(bucket, key)):
        return
    if public_read or public_write:
        return
    raise access_denied_by_ram()
