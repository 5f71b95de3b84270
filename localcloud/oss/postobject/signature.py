"""Who signed a PostObject form, and whether the signature holds.

Owns the authentication fields of a POST form (oss-postobject.md §2.1, §3, §4, §11.3):
V4 (``x-oss-signature-version`` / ``x-oss-credential`` / ``x-oss-date`` /
``x-oss-signature``) with its credential scope (terminator, date, the bucket's region,
product ``oss``), the date consistency rules and the clock window,
V1 (``OSSAccessKeyId`` / ``Signature``) and the security-token check for STS keys. The
HMAC chains are those of :mod:`localcloud.oss.v4canonical` and
:mod:`localcloud.oss.v1header` (the object API signs the same way), independent of the
project's signer (the two meet only in the known-answer vectors). Pure: ``now`` and the
identity lookup are passed in; comparisons are constant-time. Must not import
``functions/sign``.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from localcloud.config import REGION
from localcloud.identity import FindPrincipal, Principal
from localcloud.oss.errors import invalid_argument
from localcloud.oss.postobject import errors
from localcloud.oss.v1header import sign_v1
from localcloud.oss.v4canonical import (
    ALGORITHM,
    DATE_FORMAT,
    PRODUCT,
    SCOPE_TERMINATOR,
    sign,
    signing_key,
)

FIELD_SIGNATURE_VERSION = "x-oss-signature-version"
FIELD_CREDENTIAL = "x-oss-credential"
FIELD_DATE = "x-oss-date"
FIELD_SIGNATURE = "x-oss-signature"
FIELD_SECURITY_TOKEN = "x-oss-security-token"
FIELD_POLICY = "policy"
FIELD_V1_ACCESS_KEY = "ossaccesskeyid"  # lower-case: form names are case-insensitive
FIELD_V1_SIGNATURE = "signature"
EC_BAD_VERSION = "0002-00000701"
EC_POLICY_MISSING = "0002-00000702"
EC_V1_SIGNATURE_EMPTY = "0002-00000703"
EC_V4_SIGNATURE_EMPTY = "0002-00000704"
EC_AK_MISSING = "0002-00000706"
EC_CREDENTIAL_AK = "0002-00000708"
EC_CREDENTIAL_DATE = "0002-00000709"
EC_CREDENTIAL_FORMAT = "0002-00000710"


@dataclass(frozen=True)
class AuthRules:
    """The configurable readings this module needs (copied from PostSettings).

    ``region``: the region a V4 credential must name, the addressed bucket's (every
    emulated bucket lives in the local cloud's one region); ``None`` accepts any.
    """

    max_clock_skew_future: timedelta
    max_request_age: timedelta
    accept_uppercase_hex_signature: bool
    accept_v1: bool
    region: str | None = REGION


@dataclass(frozen=True)
class Authenticated:
    """A form whose signature holds: who signed it and which scheme was used."""

    principal: Principal
    version: str  # "v4" or "v1"
    policy_b64: str


def v4_signing_key(secret: str, date: str, region: str) -> bytes:
    """Derive the V4 signing key for OSS (the same chain as signed object-API requests)."""
    return signing_key(secret, date, region, PRODUCT)


def v4_post_signature(secret: str, date: str, region: str, policy_b64: str) -> str:
    """Sign the Base64 policy as sent (no canonical request for POST), lowercase hex."""
    return sign(v4_signing_key(secret, date, region), policy_b64)


def v1_post_signature(secret: str, policy_b64: str) -> str:
    """Sign the Base64 policy the V1 way: Base64 of HMAC-SHA1, as V1 headers are signed."""
    return sign_v1(secret, policy_b64)


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _identify(
    access_key_id: str, token: str | None, now: datetime, lookup: FindPrincipal
) -> Principal:
    """Find the principal and check its security token.

    A token sent with a long-lived key is refused as an invalid token: such a key has
    no session, so the token cannot belong to it.
    """
    principal = lookup(access_key_id)
    if principal is None:
        raise errors.unknown_access_key()
    if principal.security_token is None:
        if token:
            raise errors.invalid_security_token()
    else:
        if not token:
            raise errors.missing_security_token()
        if not _same(principal.security_token, token):
            raise errors.invalid_security_token()
    if principal.is_expired(now):
        raise errors.security_token_expired()
    return principal


def _require_policy(fields: Mapping[str, str]) -> str:
    policy = fields.get(FIELD_POLICY)
    if not policy:
        # UNCONFIRMED status/Code (reference default 400 InvalidArgument, EC 0002-00000702).
        raise errors.missing_field("policy", ec=EC_POLICY_MISSING)
    return policy


def _check_v4_date(value: str, credential_date: str, now: datetime, rules: AuthRules) -> None:
    try:
        signed_at = datetime.strptime(value, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise invalid_argument(
            f"Invalid x-oss-date: '{value}'.", ec=EC_CREDENTIAL_DATE
        ) from exc
    if value[:8] != credential_date:
        raise invalid_argument(
            "The date in x-oss-credential does not match x-oss-date.", ec=EC_CREDENTIAL_DATE
        )
    # UNCONFIRMED reading of OSS's "15 minutes": x-oss-date may lie at most that far in
    # the future of server time; a request older than 7 days is refused (both configurable).
    if signed_at > now + rules.max_clock_skew_future or now > signed_at + rules.max_request_age:
        raise errors.request_time_too_skewed()


def _parse_credential(credential: str, rules: AuthRules) -> tuple[str, str, str]:
    """Check the credential's scope in its order: terminator, key id, date, region, product."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != SCOPE_TERMINATOR or not parts[3] or not parts[2]:
        raise invalid_argument(
            f"Invalid x-oss-credential: '{credential}'.", ec=EC_CREDENTIAL_FORMAT
        )
    access_key_id, date, region, product = parts[0], parts[1], parts[2], parts[3]
    if not access_key_id or not all(c.isprintable() and not c.isspace() for c in access_key_id):
        raise invalid_argument(
            "Invalid AccessKeyId in x-oss-credential.", ec=EC_CREDENTIAL_AK
        )
    try:
        datetime.strptime(date, "%Y%m%d")
        valid_date = len(date) == 8 and date.isdigit()
    except ValueError:
        valid_date = False
    if not valid_date:
        raise invalid_argument(
            f"Invalid SignDate in x-oss-credential: '{date}'.", ec=EC_CREDENTIAL_DATE
        )
    # The region is the bare region ID of the bucket (cn-hangzhou), never the endpoint
    # style (oss-cn-hangzhou) nor another region: EC 0002-00000715, compared exactly.
    if rules.region is not None and region != rules.region:
        raise errors.signing_region_invalid(credential)
    if product != PRODUCT:
        raise errors.signing_product_invalid(credential)
    return access_key_id, date, region


