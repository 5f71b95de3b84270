"""Who is asking and may they: header-signature authentication plus ACL and RAM checks.

Owns the decision "may this request read/write this object", combining the V4 header
signature (verified by :mod:`localcloud.oss.headerauth`), the caller's RAM policies
(:meth:`Principal.is_allowed`) and the object/bucket ACL for anonymous callers.
No storage, no HTTP shell.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qsl

from localcloud.identity import FindPrincipal, Principal, oss_object_resource
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.errors import OssError, access_denied_by_bucket_acl, access_denied_by_ram
from localcloud.oss.httpmessages import Request

PUBLIC_READ_ACLS = frozenset({"public-read", "public-read-write"})
READ_ACTIONS = frozenset({"oss:GetObject", "oss:ListObjects", "oss:GetBucketInfo",
                          "oss:GetBucketCors"})


def authenticate(
    request: Request, *, bucket: str, key: str, lookup: FindPrincipal, now: datetime
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


def effective_acl(object_acl: str | None, bucket: BucketConfig) -> str:
    """Return the ACL that applies: the object's unless it defers to the bucket.

    While the bucket blocks public access no public ACL applies, the object's included.
    """
    if bucket.block_public_access:
        return "private"
    if object_acl in (None, "", "default"):
        return bucket.acl
    return object_acl


def refuse_public_acl(bucket: BucketConfig, acl: str | None) -> None:
    """Refuse to set a public ACL (bucket or object) while the bucket blocks public access.

    OSS documents that no public ACL can then be configured; the Code and wording of
    its refusal are UNCONFIRMED (403 AccessDenied, the refusal of every other denial).
    """
    if bucket.block_public_access and acl in PUBLIC_READ_ACLS:
        raise OssError(403, "AccessDenied", "Public access is blocked for this bucket: a "
                       "public ACL cannot be set while Block Public Access is on.")


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


def bucket_resource(bucket: str) -> str:
    """Return the RAM resource name of a bucket itself (``acs:oss:*:*:<bucket>``)."""
    return f"acs:oss:*:*:{bucket}"


#: The RAM resource of service-level operations (ListBuckets, DescribeRegions).
SERVICE_RESOURCE = "acs:oss:*:*:*"


def anonymous_forbidden() -> OssError:
    """Return the 403 for an anonymous call of an operation only a signed caller may make."""
    return OssError(403, "AccessDenied", "Anonymous access is forbidden for this operation.")


def authorize_signed(principal: Principal | None, action: str, resource: str) -> Principal:
    """Raise AccessDenied unless a signed caller's RAM policies allow ``action``.

    For the operations no ACL grants (the bucket itself, its ACL, the service): OSS gives
    them to the owner and the users it authorizes, never to an anonymous caller.
    """
    if principal is None:
        raise anonymous_forbidden()
    if not principal.is_allowed(action, resource):
        raise access_denied_by_ram()
    return principal


def authorize_bucket(principal: Principal | None, action: str, bucket: str) -> Principal:
    """Raise AccessDenied unless a signed caller may perform ``action`` on ``bucket`` itself."""
    return authorize_signed(principal, action, bucket_resource(bucket))
