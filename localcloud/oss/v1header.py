"""OSS Signature V1 on an object-API request: its Authorization, the text it signs, the check.

Owns the old ``Authorization: OSS <AccessKeyId>:<Base64 HMAC-SHA1>`` scheme that older
clients still send, and its presigned-URL form (``OSSAccessKeyId``, ``Expires``,
``Signature`` and, with STS, ``security-token`` in the query; ali-oss's default
``signatureUrl``): parsing either, the time that stands in the signed text (``x-oss-date``
or ``Date``; ``Expires`` for a URL), and the string to sign — verb, ``Content-MD5``,
``Content-Type``, that time, the sorted ``x-oss-*`` headers and the canonicalized
resource (``/bucket/key`` plus the sub-resources OSS signs); then the checks: the clock
window (or the URL's expiry), the key's holder and token and the constant-time comparison.
Pure: ``now`` and the identity lookup are passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from localcloud.identity import FindPrincipal, Principal
from localcloud.oss.access import principal_for
from localcloud.oss.errors import (
    MSG_SIGNATURE_MISMATCH,
    OssError,
    invalid_argument,
    request_expired,
    time_too_skewed,
)
from localcloud.oss.httpmessages import SignedRequest

SCHEME = "OSS "
Q_ACCESS_KEY_ID = "OSSAccessKeyId"
Q_EXPIRES = "Expires"
Q_SIGNATURE = "Signature"
Q_SECURITY_TOKEN = "security-token"
H_DATE = "date"
H_OSS_DATE = "x-oss-date"
H_CONTENT_MD5 = "content-md5"
H_CONTENT_TYPE = "content-type"
H_SECURITY_TOKEN = "x-oss-security-token"
# alibabacloud-oss-v2's V1 signer sends the token under this unprefixed name.
H_SDK_SECURITY_TOKEN = "security-token"
OSS_HEADER_PREFIX = "x-oss-"

# Query parameters that are part of the signed resource (OSS's documented sub-resources
# and response-header overrides); every other parameter is left out of the signature.
SUBRESOURCES = frozenset({
    "acl", "append", "bucketInfo", "callback", "callback-var", "cloudboxes", "comp",
    "continuation-token", "cors", "delete", "lifecycle", "live", "location", "logging",
    "objectMeta", "partNumber", "position", "qos", "referer", "regionList", "replication",
    "resourceGroup", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language", "response-content-type",
    "response-expires", "restore", "security-token", "sequential", "stat", "status",
    "symlink", "tagging", "uploadId", "uploads", "versionId", "versioning", "versions",
    "website", "x-oss-process",
})


@dataclass(frozen=True)
class V1Authorization:
    """What a V1 request asserts, before any of it is believed."""

    access_key_id: str
    signature: str
    signed_at: datetime
    token: str | None


def parse_v1(authorization: str, headers: Mapping[str, str]) -> V1Authorization:
    """Read ``OSS ak:signature`` and the request date (headers have lower-case names)."""
    access_key_id, sep, signature = authorization[len(SCHEME):].strip().rpartition(":")
    if not sep or not access_key_id or not signature:
        raise invalid_argument("Authorization header is invalid.")
    raw_date = headers.get(H_OSS_DATE) or headers.get(H_DATE)
    if not raw_date:
        raise OssError(403, "AccessDenied",
                       "Authorization requires a Date or x-oss-date header.")
    try:
        signed_at = parsedate_to_datetime(raw_date)
    except (TypeError, ValueError):
        raise invalid_argument(f"Invalid date: {raw_date!r}") from None
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=timezone.utc)
    token = headers.get(H_SECURITY_TOKEN) or headers.get(H_SDK_SECURITY_TOKEN)
    return V1Authorization(access_key_id, signature, signed_at, token)


@dataclass(frozen=True)
class V1Presigned:
    """What a V1 presigned URL asserts: its key, signature, expiry and token."""

    access_key_id: str
    signature: str
    expires: str  # as sent: seconds since the epoch, the time the signed text holds
    expires_at: datetime
    token: str | None


def parse_v1_query(params: Mapping[str, str]) -> V1Presigned:
    """Read ``OSSAccessKeyId``, ``Expires``, ``Signature`` and ``security-token``.

    A URL missing one of the three is refused as OSS's V1 reference words it
    (UNCONFIRMED Code: 403 AccessDenied, the refusal for every other URL defect).
    """
    access_key_id = params.get(Q_ACCESS_KEY_ID, "")
    expires = params.get(Q_EXPIRES, "")
    signature = params.get(Q_SIGNATURE, "")
    if not access_key_id or not expires or not signature:
        raise OssError(403, "AccessDenied", "Query-string authentication requires the "
                       "Signature, Expires and OSSAccessKeyId parameters")
    if not expires.isdigit():
        raise invalid_argument(f"{Q_EXPIRES} must be an integer.", name=Q_EXPIRES,
                               value=expires)
    try:
        expires_at = datetime.fromtimestamp(int(expires), timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise invalid_argument(f"{Q_EXPIRES} is out of range.", name=Q_EXPIRES,
                               value=expires) from None
    return V1Presigned(access_key_id, signature, expires, expires_at,
                        params.get(Q_SECURITY_TOKEN) or None)


def canonical_resource(
    bucket: str | None, key: str | None, query: Sequence[tuple[str, str]]
) -> str:
    """Return ``/bucket/key`` (decoded) plus the sorted signed sub-resources."""
    resource = "/"
    if bucket:
        resource += bucket + "/" + (key or "")
    signed = sorted((name, value) for name, value in query if name in SUBRESOURCES)
    if signed:
        resource += "?" + "&".join(f"{n}={v}" if v else n for n, v in signed)
    return resource


def string_to_sign_v1(request: SignedRequest, *, expires: str | None = None) -> str:
    """Build the V1 string to sign from the request as received.

    ``expires`` (a presigned URL's ``Expires``) takes the place of the date.
    """
    headers = request.headers
    oss_headers = sorted(
        (name.lower(), value.strip()) for name, value in headers.items()
        if name.lower().startswith(OSS_HEADER_PREFIX)
    )
    date = expires if expires is not None else (
        headers.get(H_OSS_DATE) or headers.get(H_DATE, ""))
    return "\n".join([
        request.method.upper(),
        headers.get(H_CONTENT_MD5, ""),
        headers.get(H_CONTENT_TYPE, ""),
        date,
        "".join(f"{n}:{v}\n" for n, v in oss_headers)
        + canonical_resource(request.bucket, request.key, request.query),
    ])


def sign_v1(secret: str, text: str) -> str:
    """Return the Base64 HMAC-SHA1 of ``text`` under ``secret``."""
    # A lone surrogate in ``text`` stands for a byte that was not UTF-8 (a key's raw byte,
    # see httpmessages.Request.path): hashed as that byte, never an exception.
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8", "surrogateescape"),
                      hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _check_signature(auth: V1Authorization | V1Presigned, principal: Principal, text: str) -> None:
    """Raise SignatureDoesNotMatch unless ``auth`` carries the key's V1 signature of ``text``."""
    expected = sign_v1(principal.access_key_secret, text)
    if not hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("utf-8")):
        raise OssError(
            403,
            "SignatureDoesNotMatch",
            MSG_SIGNATURE_MISMATCH,
            extra={"OSSAccessKeyId": auth.access_key_id, "SignatureProvided": auth.signature,
                   "StringToSign": text},
        )


def verify_v1(request: SignedRequest, authorization: str, lookup: FindPrincipal,
              now: datetime, max_skew: timedelta) -> Principal:
    """Check an ``Authorization: OSS ak:signature`` request (same key, token and skew rules)."""
    auth = parse_v1(authorization, request.headers)
    if abs(now - auth.signed_at) > max_skew:
        raise time_too_skewed(auth.signed_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), now, max_skew)
    principal = principal_for(auth.access_key_id, auth.token, lookup, now)
    _check_signature(auth, principal, string_to_sign_v1(request))
    return principal


def verify_v1_presigned(request: SignedRequest, lookup: FindPrincipal,
                        now: datetime) -> Principal:
    """Check a V1 presigned URL: not expired, a known key (and token), the signature.

    ``Expires`` is an absolute time with no upper bound in V1; an STS key's URL dies with
    its credentials (the key is then unknown).
    """
    auth = parse_v1_query(request.params)
    if now > auth.expires_at:
        raise request_expired(auth.expires_at, now)
    principal = principal_for(auth.access_key_id, auth.token, lookup, now)
    _check_signature(auth, principal, string_to_sign_v1(request, expires=auth.expires))
    return principal
