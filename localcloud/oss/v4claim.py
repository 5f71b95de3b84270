"""What an OSS V4-signed object-API request claims, read from its header or its query.

Owns parsing the ``Authorization: OSS4-HMAC-SHA256 Credential=…,Signature=…`` header
and the presigned-URL query parameters into one :class:`V4Claim`, with the refusals
for malformed input (missing parts, bad credential scope, bad time format). Believes
nothing: keys, tokens, clocks and signatures are checked by :mod:`headerauth`. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from localcloud.oss.errors import OssError, invalid_argument
from localcloud.oss.v4canonical import ALGORITHM, DATE_FORMAT, Q_SIGNATURE, SCOPE_TERMINATOR

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


def access_denied(message: str, ec: str | None = None, **extra: str) -> OssError:
    """Return 403 AccessDenied with optional extra XML children."""
    return OssError(403, "AccessDenied", message, ec=ec, extra=extra)


@dataclass(frozen=True)
class V4Claim:
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
    digits); whether region and product are the bucket's is :mod:`headerauth`'s call.
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


def claim_from_header(authorization: str, headers: Mapping[str, str]) -> V4Claim:
    """Read the claim of an ``Authorization: OSS4-HMAC-SHA256 …`` header."""
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
    return V4Claim(
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


def claim_from_query(params: Mapping[str, str]) -> V4Claim:
    """Read the claim of a presigned V4 URL."""
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
    return V4Claim(
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
