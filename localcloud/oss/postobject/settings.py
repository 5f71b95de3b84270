"""The configurable readings of UNCONFIRMED PostObject behaviour, with their defaults.

Owns one frozen value; every field says which reading it selects and why the default
is the stricter one. Pure data, no dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class PostSettings:
    """Configurable readings; each default is the stricter one."""

    # x-oss-date may be at most this far in the future (UNCONFIRMED reading of "15 min").
    max_clock_skew_future: timedelta = timedelta(minutes=15)
    # Requests older than x-oss-date + this are refused (documented 7 days).
    max_request_age: timedelta = timedelta(days=7)
    # A V4 policy must constrain x-oss-signature-version, x-oss-credential, x-oss-date
    # (UNCONFIRMED whether OSS insists; every official sample includes them).
    require_v4_policy_conditions: bool = True
    # Refuse starts-with/in/not-in on the V4 fields and the token (S3 does; OSS UNCONFIRMED).
    # The reference lets an emulator evaluate whatever operator is written; the stricter
    # reading is the default here, since no signer has a reason to loosen these fields.
    reject_non_exact_on_v4_fields: bool = True
    # Accept an uppercase hex x-oss-signature (UNCONFIRMED; every SDK emits lowercase).
    accept_uppercase_hex_signature: bool = False
    max_field_name_bytes: int = 8 * 1024  # documented
    # Per-value limit: 2 MB documented; UPLOADDOC says 8 KB per field (set 8192 for that).
    max_field_value_bytes: int = 2 * 1024 * 1024
    max_prefile_bytes: int = 8 * 1024 * 1024  # fields before `file`, documented
    max_object_bytes: int = 5 * 1024**3  # documented 5 GB
    accept_v1: bool = True  # old clients still send OSSAccessKeyId/Signature
    # An unsigned form is refused as if the bucket ACL forbade it; emulated buckets
    # are never public-read-write unless this is switched on.
    allow_anonymous: bool = False
    # Bytes tolerated in parts after `file` (UNCONFIRMED that OSS ignores them at all;
    # they are ignored, but not without bound).
    max_trailing_bytes: int = 8 * 1024 * 1024
    max_metadata_bytes: int = 8 * 1024  # x-oss-meta-* names + values, documented 8 KB
    # Two fields with the same (case-insensitive) name are refused as malformed
    # (UNCONFIRMED; the alternative reading is "last one wins").
    reject_duplicate_fields: bool = True
    # An x-oss-object-acl field also needs oss:PutObjectAcl on the object. OSS documents
    # setting it on a write as "the same effect as PutObjectACL" but its PutObject
    # permission table lists only oss:PutObject (UNCONFIRMED); requiring both is stricter.
    acl_field_needs_put_object_acl: bool = True
