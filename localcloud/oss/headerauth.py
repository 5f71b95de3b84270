"""Verify OSS request signatures: V4 or V1, in the ``Authorization`` header or a presigned URL.

Owns the emulator's answer to "who sent this object-API request, and did they sign it the way
OSS checks it": the credential scope (the bucket's region, product ``oss``), the
security-token check for STS principals, the clock-skew window, presign expiry and the
constant-time signature comparison. Reading the claim lives in
:mod:`v4claim`, the canonical forms and key chain in :mod:`v4canonical` (re-exported here for
callers that know this module only). Pure: no HTTP server, no clock (``now`` is passed in), no
storage; it must not import the signing function nor the OSS SDK (the SDK is only a test
oracle). Refusals are :class:`~localcloud.oss.errors.OssError` with OSS's codes and messages.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from localcloud.config import REGION
from localcloud.identity import FindPrincipal, Principal
from localcloud.oss.errors import (
    MSG_INVALID_TOKEN,
    MSG_SIGNATURE_MISMATCH,
    MSG_TIME_SKEWED,
    MSG_UNKNOWN_AK,
    OssError,
    invalid_argument,
)
from localcloud.oss.v1header import Q_ACCESS_KEY_ID as V1_Q_ACCESS_KEY_ID
from localcloud.oss.v1header import Q_SIGNATURE as V1_Q_SIGNATURE
from localcloud.oss.v1header import SCHEME as V1_SCHEME
from localcloud.oss.v1header import (
    V1Claim,
    V1QueryClaim,
    parse_v1,
    parse_v1_query,
    sign_v1,
    string_to_sign_v1,
)
from localcloud.oss.v4canonical import (
    ALGORITHM,
    H_AUTHORIZATION,
    PRODUCT,
    Q_SIGNATURE,
    SCOPE_TERMINATOR,
    canonical_query,
    canonical_request,
    canonical_uri,
    raw_canonical_query,
    sign,
    signing_key,
    string_to_sign,
)
from localcloud.oss.v4claim import (
    EC_V4_CREDENTIAL_DATE,
    H_DATE,
    Q_EXPIRES,
    Q_SIGNATURE_VERSION,
    V4Claim,
    access_denied,
    claim_from_header,
    claim_from_query,
    parse_time,
)

__all__ = [
    "ALGORITHM", "HeaderAuthSettings", "canonical_query", "canonical_request", "canonical_uri",
    "raw_canonical_query", "sign", "signing_key", "string_to_sign", "verify_header_auth",
]

# Presigned V4 URLs live at most 7 days (OSS V4 documentation).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

EC_V4_SIGNATURE_MISMATCH = "0002-00000201"
EC_V4_NOT_YET_VALID = "0002-00000235"
# A real header-signed response: 400 InvalidArgument "Invalid signing region in
# Authorization header." EC 0002-00000226 (aliyun/alibabacloud-oss-go-sdk-v2#29), and
# "Invalid signing product in Authorization header." EC 0002-00000227
# (aliyun/alibabacloud-oss-python-sdk-v2#74).
EC_V4_HEADER_REGION = "0002-00000226"
EC_V4_HEADER_PRODUCT = "0002-00000227"
# UNCONFIRMED for presigned URLs: EC page 0002-00000228 describes a wrong region in a URL
# signature (zh page) but no response is published, so the message is the header one's
# with "query string"; for a wrong product no page exists, so no EC is sent.
EC_V4_QUERY_REGION = "0002-00000228"


@dataclass(frozen=True)
class HeaderAuthSettings:
    """Tunable readings of OSS behaviour (defaults are OSS's documented values).

    ``region``: the region every credential scope must name, the addressed bucket's (each
    emulated bucket lives in the local cloud's one region); ``None`` accepts any region.
    """

    max_skew: timedelta = timedelta(minutes=15)
    max_presign_seconds: int = MAX_PRESIGN_SECONDS
    region: str | None = REGION


def _check_scope(claim: V4Claim, settings: HeaderAuthSettings) -> None:
    """Refuse a credential scoped to another region or product, before any key is looked up."""
    where = "query string" if claim.presigned else "Authorization header"
    if settings.region is not None and claim.region != settings.region:
        raise invalid_argument(
            f"Invalid signing region in {where}.",
            ec=EC_V4_QUERY_REGION if claim.presigned else EC_V4_HEADER_REGION,
        )
    if claim.product != PRODUCT:
        raise invalid_argument(
            f"Invalid signing product in {where}.",
            ec=None if claim.presigned else EC_V4_HEADER_PRODUCT,
        )


def _skew_error(request_time: str, now: datetime, settings: HeaderAuthSettings) -> OssError:
    return OssError(
        403,
        "RequestTimeTooSkewed",
        MSG_TIME_SKEWED,
        extra={
            "RequestTime": request_time,
            "ServerTime": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "MaxAllowedSkewMilliseconds": str(int(settings.max_skew.total_seconds() * 1000)),
        },
    )


def _expired(expires_at: datetime, now: datetime) -> OssError:
    """Return the 403 for a presigned request used after ``expires_at``."""
    return access_denied(
        "Request has expired.",
        Expires=expires_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        ServerTime=now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    )


def _check_time(
    claim: V4Claim, expires: str | None, now: datetime, settings: HeaderAuthSettings
) -> None:
    """Apply the skew window (header form) or the validity window (presigned form)."""
    signed_at = parse_time(claim.request_time, H_DATE)
    if claim.request_time[:8] != claim.scope_date:
        raise invalid_argument(
            "The date in x-oss-credential does not match x-oss-date.", ec=EC_V4_CREDENTIAL_DATE
        )
    if not claim.presigned:
        if abs(now - signed_at) > settings.max_skew:
            raise _skew_error(claim.request_time, now, settings)
        return
    try:
        seconds = int(expires or "")
    except ValueError:
        raise invalid_argument(f"{Q_EXPIRES} must be an integer.") from None
    if seconds <= 0 or seconds > settings.max_presign_seconds:
        raise invalid_argument(
            f"{Q_EXPIRES} must be between 1 and {settings.max_presign_seconds} seconds."
        )
    if now < signed_at - settings.max_skew:
        raise access_denied("Request is not valid yet.", EC_V4_NOT_YET_VALID)
    if now > signed_at + timedelta(seconds=seconds):
        raise _expired(signed_at + timedelta(seconds=seconds), now)


def _unknown_key(access_key_id: str) -> OssError:
    return OssError(403, "InvalidAccessKeyId", MSG_UNKNOWN_AK,
                    extra={"OSSAccessKeyId": access_key_id})


def _principal_for(
    claim: V4Claim | V1Claim | V1QueryClaim, lookup: FindPrincipal,
    now: datetime,
) -> Principal:
    """Find the key's holder and check the security token the way OSS does for STS keys."""
    principal = lookup(claim.access_key_id)
    # OSS forgets expired temporary keys, so it reports them as unknown (InvalidAccessKeyId).
    if principal is None or principal.is_expired(now):
        raise _unknown_key(claim.access_key_id)
    expected = principal.security_token
    if expected is None:
        if claim.token:
            raise OssError(403, "InvalidSecurityToken", MSG_INVALID_TOKEN)
        return principal
    if not claim.token:
        # UNCONFIRMED: OSS's code for an STS key used without its token; the stricter reading
        # (the key alone is not a known credential) is InvalidAccessKeyId.
        raise _unknown_key(claim.access_key_id)
    if not hmac.compare_digest(claim.token.encode("utf-8"), expected.encode("utf-8")):
        raise OssError(403, "InvalidSecurityToken", MSG_INVALID_TOKEN)
    return principal


def _check_v1_signature(claim: V1Claim | V1QueryClaim, principal: Principal, text: str) -> None:
    """Raise SignatureDoesNotMatch unless ``claim`` carries the key's V1 signature of ``text``."""
    expected = sign_v1(principal.access_key_secret, text)
    if not hmac.compare_digest(expected.encode("ascii"), claim.signature.encode("utf-8")):
        raise OssError(
            403,
            "SignatureDoesNotMatch",
            MSG_SIGNATURE_MISMATCH,
            extra={"OSSAccessKeyId": claim.access_key_id, "SignatureProvided": claim.signature,
                   "StringToSign": text},
        )


def _verify_v1(
    method: str,
    authorization: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    bucket: str | None,
    key: str | None,
    lookup: FindPrincipal,
    now: datetime,
    settings: HeaderAuthSettings,
) -> Principal:
    """Check an ``Authorization: OSS ak:signature`` request (same key, token and skew rules)."""
    claim = parse_v1(authorization, headers)
    if abs(now - claim.signed_at) > settings.max_skew:
        raise _skew_error(claim.signed_at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), now, settings)
    principal = _principal_for(claim, lookup, now)
    text = string_to_sign_v1(method, headers, bucket, key, query)
    _check_v1_signature(claim, principal, text)
    return principal


