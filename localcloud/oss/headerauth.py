"""Verify OSS V4 request signatures carried in the ``Authorization`` header or in a presigned URL.

Owns the emulator's answer to "who sent this object-API request, and did they sign it the way
OSS checks it": the canonical request, string to sign and signing-key chain of OSS Signature V4
(``OSS4-HMAC-SHA256``), the presigned-query form, the security-token check for STS principals,
the clock-skew window and presign expiry. Pure: no HTTP server, no clock (``now`` is passed in),
no storage; it must not import the signing function nor the OSS SDK (the SDK is only a test
oracle). Refusals are :class:`~localcloud.oss.errors.OssError` with OSS's codes and messages.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from localcloud.identity import Principal
from localcloud.oss.errors import OssError

ALGORITHM = "OSS4-HMAC-SHA256"
SCOPE_TERMINATOR = "aliyun_v4_request"
PRODUCT = "oss"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"

H_AUTHORIZATION = "authorization"
H_DATE = "x-oss-date"
H_CONTENT_SHA256 = "x-oss-content-sha256"
H_SECURITY_TOKEN = "x-oss-security-token"
Q_SIGNATURE_VERSION = "x-oss-signature-version"
Q_CREDENTIAL = "x-oss-credential"
Q_DATE = "x-oss-date"
Q_EXPIRES = "x-oss-expires"
Q_SIGNATURE = "x-oss-signature"
Q_SECURITY_TOKEN = "x-oss-security-token"
Q_ADDITIONAL_HEADERS = "x-oss-additional-headers"

# Presigned V4 URLs live at most 7 days (OSS V4 documentation).
MAX_PRESIGN_SECONDS = 7 * 24 * 3600

# EC values are those of OSS's published error-code pages; where no page was found the EC is
# left out rather than invented.
EC_V4_SIGNATURE_MISMATCH = "0002-00000201"
EC_V4_SIGNATURE_MISSING = "0002-00000219"
EC_V4_CREDENTIAL_DATE = "0002-00000223"
EC_V4_NOT_YET_VALID = "0002-00000235"

MSG_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method."
)
MSG_UNKNOWN_KEY = "The OSS Access Key Id you provided does not exist in our records."
MSG_BAD_TOKEN = "The security token you provided is invalid."
MSG_SKEWED = "The difference between the request time and the current time is too large."


@dataclass(frozen=True)
class HeaderAuthSettings:
    """Tunable readings of OSS behaviour (defaults are OSS's documented values).

    ``region``: when set, the credential scope must name it (OSS answers a wrong region with
    SignatureDoesNotMatch, since the signing key depends on it); ``None`` accepts any region.
    """

    max_skew: timedelta = timedelta(minutes=15)
    max_presign_seconds: int = MAX_PRESIGN_SECONDS
    region: str | None = None


@dataclass(frozen=True)
class _V4Claim:
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


def _invalid_argument(message: str, ec: str | None = None) -> OssError:
    return OssError(400, "InvalidArgument", message, ec=ec)


def _access_denied(message: str, ec: str | None = None, **extra: str) -> OssError:
    return OssError(403, "AccessDenied", message, ec=ec, extra=extra)


def _parse_time(value: str, what: str) -> datetime:
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise _invalid_argument(f"{what} is not a valid ISO8601 basic time: {value!r}") from None


def _split_credential(credential: str) -> tuple[str, str, str, str]:
    """Split ``AK/date/region/product/aliyun_v4_request`` into its four variable parts."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != SCOPE_TERMINATOR or not all(parts[:4]):
        raise _invalid_argument(f"Invalid credential: {credential!r}")
    access_key_id, scope_date, region, product = parts[:4]
    if len(scope_date) != 8 or not scope_date.isdigit():
        raise _invalid_argument(
            f"Invalid signing date in credential: {scope_date!r}", EC_V4_CREDENTIAL_DATE
        )
    return access_key_id, scope_date, region, product


def _claim_from_header(authorization: str, headers: Mapping[str, str]) -> _V4Claim:
    fields: dict[str, str] = {}
    for item in authorization[len(ALGORITHM) :].split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            raise _invalid_argument("Authorization header is invalid.")
        fields[name] = value
    credential = fields.get("Credential")
    signature = fields.get("Signature")
    if not credential:
        raise _invalid_argument("Authorization header is invalid: Credential is missing.")
    if not signature:
        raise _invalid_argument(
            "Authorization header is invalid: Signature is missing.", EC_V4_SIGNATURE_MISSING
        )
    request_time = headers.get(H_DATE)
    if not request_time:
        raise _access_denied("The x-oss-date header is required for V4 signatures.")
    ak, scope_date, region, product = _split_credential(credential)
    additional = fields.get("AdditionalHeaders", "")
    return _V4Claim(
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


def _claim_from_query(params: Mapping[str, str]) -> _V4Claim:
    if params.get(Q_SIGNATURE_VERSION) != ALGORITHM:
        raise _invalid_argument(
            f"Unsupported {Q_SIGNATURE_VERSION}: {params.get(Q_SIGNATURE_VERSION)!r}"
        )
    for name in (Q_CREDENTIAL, Q_DATE, Q_EXPIRES):
        if not params.get(name):
            raise _invalid_argument(f"The {name} parameter is required.")
    if not params.get(Q_SIGNATURE):
        raise _invalid_argument(
            f"The {Q_SIGNATURE} parameter is required.", EC_V4_SIGNATURE_MISSING
        )
    ak, scope_date, region, product = _split_credential(params[Q_CREDENTIAL])
    additional = params.get(Q_ADDITIONAL_HEADERS, "")
    return _V4Claim(
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


def _check_time(
    claim: _V4Claim, expires: str | None, now: datetime, settings: HeaderAuthSettings
) -> None:
    """Apply the skew window (header form) or the validity window (presigned form)."""
    signed_at = _parse_time(claim.request_time, H_DATE)
    if claim.request_time[:8] != claim.scope_date:
        raise _invalid_argument(
            "The date in x-oss-credential does not match x-oss-date.", EC_V4_CREDENTIAL_DATE
        )
    server_time = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if not claim.presigned:
        if abs(now - signed_at) > settings.max_skew:
            raise OssError(
                403,
                "RequestTimeTooSkewed",
                MSG_SKEWED,
                extra={
                    "RequestTime": claim.request_time,
                    "ServerTime": server_time,
                    "MaxAllowedSkewMilliseconds": str(
                        int(settings.max_skew.total_seconds() * 1000)
                    ),
                },
            )
        return
    try:
        seconds = int(expires or "")
    except ValueError:
        raise _invalid_argument(f"{Q_EXPIRES} must be an integer.") from None
    if seconds <= 0 or seconds > settings.max_presign_seconds:
        raise _invalid_argument(
            f"{Q_EXPIRES} must be between 1 and {settings.max_presign_seconds} seconds."
        )
    if now < signed_at - settings.max_skew:
        raise _access_denied("Request is not valid yet.", EC_V4_NOT_YET_VALID)
    if now > signed_at + timedelta(seconds=seconds):
        raise _access_denied(
            "Request has expired.",
            Expires=(signed_at + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            ServerTime=server_time,
        )


def _principal_for(
    claim: _V4Claim, lookup: Callable[[str], Principal | None], now: datetime
) -> Principal:
    """Find the key's holder and check the security token the way OSS does for STS keys."""
    principal = lookup(claim.access_key_id)
    # OSS forgets expired temporary keys, so it reports them as unknown (InvalidAccessKeyId).
    if principal is None or principal.is_expired(now):
        raise OssError(
            403,
            "InvalidAccessKeyId",
            MSG_UNKNOWN_KEY,
            extra={"OSSAccessKeyId": claim.access_key_id},
        )
    expected = principal.security_token
    if expected is None:
        if claim.token:
            raise OssError(403, "InvalidSecurityToken", MSG_BAD_TOKEN)
        return principal
    if not claim.token:
        # UNCONFIRMED: OSS's code for an STS key used without its token; the stricter reading
        # (the key alone is not a known credential) is InvalidAccessKeyId.
        raise OssError(
            403,
            "InvalidAccessKeyId",
            MSG_UNKNOWN_KEY,
            extra={"OSSAccessKeyId": claim.access_key_id},
        )
    if not hmac.compare_digest(claim.token.encode("utf-8"), expected.encode("utf-8")):
        raise OssError(403, "InvalidSecurityToken", MSG_BAD_TOKEN)
    return principal


def _uri_encode(value: str, *, keep_slash: bool = False) -> str:
    return quote(value, safe="/" if keep_slash else "")


def canonical_uri(bucket: str | None, key: str | None) -> str:
    """Return ``/bucket/key`` URI-encoded as the V4 canonical URI (``/`` kept, empty parts out)."""
    uri = "/"
    if bucket:
        uri += bucket + "/"
        if key:
            uri += key
    return _uri_encode(uri, keep_slash=True)


def canonical_query(pairs: Sequence[tuple[str, str]], *, keep_slash: bool = False) -> str:
    """Return the sorted, URI-encoded query (``key`` alone when the value is empty)."""
    encoded = sorted((_uri_encode(k), _uri_encode(v, keep_slash=keep_slash)) for k, v in pairs)
    return "&".join(f"{k}={v}" if v else k for k, v in encoded)


def raw_canonical_query(raw_query: str) -> str:
    """Return the canonical query built from the query text exactly as it was sent.

    The official SDK signs its query in the encoding it sent it (``/`` unescaped in ordinary
    values, ``%2F`` in ``x-oss-credential``), so OSS must accept that form.
    """
    pairs = [item.partition("=") for item in raw_query.split("&") if item]
    kept = sorted((k, v) for k, _, v in pairs if k != Q_SIGNATURE)
    return "&".join(f"{k}={v}" if v else k for k, v in kept)


def _is_signed_header(name: str, additional: Sequence[str]) -> bool:
    return (
        name.startswith("x-oss-") or name in ("content-type", "content-md5") or name in additional
    )


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, str],
    additional_headers: Sequence[str],
) -> str:
    """Assemble the V4 canonical request from its already-canonical parts."""
    signed = sorted(
        (name.lower(), value.strip())
        for name, value in headers.items()
        if name.lower() != H_AUTHORIZATION and _is_signed_header(name.lower(), additional_headers)
    )
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in signed)
    payload = headers.get(H_CONTENT_SHA256, UNSIGNED_PAYLOAD)
    return "\n".join(
        [method.upper(), uri, query, canonical_headers, ";".join(additional_headers), payload]
    )


def string_to_sign(request_time: str, scope: str, canonical: str) -> str:
    """Wrap the canonical request's SHA-256 into the V4 string to sign."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{request_time}\n{scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, product: str) -> bytes:
    """Derive the V4 signing key: HMAC chain over date, region, product, terminator."""
    key = ("aliyun_v4" + secret).encode("utf-8")
    for part in (date, region, product, SCOPE_TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign(key: bytes, text: str) -> str:
    """Return the lowercase-hex HMAC-SHA256 of ``text``."""
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def verify_header_auth(
    method: str,
    raw_path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    *,
    bucket: str | None,
    key: str | None,
    lookup: Callable[[str], Principal | None],
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
    if authorization:
        if not authorization.startswith(ALGORITHM + " "):
            raise _invalid_argument("Authorization header is invalid.")
        claim = _claim_from_header(authorization, headers)
        expires = None
    elif Q_SIGNATURE_VERSION in params or Q_SIGNATURE in params:
        claim = _claim_from_query(params)
        expires = params.get(Q_EXPIRES)
    else:
        return None

    if claim.product != PRODUCT:
        raise _invalid_argument(f"Invalid product in credential: {claim.product!r}")
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
    region_ok = settings.region is None or settings.region == claim.region
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
    if not (matched and region_ok):
        raise OssError(
            403,
            "SignatureDoesNotMatch",
            MSG_SIGNATURE,
            ec=EC_V4_SIGNATURE_MISMATCH,
            extra={
                "OSSAccessKeyId": claim.access_key_id,
                "SignatureProvided": claim.signature,
                "StringToSign": first_text,
                "CanonicalRequest": first_canonical,
            },
        )
    return principal
