"""Who is asking and may they: the key's holder, then ACL and RAM checks.

Owns the decision "may this request read/write this object": the holder of a signed
request's AccessKey and its security token (the signature itself is verified by
:mod:`localcloud.oss.headerauth`), the caller's RAM policies (:meth:`Principal.is_allowed`)
and the object/bucket ACL for anonymous callers. No storage, no HTTP shell.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from localcloud.identity import FindPrincipal, Principal, oss_object_resource
from localcloud.oss.buckets import PUBLIC_ACLS, BucketConfig
from localcloud.oss.errors import (
    MSG_INVALID_TOKEN,
    OssError,
    access_denied_by_bucket_acl,
    access_denied_by_ram,
    unknown_access_key_id,
)

READ_ACTIONS = frozenset({"oss:GetObject", "oss:ListObjects", "oss:GetBucketInfo",
                          "oss:GetBucketCors"})


def principal_for(
    access_key_id: str, token: str | None, lookup: FindPrincipal, now: datetime
) -> Principal:
    """Find the key's holder and check the security token the way OSS does for STS keys.

    Raises 403 InvalidAccessKeyId for an unknown key and 403 InvalidSecurityToken for a
    token that is not the key's (or any token with a long-lived key).
    """
    principal = lookup(access_key_id)
    # OSS forgets expired temporary keys, so it reports them as unknown (InvalidAccessKeyId).
    if principal is None or principal.is_expired(now):
        raise unknown_access_key_id(access_key_id)
    expected = principal.security_token
    if expected is None:
        if token:
            raise OssError(403, "InvalidSecurityToken", MSG_INVALID_TOKEN)
        return principal
    if not token:
        # UNCONFIRMED: OSS's code for an STS key used without its token; the stricter reading
        # (the key alone is not a known credential) is InvalidAccessKeyId.
        raise unknown_access_key_id(access_key_id)
    if not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")):
        raise OssError(403, "InvalidSecurityToken", MSG_INVALID_TOKEN)
    return principal


def effective_acl(object_acl: str | None, bucket: BucketConfig) -> str:
    """Return the ACL that applies: the object's unless it defers to the bucket.

    While the bucket blocks public access no public ACL applies, the object's included.
    """
    if bucket.block_public_access:
        return "private"
    if object_acl in (None, "", "default"):
        return bucket.acl
    return object_acl


def authorize(
    principal: Principal | None, action: str, *, bucket: str, key: str, acl: str
) -> None:
    """Raise AccessDenied unless the caller may perform ``action`` on ``bucket/key``.

    Anonymous callers get only what the ACL grants the world. Signed callers need their
    RAM policies to allow the action; a public ACL also admits them for reads, as OSS's
    ACL grants everyone, signed or not.
    """
    public_read = acl in PUBLIC_ACLS and action in READ_ACTIONS
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
