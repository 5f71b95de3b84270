"""PostObject, the fields' decision: what the fields before ``file`` allow, and where it goes.

Owns steps 1 and 3–7 of oss-postobject.md §14 for the fields that precede the file:
``key`` present, signature (:mod:`signature`), policy decoding, expiration and
conditions (:mod:`policy`, with the ``$content-type`` fallback of §5.4 and the
bucket taken from the address), ``${filename}`` expansion *after* the check, the RAM
permission of the signer, and the stored-object attributes (Content-Type precedence,
headers, metadata, ACL, storage class, forbid-overwrite, callback), refusing any name or
value that could not come back byte for byte (:mod:`localcloud.oss.objectnames`). Pure:
``now`` and the identity lookup come in; nothing is read or written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from localcloud.identity import FindPrincipal, oss_object_resource
from localcloud.oss.callback import CallbackSpec, parse_callback
from localcloud.oss.errors import (
    access_denied_by_bucket_acl,
    access_denied_by_ram,
    invalid_argument,
)
from localcloud.oss.objectnames import (
    META_PREFIX,
    check_metadata_name,
    check_object_name,
    check_stored_value,
)
from localcloud.oss.postobject import errors, signature
from localcloud.oss.postobject.policy import (
    OP_EQ,
    check_conditions,
    check_expiration,
    decode_policy,
)
from localcloud.oss.postobject.settings import PostSettings

FIELD_KEY = "key"
FIELD_CALLBACK = "callback"
FIELD_CONTENT_TYPE = "content-type"
FIELD_OSS_CONTENT_TYPE = "x-oss-content-type"
FIELD_ACL = "x-oss-object-acl"
FIELD_STORAGE_CLASS = "x-oss-storage-class"
FIELD_FORBID_OVERWRITE = "x-oss-forbid-overwrite"
FIELD_BUCKET = "bucket"
CALLBACK_VAR_PREFIX = "x:"
FILENAME_VARIABLE = "${filename}"
ACTION_PUT_OBJECT = "oss:PutObject"
ACTION_PUT_OBJECT_ACL = "oss:PutObjectAcl"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
FIELD_REDIRECT = "success_action_redirect"  # sent back as the 303's Location
STORED_HEADERS = ("Cache-Control", "Content-Disposition", "Content-Encoding", "Expires")
STORED_FIELDS = tuple(h.lower() for h in STORED_HEADERS)
ACLS = ("private", "public-read", "public-read-write", "default")
STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
V4_REQUIRED_CONDITIONS = (
    signature.FIELD_SIGNATURE_VERSION, signature.FIELD_CREDENTIAL, signature.FIELD_DATE,
)
V4_EXACT_FIELDS = (*V4_REQUIRED_CONDITIONS, signature.FIELD_SECURITY_TOKEN)


@dataclass(frozen=True)
class PostContext:
    """What the shell knows about the request besides its body."""

    bucket: str  # the addressed bucket (from Host or path)
    now: datetime  # aware UTC
    lookup: FindPrincipal  # IdentityStore.lookup
    settings: PostSettings
    spool_dir: Path  # same filesystem as the store, so rename is atomic


@dataclass(frozen=True)
class FormHead:
    """A form as read up to its file part: fields and request headers (lower-case names)."""

    fields: Mapping[str, str]
    filename: str | None  # the file part's client-side name
    file_type: str | None  # the file part's Content-Type
    headers: Mapping[str, str]


@dataclass(frozen=True)
class FormPlan:
    """What the fields decided: where the file goes, within which sizes, with what."""

    key: str
    min_size: int
    max_size: int | None
    content_type: str
    headers: dict[str, str]
    metadata: dict[str, str]
    acl: str | None
    storage_class: str | None
    forbid_overwrite: bool
    callback: CallbackSpec | None
    callback_vars: dict[str, str]
    access_key_id: str


def _content_type(fields: Mapping[str, str], file_type: str | None) -> tuple[str, str | None]:
    """Precedence per the reference: x-oss-content-type, the file part's, the field.

    Returns the value and the name it came by (the file part's header is a Content-Type).
    """
    if fields.get(FIELD_OSS_CONTENT_TYPE):
        return FIELD_OSS_CONTENT_TYPE, fields[FIELD_OSS_CONTENT_TYPE]
    return FIELD_CONTENT_TYPE, file_type or fields.get(FIELD_CONTENT_TYPE)


def _check_v4_policy_shape(policy_conditions: Callable[[str], tuple[object, ...]],
                           ops: Callable[[str], set[str]], settings: PostSettings) -> None:
    if settings.require_v4_policy_conditions:
        missing = [name for name in V4_REQUIRED_CONDITIONS if not policy_conditions(name)]
        if missing:
            raise errors.invalid_policy(
                "Invalid Policy: a V4 policy must contain conditions on "
                + ", ".join(missing) + "."
            )
    if settings.reject_non_exact_on_v4_fields:
        for name in V4_EXACT_FIELDS:
            if ops(name) - {OP_EQ}:
                raise errors.invalid_policy(
                    f"Invalid Policy: only exact matching is allowed on {name}."
                )


def _check_stored_values(fields: Mapping[str, str], content_type: tuple[str, str | None],
                         ) -> None:
    """Refuse values the object would keep and send back as headers (or as ``Location``).

    Form values are UTF-8 already (the multipart reader refuses anything else), so
    what is left to refuse is a control character; only the Content-Type that will be
    stored is checked, under the name it came by.
    """
    for name in (*STORED_FIELDS, FIELD_REDIRECT):
        if name in fields:
            check_stored_value(name, fields[name])
    for name, value in fields.items():
        if name.startswith(META_PREFIX):
            check_metadata_name(name)
            check_stored_value(name, value)
    type_field, type_value = content_type
    if type_value is not None:
        check_stored_value(type_field, type_value)


def _attributes(fields: Mapping[str, str], settings: PostSettings) -> tuple[
        str | None, str | None, dict[str, str]]:
    acl = fields.get(FIELD_ACL)
    if acl is not None and acl not in ACLS:
        raise invalid_argument("no such object access control exists",
                                       name=FIELD_ACL, value=acl)
    storage_class = fields.get(FIELD_STORAGE_CLASS)
    if storage_class is not None and storage_class not in STORAGE_CLASSES:
        raise invalid_argument("Invalid storage class.", name=FIELD_STORAGE_CLASS,
                                       value=storage_class)
    metadata = {n: v for n, v in fields.items() if n.startswith(META_PREFIX)}
    if sum(len(n) + len(v.encode("utf-8")) for n, v in metadata.items()) > \
            settings.max_metadata_bytes:
        raise errors.metadata_too_large()
    return acl, storage_class, metadata


def plan_upload(head: FormHead, ctx: PostContext) -> FormPlan:
    """Verify the pre-file fields and decide the upload, or raise OssError."""
    fields, filename, file_type = head.fields, head.filename, head.file_type
    bucket, now, settings = ctx.bucket, ctx.now, ctx.settings
    if FIELD_KEY not in fields:
        raise errors.missing_field("key")
    rules = signature.AuthRules(
        settings.max_clock_skew_future, settings.max_request_age,
        settings.accept_uppercase_hex_signature, settings.accept_v1,
    )
    auth = signature.authenticate(fields, now, ctx.lookup, rules)
    low, high = 0, None
    if auth is None:
        if not settings.allow_anonymous:
            raise access_denied_by_bucket_acl()
    else:
        policy = decode_policy(auth.policy_b64)
        check_expiration(policy, now)
        if auth.version == "v4":
            _check_v4_policy_shape(
                policy.conditions_on,
                lambda name: {c.op for c in policy.conditions_on(name)},
                settings,
            )
        values = dict(fields)
        values[FIELD_BUCKET] = bucket  # compared with the addressed bucket, never the form
        if FIELD_CONTENT_TYPE not in values:
            # §5.4 UNCONFIRMED: an absent Content-Type field falls back to
            # x-oss-content-type, then the file part's type; other absent fields fail.
            fallback = fields.get(FIELD_OSS_CONTENT_TYPE) or file_type
            if fallback is not None:
                values[FIELD_CONTENT_TYPE] = fallback
        check_conditions(policy, values)
        low, high = policy.length_bounds()
    key = fields[FIELD_KEY].replace(FILENAME_VARIABLE, filename or "")
    check_object_name(key)  # after ${filename}: the client's file name is part of the key
    actions = [ACTION_PUT_OBJECT]
    if FIELD_ACL in fields and settings.acl_field_needs_put_object_acl:
        actions.append(ACTION_PUT_OBJECT_ACL)
    if auth is not None and not all(
        auth.principal.is_allowed(action, oss_object_resource(bucket, key)) for action in actions
    ):
        raise access_denied_by_ram()
    stored_type = _content_type(fields, file_type)
    _check_stored_values(fields, stored_type)
    acl, storage_class, metadata = _attributes(fields, settings)
    callback = None
    if FIELD_CALLBACK in fields:
        spec = parse_callback(fields[FIELD_CALLBACK])
        callback = spec if spec.urls else None  # an empty callbackUrl means no callback
    forbid = fields.get(FIELD_FORBID_OVERWRITE) or head.headers.get(FIELD_FORBID_OVERWRITE)
    return FormPlan(
        key=key, min_size=low, max_size=high,
        content_type=stored_type[1] or DEFAULT_CONTENT_TYPE,
        headers={h: fields[h.lower()] for h in STORED_HEADERS if h.lower() in fields},
        metadata=metadata, acl=acl, storage_class=storage_class,
        forbid_overwrite=(forbid or "").strip().lower() == "true",
        callback=callback,
        callback_vars={n: v for n, v in fields.items() if n.startswith(CALLBACK_VAR_PREFIX)},
        access_key_id=auth.principal.access_key_id if auth else "",
    )
