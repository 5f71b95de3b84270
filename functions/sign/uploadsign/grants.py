"""Application service: turn a validated request into an upload grant.

Produces the two response bodies: the exact-key grant of ``POST /uploads`` and, when
``UPLOAD_SAMPLE_ROUTE`` is on, the sample-compatible per-grant-directory grant of
``GET /get_post_signature_for_oss_upload``. Every grant gets a ``grant_id`` that the
access log records and, with a callback configured, that travels through OSS
(``x:grant-id``, with its ``x:grant-token``) into the callback's log line. Gets
credentials from an injected provider (the cache in production) and the instant ``now``
from its caller, so it does no I/O of its own.

Also owns the body of ``POST /uploads`` (:func:`parse_upload_request`): every
client-input rule of that route and which error each breach maps to.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from uploadsign import callback, mediatypes, objectkeys, policy
from uploadsign.auth import Caller
from uploadsign.config import Settings
from uploadsign.credentials import TemporaryCredentials
from uploadsign.errors import (
    BadRequest,
    InvalidSize,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedContentType,
    load_json,
)
from uploadsign.objectkeys import RandomSource, validate_filename
from uploadsign.sts import Lookup

CredentialsProvider = Callable[[], Lookup]
GRANT_ID_BYTES = 12
#: Every upload is private: objects are read through signed URLs, never publicly.
PRIVATE = "private"
#: Pinned so a holder cannot pick Archive (unreadable until restored, minimum billing).
STANDARD = "Standard"


@dataclass(frozen=True)
class Grant:
    """A response body plus what the access log wants to know about it."""

    body: dict[str, Any]
    grant_id: str
    sts_cache: str
    #: When the grant stops working (the quota's reservation lasts until then).
    expires_at: datetime | None = None


class GrantService:
    """Sign upload grants for one configured bucket."""

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialsProvider,
        random_source: RandomSource = secrets.token_bytes,
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._random = random_source
        # Depends on the settings alone: encoded once here, not once per grant.
        self._callback_field = (
            callback.callback_field(settings.callback_url) if settings.callback_url else None
        )

    def _grant_id(self) -> str:
        return self._random(GRANT_ID_BYTES).hex()

    def _expiry(self, creds: TemporaryCredentials, now: datetime) -> datetime:
        """Expire at the policy lifetime, capped by the credentials that sign it."""
        return policy.policy_expiry(now, self.settings.upload_expire_seconds, creds)

    def _sign(
        self,
        conditions: Sequence[policy.Condition],
        creds: TemporaryCredentials,
        now: datetime,
        expires_at: datetime,
    ) -> policy.SignedPolicy:
        return policy.sign_policy(
            conditions, creds=creds, now=now, region=self.settings.region, expires_at=expires_at
        )

    def prefix_grant(self, now: datetime, caller: Caller | None = None) -> Grant:
        """Return the published sample's body: the browser picks keys under a fresh ``dir``.

        The directory is the caller's prefix plus the grant id, a random segment: the
        grant can neither reach nor overwrite any object outside it. The published
        sample page sends no ACL, type or overwrite fields, so they stay unpinned here
        (the README's security section states what that leaves).
        """
        s = self.settings
        grant_id = self._grant_id()
        creds, source = self._credentials()
        prefix = objectkeys.key_prefix(
            s.key_template, upload_dir=s.upload_dir, subject=caller.subject if caller else None
        )
        upload_dir = f"{prefix}{grant_id}/"
        auth = policy.auth_fields(creds, now, s.region)
        conditions = policy.prefix_conditions(
            bucket=s.bucket,
            auth=auth,
            upload_dir=upload_dir,
            max_bytes=s.upload_max_bytes,
            content_types=s.allowed_content_types,
        )
        signed = self._sign(conditions, creds, now, self._expiry(creds, now))
        body = {
            "policy": signed.policy,
            "x_oss_signature_version": auth[policy.SIGNATURE_VERSION],
            "x_oss_credential": auth[policy.CREDENTIAL],
            "x_oss_date": auth[policy.DATE],
            "signature": signed.signature,
            "host": s.host,
            "dir": upload_dir,
            "security_token": auth[policy.SECURITY_TOKEN],
            "success_action_status": s.success_action_status,
            "expires_at": policy.format_expiration(signed.expires_at),
            "max_size": s.upload_max_bytes,
            "grant_id": grant_id,
        }
        return Grant(body, grant_id, source)

    def new_object(
        self, request: UploadRequest, now: datetime, caller: Caller | None
    ) -> tuple[str, str, str]:
        """Return a fresh grant id, the object key and the stored media type for ``request``.

        The key's extension comes from the stored type (script-capable types are stored as
        ``application/octet-stream`` unless ``UPLOAD_ALLOWED_ACTIVE_TYPES`` lists them).
        """
        s = self.settings
        grant_id = self._grant_id()
        media_type = mediatypes.stored_type(request.content_type, s.allowed_active_types)
        key = objectkeys.render_key(
            s.key_template,
            upload_dir=s.upload_dir,
            subject=caller.subject if caller else None,
            extension=mediatypes.extension(media_type),
            now=now,
            random_source=self._random,
        )
        return grant_id, key, media_type

    def callback_fields(self, claims: callback.GrantClaims) -> dict[str, str]:
        """Return the callback, grant id and grant token for ``claims``; none without a
        callback URL (PostObject sends them as form fields, multipart complete as headers)."""
        if self._callback_field is None:
            return {}
        return {callback.CALLBACK: self._callback_field, callback.GRANT_ID: claims.grant_id,
                callback.GRANT_TOKEN: callback.mint_token(self.settings.grant_secrets[0], claims)}

    def upload_grant(
        self, request: UploadRequest, now: datetime, caller: Caller | None = None
    ) -> Grant:
        """Return a grant for exactly one object.

        Pinned in the form and the policy alike: the key (its extension from the stored
        type), a private ACL, the stored type in ``x-oss-content-type`` (the field OSS
        ranks above the ``file`` part's type and the ``Content-Type`` field), the
        disposition, the Standard storage class, the exact size, no overwrite, and with a
        callback configured the callback, the grant id and the grant token.
        """
        s = self.settings
        grant_id, key, media_type = self.new_object(request, now, caller)
        creds, source = self._credentials()
        expires_at = self._expiry(creds, now)
        form = {
            policy.KEY: key,
            policy.OBJECT_ACL: PRIVATE,
            policy.OSS_CONTENT_TYPE: media_type,
            policy.CONTENT_DISPOSITION: mediatypes.content_disposition(
                media_type, request.filename
            ),
            policy.STORAGE_CLASS: STANDARD,
            policy.ORIGINAL_FILENAME: objectkeys.metadata_value(request.filename),
            policy.SUCCESS_ACTION_STATUS: s.success_action_status,
            policy.FORBID_OVERWRITE: "true",
        }
        form |= self.callback_fields(callback.GrantClaims(
            grant_id=grant_id, bucket=s.bucket, key=key, size=request.size,
            media_type=media_type, expires=int(expires_at.timestamp()),
        ))
        auth = policy.auth_fields(creds, now, s.region)
        fields, conditions = policy.upload_form(
            bucket=s.bucket, auth=auth, form=form, size=request.size
        )
        signed = self._sign(conditions, creds, now, expires_at)
        fields |= {policy.POLICY: signed.policy, policy.SIGNATURE: signed.signature}
        body = {
            "mode": "post",
            "url": s.host,
            "fields": fields,
            "key": key,
            "expires_at": policy.format_expiration(signed.expires_at),
            "max_size": request.size,
            "grant_id": grant_id,
        }
        return Grant(body, grant_id, source, signed.expires_at)


# The body of ``POST /uploads``: every client-input rule of the recommended route and
# which error each breach maps to (400 malformed/missing/wrong type, 413 too large,
# 415 type not allowed, 422 unacceptable value).
FILENAME = "filename"
SIZE = "size"
CONTENT_TYPE = "content_type"
FIELDS = (FILENAME, SIZE, CONTENT_TYPE)


@dataclass(frozen=True)
class UploadRequest:
    """What a browser asks to upload; already validated.

    ``content_type`` is the declared type's essence (``type/subtype``, lower case;
    ``application/octet-stream`` when the browser sent ``""``).
    """

    filename: str
    size: int
    content_type: str


def parse_upload_request(
    body: bytes, *, max_bytes: int, allowed_types: Sequence[str]
) -> UploadRequest:
    """Parse and validate the JSON body; raise the ``SignError`` a client should see."""
    document = load_json(body)
    if not isinstance(document, dict):
        raise MalformedJson("body must be a JSON object")
    missing = [name for name in FIELDS if name not in document]
    if missing:
        raise BadRequest("missing field(s): " + ", ".join(missing))
    filename, size, content_type = (document[name] for name in FIELDS)
    if not isinstance(filename, str):
        raise BadRequest(f"{FILENAME} must be a string")
    # bool is an int in Python; JSON true is not a size.
    if not isinstance(size, int) or isinstance(size, bool):
        raise BadRequest(f"{SIZE} must be an integer")
    if not isinstance(content_type, str):
        raise BadRequest(f"{CONTENT_TYPE} must be a string")
    if size <= 0:
        raise InvalidSize(f"{SIZE} must be a positive number of bytes")
    if size > max_bytes:
        raise PayloadTooLarge(f"{SIZE} exceeds the limit of {max_bytes} bytes")
    # Browsers send "" for an unknown extension and may add parameters; compare the essence.
    content_type = mediatypes.essence(content_type)
    if allowed_types and content_type not in allowed_types:
        raise UnsupportedContentType(
            f"{CONTENT_TYPE} {content_type} is not allowed; allowed: " + ", ".join(allowed_types)
        )
    return UploadRequest(filename=validate_filename(filename), size=size, content_type=content_type)
