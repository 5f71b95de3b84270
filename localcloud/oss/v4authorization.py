"""OSS Signature V4 on an object-API request: its Authorization fields, and their check.

Owns parsing the ``Authorization: OSS4-HMAC-SHA256 Credential=…,Signature=…`` header
and the presigned-URL query parameters into one :class:`V4Authorization`, with the
refusals for malformed input (missing parts, bad credential scope, bad time format), then
believing it or not: the credential scope (the bucket's region, product ``oss``), the
clock-skew window or the presigned validity window, the key's holder and token
(:func:`localcloud.oss.access.principal_for`) and the constant-time comparison of the
signature over the canonical request of :mod:`localcloud.oss.v4canonical`. Pure: ``now``
and the identity lookup are passed in. :mod:`localcloud.oss.headerauth` chooses V4 or V1.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from localcloud.config import REGION
from localcloud.identity import FindPrincipal, Principal
from localcloud.oss.access import principal_for
from localcloud.oss.errors import (
    MSG_SIGNATURE_MISMATCH,
    OssError,
    access_denied,
    invalid_argument,
    request_expired,
    time_too_skewed,
)
from localcloud.oss.httpmessages import SignedRequest
from localcloud.oss.v4canonical import (
    ALGORITHM,
    DATE_FORMAT,
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

H_DATE = "x-oss-date"
H_SECURITY_TOKEN = "x-oss-security-token"
Q_SIGNATURE_VERSION = "x-oss-signature-version"
Q_CREDENTIAL = "x-oss-credential"
Q_DATE = "x-oss-date"
Q_EXPIRES = "x-oss-expires"
Q_SECURITY_TOKEN = "x-oss-security-token"
Q_ADDITIONAL_HEADERS = "x-oss-additional-headers"

# EC values are those of OSS's published error-code pages; where no page was found the EC is
# left out rather than invented.
EC_V4_SIGNATURE_MISSING = "0002-00000219"
EC_V4_CREDENTIAL_DATE = "0002-00000223"
EC_V4_HEADER_CREDENTIAL = "0002-00000213"  # Credential of the Authorization header malformed
EC_V4_QUERY_CREDENTIAL = "0002-00000224"  # x-oss-credential query parameter malformed
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

# Presigned V4 URLs live at most 7 days (OSS V4 documentation).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class V4Authorization:
    """What a V4 request asserts, before any of it is believed."""

    access_key_id: str
    scope_date: str
    region: str
    product: str
    request_time: str
    additional_headers: tuple[str, ...]
    signature: str
    token: str | None
    presigned: bool


def parse_time(value: str, what: str) -> datetime:
    """Parse an ISO 8601 basic UTC time (``20261128T120000Z``)."""
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise invalid_argument(f"{what} is not a valid ISO8601 basic time: {value!r}") from None


def split_credential(credential: str, *, presigned: bool = False) -> tuple[str, str, str, str]:
    """Split ``AK/date/region/product/aliyun_v4_request`` into its four variable parts.

    Only the shape is checked here (five parts, the fixed terminator, a date of eight
    digits); whether region and product are the bucket's is checked by :func:`verify_v4`.
    """
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != SCOPE_TERMINATOR or not all(parts[:4]):
        raise invalid_argument(
            f"Invalid credential: {credential!r}",
            ec=EC_V4_QUERY_CREDENTIAL if presigned else EC_V4_HEADER_CREDENTIAL,
        )
    access_key_id, scope_date, region, product = parts[:4]
    if len(scope_date) != 8 or not scope_date.isdigit():
        raise invalid_argument(
            f"Invalid signing date in credential: {scope_date!r}", ec=EC_V4_CREDENTIAL_DATE
        )
    return access_key_id, scope_date, region, product


def from_header(authorization: str, headers: Mapping[str, str]) -> V4Authorization:
    """Read the fields of an ``Authorization: OSS4-HMAC-SHA256 …`` header."""
    fields: dict[str, str] = {}
    for item in authorization[len(ALGORITHM) :].split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise invalid_argument("Authorization header is invalid.")
        fields[name] = value
    credential = fields.get("Credential")
    signature = fields.get("Signature")
    if not credential:
        raise invalid_argument("Authorization header is invalid: Credential is missing.")
    if not signature:
        raise invalid_argument(
            "Authorization header is invalid: Signature is missing.", ec=EC_V4_SIGNATURE_MISSING
        )
    request_time = headers.get(H_DATE)
    if not request_time:
        raise access_denied("The x-oss-date header is required for V4 signatures.")
    ak, scope_date, region, product = split_credential(credential)
    additional = fields.get("AdditionalHeaders", "")
    return V4Authorization(
        access_key_id=ak,
        scope_date=scope_date,
        region=region,
        product=product,
        request_time=request_time,
        additional_headers=tuple(h for h in additional.lower().split(";") if h),
        signature=signature,
        token=headers.get(H_SECURITY_TOKEN),
        presigned=False,
    )


def from_query(params: Mapping[str, str]) -> V4Authorization:
    """Read the fields of a presigned V4 URL."""
    if params.get(Q_SIGNATURE_VERSION) != ALGORITHM:
        raise invalid_argument(
            f"Unsupported {Q_SIGNATURE_VERSION}: {params.get(Q_SIGNATURE_VERSION)!r}"
        )
    for name in (Q_CREDENTIAL, Q_DATE, Q_EXPIRES):
        if not params.get(name):
            raise invalid_argument(f"The {name} parameter is required.")
    if not params.get(Q_SIGNATURE):
        raise invalid_argument(
            f"The {Q_SIGNATURE} parameter is required.", ec=EC_V4_SIGNATURE_MISSING
        )
    ak, scope_date, region, product = split_credential(params[Q_CREDENTIAL], presigned=True)
    additional = params.get(Q_ADDITIONAL_HEADERS, "")
    return V4Authorization(
        access_key_id=ak,
        scope_date=scope_date,
        region=region,
        product=product,
        request_time=params[Q_DATE],
        additional_headers=tuple(h for h in additional.lower().split(";") if h),
        signature=params[Q_SIGNATURE],
        token=params.get(Q_SECURITY_TOKEN),
        presigned=True,
    )


@dataclass(frozen=True)
class HeaderAuthSettings:
    """Tunable readings of OSS behaviour (defaults are OSS's documented values).

    ``region``: the region every credential scope must name, the addressed bucket's (each
    emulated bucket lives in the local cloud's one region); ``None`` accepts any region.
    """

    max_skew: timedelta = timedelta(minutes=15)
    max_presign_seconds: int = MAX_PRESIGN_SECONDS
    region: str | None = REGION


def _check_scope(auth: V4Authorization, settings: HeaderAuthSettings) -> None:
    """Refuse a credential scoped to another region or product, before any key is looked up."""
    where = "query string" if auth.presigned else "Authorization header"
    if settings.region is not None and auth.region != settings.region:
        raise invalid_argument(
            f"Invalid signing region in {where}.",
            ec=EC_V4_QUERY_REGION if auth.presigned else EC_V4_HEADER_REGION,
        )
    if auth.product != PRODUCT:
        raise invalid_argument(
            f"Invalid signing product in {where}.",
            ec=None if auth.presigned else EC_V4_HEADER_PRODUCT,
        )


def _check_time(
    auth: V4Authorization, expires: str | None, now: datetime, settings: HeaderAuthSettings
) -> None:
    """Apply the skew window (header form) or the validity window (presigned form)."""
    signed_at = parse_time(auth.request_time, H_DATE)
    if auth.request_time[:8] != auth.scope_date:
        raise invalid_argument(
            "The date in x-oss-credential does not match x-oss-date.", ec=EC_V4_CREDENTIAL_DATE
        )
    if not auth.presigned:
        if abs(now - signed_at) > settings.max_skew:
            raise time_too_skewed(auth.request_time, now, settings.max_skew)
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
        raise request_expired(signed_at + timedelta(seconds=seconds), now)


def verify_v4(
    auth: V4Authorization, request: SignedRequest, lookup: FindPrincipal, now: datetime,
    settings: HeaderAuthSettings,
) -> Principal:
    """Check a V4 request's scope, time, key (and token) and signature; return its principal.

    Both query encodings a client may have signed are tried: the canonical one and, when
    the raw query is known, the one exactly as sent.
    """
    expires = request.params.get(Q_EXPIRES) if auth.presigned else None
    _check_scope(auth, settings)
    _check_time(auth, expires, now, settings)
    principal = principal_for(auth.access_key_id, auth.token, lookup, now)

    scope = f"{auth.scope_date}/{auth.region}/{auth.product}/{SCOPE_TERMINATOR}"
    uri = canonical_uri(request.bucket, request.key)
    signable = [(k, v) for k, v in request.query if not (auth.presigned and k == Q_SIGNATURE)]
    queries = [canonical_query(signable)]
    if request.raw_query is not None:
        queries.append(raw_canonical_query(request.raw_query))
    else:
        queries.append(canonical_query(signable, keep_slash=True))
    derived = signing_key(principal.access_key_secret, auth.scope_date, auth.region, auth.product)
    first_text = ""
    first_canonical = ""
    matched = False
    for candidate in dict.fromkeys(queries):
        canonical = canonical_request(request.method, uri, candidate, request.headers,
                                      auth.additional_headers)
        text = string_to_sign(auth.request_time, scope, canonical)
        if not first_text:
            first_text, first_canonical = text, canonical
        expected = sign(derived, text)
        if hmac.compare_digest(expected.encode("ascii"), auth.signature.encode("utf-8")):
            matched = True
    if not matched:
        raise OssError(
            403,
            "SignatureDoesNotMatch",
            MSG_SIGNATURE_MISMATCH,
            ec=EC_V4_SIGNATURE_MISMATCH,
            extra={
                "OSSAccessKeyId": auth.access_key_id,
                "SignatureProvided": auth.signature,
                "StringToSign": first_text,
                "CanonicalRequest": first_canonical,
            },
        )
    return principal