def _verify_v1_query(
    method: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    bucket: str | None,
    key: str | None,
    lookup: FindPrincipal,
    now: datetime,
) -> Principal:
    """Check a V1 presigned URL: not expired, a known key (and token), the signature.

    ``Expires`` is an absolute time with no upper bound in V1; an STS key's URL dies with
    its credentials (the key is then unknown).
    """
    claim = parse_v1_query(dict(query))
    if now > claim.expires_at:
        raise _expired(claim.expires_at, now)
    principal = _principal_for(claim, lookup, now)
    text = string_to_sign_v1(method, headers, bucket, key, query, expires=claim.expires)
    _check_v1_signature(claim, principal, text)
    return principal


def verify_header_auth(
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    bucket: str | None,
    key: str | None,
    lookup: FindPrincipal,
    now: datetime,
    settings: HeaderAuthSettings = HeaderAuthSettings(),
    raw_query: str | None = None,
) -> Principal | None:
    """Authenticate an object-API request; return its principal, or ``None`` if anonymous.

    ``headers`` has lower-cased names; ``query`` holds decoded pairs; ``raw_query`` (the query
    text as received, optional) lets the exact encoding the client signed be honoured.
    ``raw_path`` is unused by V4 (the canonical URI is rebuilt from ``bucket``/``key``) and is
    kept for the shell's convenience.
    """
    del raw_path
    params = dict(query)
    authorization = headers.get(H_AUTHORIZATION)
    if authorization and authorization.startswith(V1_SCHEME):
        return _verify_v1(method, authorization, query, headers, bucket=bucket, key=key,
                          lookup=lookup, now=now, settings=settings)
    if authorization:
        if not authorization.startswith(ALGORITHM + " "):
            raise invalid_argument("Authorization header is invalid.")
        claim = claim_from_header(authorization, headers)
        expires = None
    elif Q_SIGNATURE_VERSION in params or Q_SIGNATURE in params:
        claim = claim_from_query(params)
        expires = params.get(Q_EXPIRES)
    elif V1_Q_ACCESS_KEY_ID in params or V1_Q_SIGNATURE in params:
        return _verify_v1_query(method, query, headers, bucket=bucket, key=key,
                                lookup=lookup, now=now)
    else:
        return None

    _check_scope(claim, settings)
    _check_time(claim, expires, now, settings)
    principal = _principal_for(claim, lookup, now)

    scope = f"{claim.scope_date}/{claim.region}/{claim.product}/{SCOPE_TERMINATOR}"
    uri = canonical_uri(bucket, key)
    signable = [(k, v) for k, v in query if not (claim.presigned and k == Q_SIGNATURE)]
    queries = [canonical_query(signable)]
    if raw_query is not None:
        queries.append(raw_canonical_query(raw_query))
    else:
        queries.append(canonical_query(signable, keep_slash=True))
    derived = signing_key(
        principal.access_key_secret, claim.scope_date, claim.region, claim.product
    )
    first_text = ""
    first_canonical = ""
    matched = False
    for candidate in dict.fromkeys(queries):
        canonical = canonical_request(method, uri, candidate, headers, claim.additional_headers)
        text = string_to_sign(claim.request_time, scope, canonical)
        if not first_text:
            first_text, first_canonical = text, canonical
        expected = sign(derived, text)
        if hmac.compare_digest(expected.encode("ascii"), claim.signature.encode("utf-8")):
            matched = True
    if not matched:
        raise OssError(
            403,
            "SignatureDoesNotMatch",
            MSG_SIGNATURE_MISMATCH,
            ec=EC_V4_SIGNATURE_MISMATCH,
            extra={
                "OSSAccessKeyId": claim.access_key_id,
                "SignatureProvided": claim.signature,
                "StringToSign": first_text,
                "CanonicalRequest": first_canonical,
            },
        )
    return principal
