"""PostObject policies: conditions, expiry, the signed form for both routes, and V4 signing.

Also V4 query signing (presigned URLs, oss-multipart.md §3): :func:`presign_query` signs a
canonical request, e.g. the UploadPart URLs of multipart uploads with ``content-length``
in ``x-oss-additional-headers``; pinned to the SDK's vectors in tests/sign.

Three layers, as in a presigned POST: build the conditions, set the expiry, sign
(OSS4-HMAC-SHA256: the key-derivation chain as small named steps, pinned to the
official vectors in tests/sign/test_signing.py). Every field that goes into the form
is pinned in the policy by one function (:func:`upload_form`), so the two can never
drift. OSS form-field names live here, once.

Pure: ``now`` and the credentials are arguments; no clock, environment or SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeAlias
from urllib.parse import quote

from uploadsign.credentials import SAFETY_MARGIN, TemporaryCredentials

# OSS form-field names (wire names).
KEY = "key"
POLICY = "policy"
SIGNATURE_VERSION = "x-oss-signature-version"
CREDENTIAL = "x-oss-credential"
DATE = "x-oss-date"
SIGNATURE = "x-oss-signature"
SECURITY_TOKEN = "x-oss-security-token"
SUCCESS_ACTION_STATUS = "success_action_status"
FORBID_OVERWRITE = "x-oss-forbid-overwrite"
CONTENT_TYPE = "Content-Type"
#: Outranks the ``file`` part's Content-Type and the ``Content-Type`` field (PO21 zh).
OSS_CONTENT_TYPE = "x-oss-content-type"
CONTENT_DISPOSITION = "Content-Disposition"
OBJECT_ACL = "x-oss-object-acl"
STORAGE_CLASS = "x-oss-storage-class"
ORIGINAL_FILENAME = "x-oss-meta-original-filename"
BUCKET = "bucket"
CONTENT_LENGTH_RANGE = "content-length-range"

Condition: TypeAlias = "dict[str, str] | list[object]"


@dataclass(frozen=True)
class SignedPolicy:
    """A signed policy: the Base64 text exactly as sent, and its signature."""

    policy: str
    signature: str
    expires_at: datetime


def policy_expiry(now: datetime, lifetime_seconds: int, creds: TemporaryCredentials) -> datetime:
    """Expire at ``now + lifetime`` but never after the credentials that sign it."""
    return min(now + timedelta(seconds=lifetime_seconds), creds.expiration - SAFETY_MARGIN)


def format_expiration(moment: datetime) -> str:
    """Format the policy ``expiration`` as ISO 8601 UTC with milliseconds."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def auth_fields(creds: TemporaryCredentials, now: datetime, region: str) -> dict[str, str]:
    """Return the V4 fields a form carries besides ``policy`` and the signature."""
    return {
        SIGNATURE_VERSION: ALGORITHM,
        CREDENTIAL: credential(creds.access_key_id, now, region),
        DATE: timestamp(now),
        SECURITY_TOKEN: creds.security_token,
    }


def simple_conditions(fields: Mapping[str, str]) -> list[Condition]:
    """Pin each field in simple form, ``{name: value}`` (the V4 fields and the bucket)."""
    return [{name: value} for name, value in fields.items()]


def eq_conditions(fields: Mapping[str, str]) -> list[Condition]:
    """Pin each field with ``["eq", "$name", value]``; names as OSS compares them."""
    return [["eq", "$" + name.lower(), value] for name, value in fields.items()]


def encode(expiration: datetime, conditions: Sequence[Condition]) -> str:
    """Serialize compactly and Base64-encode; this exact text is signed and sent."""
    document = {"expiration": format_expiration(expiration), "conditions": list(conditions)}
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=True)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode(policy: str) -> dict[str, Any]:
    """Decode a Base64 policy back to its JSON document (tests and diagnostics)."""
    document = json.loads(base64.b64decode(policy, validate=True))
    if not isinstance(document, dict):
        raise ValueError("policy is not a JSON object")
    return document


def sign_policy(
    conditions: Sequence[Condition],
    *,
    creds: TemporaryCredentials,
    now: datetime,
    region: str,
    expires_at: datetime,
) -> SignedPolicy:
    """Encode the policy and sign it with the key for (secret, date of ``now``, region)."""
    text = encode(expires_at, conditions)
    key = signing_key(creds.access_key_secret, scope_date(now), region)
    return SignedPolicy(policy=text, signature=sign(key, text), expires_at=expires_at)


