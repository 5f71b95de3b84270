"""PostObject policies: conditions, expiry and the signed form for both routes.

Three layers, as in a presigned POST: build the conditions, set the expiry, sign.
Every field that goes into the form is pinned in the policy by the same code path, so
the two can never drift. OSS form-field names live here, once.

Pure: ``now`` and the credentials are arguments; no clock, environment or SDK.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeAlias

from uploadsign import signing
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
        SIGNATURE_VERSION: signing.ALGORITHM,
        CREDENTIAL: signing.credential(creds.access_key_id, now, region),
        DATE: signing.timestamp(now),
        SECURITY_TOKEN: creds.security_token,
    }


def exact(fields: Mapping[str, str]) -> list[Condition]:
    """Pin each field to its exact value (simple-condition form for V4 fields and bucket)."""
    return [{name: value} for name, value in fields.items()]


def eq(fields: Mapping[str, str]) -> list[Condition]:
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
    key = signing.signing_key(creds.access_key_secret, signing.scope_date(now), region)
    return SignedPolicy(policy=text, signature=signing.sign(key, text), expires_at=expires_at)


def upload_conditions(
    *,
    bucket: str,
    auth: Mapping[str, str],
    form: Mapping[str, str],
    size: int,
) -> list[Condition]:
    """Conditions of ``POST /uploads``: bucket, V4 fields, every form field, exact size."""
    return [
        *exact({BUCKET: bucket}),
        *exact(auth),
        *eq(form),
        [CONTENT_LENGTH_RANGE, size, size],
    ]


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
        *exact({BUCKET: bucket}),
        *exact(auth),
        ["starts-with", "$" + KEY, upload_dir],
        [CONTENT_LENGTH_RANGE, 1, max_bytes],
    ]
    if content_types:
        conditions.append(["in", "$" + CONTENT_TYPE.lower(), list(content_types)])
    return conditions
