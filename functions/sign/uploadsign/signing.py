"""OSS4-HMAC-SHA256 signing of PostObject policies.

Owns the V4 key-derivation chain, the credential scope and the signature of a Base64
policy. Pure: no clock (the date arrives as an argument), no environment, no SDK.

For PostObject the string to sign is the Base64 policy text itself: there is no
canonical request and no ``OSS4-HMAC-SHA256\\n<ts>\\n<scope>\\n<hash>`` wrapper as in
header signing (oss-postobject.md §3).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

ALGORITHM = "OSS4-HMAC-SHA256"
SERVICE = "oss"
TERMINATOR = "aliyun_v4_request"
SECRET_PREFIX = "aliyun_v4"
DATE_FORMAT = "%Y%m%d"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def date_key(secret: str, date: str) -> bytes:
    """Step 1: bind the secret to one UTC day (``YYYYMMDD``)."""
    return _hmac((SECRET_PREFIX + secret).encode("utf-8"), date)


def region_key(k_date: bytes, region: str) -> bytes:
    """Step 2: bind to the region ID without the ``oss-`` prefix (``cn-hangzhou``)."""
    return _hmac(k_date, region)


def service_key(k_region: bytes) -> bytes:
    """Step 3: bind to the ``oss`` service."""
    return _hmac(k_region, SERVICE)


def signing_key(secret: str, date: str, region: str) -> bytes:
    """Derive the V4 signing key; it depends only on (secret, date, region)."""
    return _hmac(service_key(region_key(date_key(secret, date), region)), TERMINATOR)


def sign(key: bytes, string_to_sign: str) -> str:
    """Return the lowercase hex HMAC-SHA256 signature, as every OSS SDK emits it."""
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def scope_date(now: datetime) -> str:
    """Return the ``YYYYMMDD`` of ``now`` in UTC (credential date and key date)."""
    return _utc(now).strftime(DATE_FORMAT)


def timestamp(now: datetime) -> str:
    """Return ``x-oss-date`` for ``now`` (ISO 8601 basic, UTC)."""
    return _utc(now).strftime(TIMESTAMP_FORMAT)


def credential_scope(date: str, region: str) -> str:
    """Return the credential scope ``<YYYYMMDD>/<region>/oss/aliyun_v4_request``."""
    return f"{date}/{region}/{SERVICE}/{TERMINATOR}"


def credential(access_key_id: str, now: datetime, region: str) -> str:
    """Return the ``x-oss-credential`` value: ``<AK>/<credential scope>``."""
    return f"{access_key_id}/{credential_scope(scope_date(now), region)}"


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        # A naive datetime is ambiguous; silently assuming local time is the classic
        # cause of SignatureDoesNotMatch around midnight.
        raise ValueError("now must be timezone-aware")
    return now if now.tzinfo is timezone.utc else now.astimezone(timezone.utc)