def upload_form(
    *,
    bucket: str,
    auth: Mapping[str, str],
    form: Mapping[str, str],
    size: int,
) -> tuple[dict[str, str], list[Condition]]:
    """Return the fields and the conditions of ``POST /uploads`` from one mapping.

    The one place where every form field also becomes a condition: the V4 fields in
    simple form, every other field with ``eq``, plus the bucket and the exact size.
    """
    conditions: list[Condition] = [
        *simple_conditions({BUCKET: bucket}),
        *simple_conditions(auth),
        *eq_conditions(form),
        [CONTENT_LENGTH_RANGE, size, size],
    ]
    return {**form, **auth}, conditions


def prefix_conditions(
    *,
    bucket: str,
    auth: Mapping[str, str],
    upload_dir: str,
    max_bytes: int,
    content_types: Sequence[str],
) -> list[Condition]:
    """Conditions of the sample-compatible route: any key under ``upload_dir``.

    ``success_action_status`` is left free because the published sample form sends it
    without the server saying which value; the allowed types are pinned only when an
    allow-list is configured, so the form must then carry a ``Content-Type`` field.
    """
    conditions: list[Condition] = [
        *simple_conditions({BUCKET: bucket}),
        *simple_conditions(auth),
        ["starts-with", "$" + KEY, upload_dir],
        [CONTENT_LENGTH_RANGE, 1, max_bytes],
    ]
    if content_types:
        conditions.append(["in", "$" + CONTENT_TYPE.lower(), list(content_types)])
    return conditions


# OSS4-HMAC-SHA256: the V4 key-derivation chain, the credential scope and the signature
# of a Base64 policy. For PostObject the string to sign is the Base64 policy text
# itself: there is no canonical request and no ``OSS4-HMAC-SHA256\\n<ts>\\n<scope>\\n<hash>``
# wrapper as in header signing (oss-postobject.md §3).
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


# V4 query signing (oss-multipart.md §3.1-3.2; the SDK's signer/v4.py ``_auth_query``).
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EXPIRES = "x-oss-expires"
ADDITIONAL_HEADERS = "x-oss-additional-headers"


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def _canonical_query(query: Mapping[str, str]) -> str:
    pairs = sorted((_encode(k), _encode(v)) for k, v in query.items())
    return "&".join(f"{k}={v}" if v else k for k, v in pairs)


def _signed_by_default(name: str) -> bool:
    return name.startswith("x-oss-") or name in ("content-type", "content-md5")


def canonical_request(method: str, uri: str, query: Mapping[str, str],
                      headers: Mapping[str, str], additional: Sequence[str]) -> str:
    """Return the canonical request of a query-signed call.

    ``uri`` is ``/bucket/key`` unencoded; ``query`` every URL parameter but the signature
    (an empty value is written bare, ``uploads``); ``headers`` those the request carries:
    ``x-oss-*``, ``content-type``, ``content-md5`` and the names in ``additional`` are signed.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    signed = sorted(n for n in lowered if _signed_by_default(n) or n in additional)
    return "\n".join([
        method.upper(), quote(uri, safe="/-_.~"),
        _canonical_query(query),
        "".join(f"{name}:{lowered[name]}\n" for name in signed),
        ";".join(additional), UNSIGNED_PAYLOAD,
    ])


def presign_query(
    method: str, uri: str, *, query: Mapping[str, str], headers: Mapping[str, str],
    additional: Sequence[str], creds: TemporaryCredentials, now: datetime, region: str,
    expires_seconds: int,
) -> str:
    """Return the URL query of a V4 presigned request, ``x-oss-signature`` last.

    ``expires_seconds`` (1..604800) counts from ``now``; ``additional`` names headers to sign
    besides the default ones (lower case; default-signed names are dropped, as the SDKs do).
    """
    extra = sorted({n.lower() for n in additional if not _signed_by_default(n.lower())})
    date = scope_date(now)
    params = {**query, **auth_fields(creds, now, region), EXPIRES: str(expires_seconds)}
    if not creds.security_token:
        del params[SECURITY_TOKEN]  # a form always sends the field; a URL only with a token
    if extra:
        params[ADDITIONAL_HEADERS] = ";".join(extra)
    request = canonical_request(method, uri, params, headers, extra)
    string_to_sign = "\n".join([ALGORITHM, timestamp(now), credential_scope(date, region),
                                 hashlib.sha256(request.encode("utf-8")).hexdigest()])
    signature = sign(signing_key(creds.access_key_secret, date, region), string_to_sign)
    return f"{_canonical_query(params)}&{SIGNATURE}={signature}"


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        # A naive datetime is ambiguous; silently assuming local time is the classic
        # cause of SignatureDoesNotMatch around midnight.
        raise ValueError("now must be timezone-aware")
    return now if now.tzinfo is timezone.utc else now.astimezone(timezone.utc)