def _authenticate_v4(
    fields: Mapping[str, str], now: datetime, lookup: FindPrincipal, rules: AuthRules
) -> Authenticated:
    credential = fields.get(FIELD_CREDENTIAL)
    if not credential:
        raise errors.missing_field("x-oss-credential", ec=EC_CREDENTIAL_FORMAT)
    date = fields.get(FIELD_DATE)
    if not date:
        raise errors.missing_field("x-oss-date", ec=EC_CREDENTIAL_DATE)
    signature = fields.get(FIELD_SIGNATURE)
    if not signature:
        raise errors.signature_empty(EC_V4_SIGNATURE_EMPTY)
    policy = _require_policy(fields)
    access_key_id, credential_date, region = _parse_credential(credential, rules)
    _check_v4_date(date, credential_date, now, rules)
    principal = _identify(access_key_id, fields.get(FIELD_SECURITY_TOKEN), now, lookup)
    expected = v4_post_signature(principal.access_key_secret, credential_date, region, policy)
    # UNCONFIRMED whether OSS compares hex case-insensitively; exact by default.
    given = signature.lower() if rules.accept_uppercase_hex_signature else signature
    if not _same(expected, given):
        raise errors.signature_mismatch()
    return Authenticated(principal, "v4", policy)


def _authenticate_v1(
    fields: Mapping[str, str], now: datetime, lookup: FindPrincipal, rules: AuthRules
) -> Authenticated:
    if not rules.accept_v1:
        raise invalid_argument(
            "V1 form signatures are disabled on this endpoint.", ec=EC_BAD_VERSION
        )
    access_key_id = fields.get(FIELD_V1_ACCESS_KEY)
    if access_key_id is None:
        raise errors.missing_field("OSSAccessKeyId", ec=EC_AK_MISSING, with_argument=True)
    if not access_key_id:
        raise invalid_argument("Post request accessKeyId is empty.", ec=EC_AK_MISSING)
    policy = _require_policy(fields)
    signature = fields.get(FIELD_V1_SIGNATURE)
    if not signature:
        raise errors.signature_empty(EC_V1_SIGNATURE_EMPTY)
    principal = _identify(access_key_id, fields.get(FIELD_SECURITY_TOKEN), now, lookup)
    if not _same(v1_post_signature(principal.access_key_secret, policy), signature):
        raise errors.signature_mismatch()
    return Authenticated(principal, "v1", policy)


def authenticate(
    fields: Mapping[str, str], now: datetime, lookup: FindPrincipal, rules: AuthRules
) -> Authenticated | None:
    """Verify the form's signature; None means an anonymous form (no auth fields at all).

    ``fields`` maps lower-case field names to values. The scheme is chosen by the
    fields present: ``x-oss-signature-version`` selects V4 (and must say
    OSS4-HMAC-SHA256); ``OSSAccessKeyId``/``Signature`` select V1.
    """
    version = fields.get(FIELD_SIGNATURE_VERSION)
    if version is not None:
        if version != ALGORITHM:
            raise invalid_argument(
                f"Invalid signature version: '{version}'.", ec=EC_BAD_VERSION
            )
        return _authenticate_v4(fields, now, lookup, rules)
    if FIELD_V1_ACCESS_KEY in fields or FIELD_V1_SIGNATURE in fields:
        return _authenticate_v1(fields, now, lookup, rules)
    if FIELD_CREDENTIAL in fields or FIELD_SIGNATURE in fields:
        raise invalid_argument(
            "The bucket POST must contain the specified 'x-oss-signature-version'.",
            ec=EC_BAD_VERSION,
        )
    if FIELD_POLICY in fields:
        raise errors.missing_field("OSSAccessKeyId", ec=EC_AK_MISSING, with_argument=True)
    return None
