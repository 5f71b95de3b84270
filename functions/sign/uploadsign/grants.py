"""Application service: turn a validated request into an upload grant.

Produces the two response bodies: the sample-compatible prefix grant of
``GET /get_post_signature_for_oss_upload`` and the exact-key grant of
``POST /uploads``. Every grant gets a ``grant_id`` that the access log records and, with
a callback configured, that travels through OSS (``x:grant-id``) into the callback's log
line. Gets credentials from an injected provider (the cache in production) and the
instant ``now`` from its caller, so it does no I/O of its own.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from uploadsign import callback, keys, policy
from uploadsign.auth import Caller
from uploadsign.config import Settings
from uploadsign.credentials import Lookup, TemporaryCredentials
from uploadsign.keys import RandomSource
from uploadsign.upload_request import UploadRequest

CredentialsProvider = Callable[[], Lookup]
GRANT_ID_BYTES = 12


@dataclass(frozen=True)
class Grant:
    """A response body plus what the access log wants to know about it."""

    body: dict[str, Any]
    grant_id: str
    sts_cache: str


class GrantService:
    """Sign upload grants for one configured bucket."""

    def __init__(
        self,
        settings: Settings,
        credentials: CredentialsProvider,
        # ``os.urandom`` is what ``secrets.token_bytes`` returns, minus two Python calls.
        random_source: RandomSource = os.urandom,
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

    def _sign(
        self, conditions: Sequence[policy.Condition], creds: TemporaryCredentials, now: datetime
    ) -> policy.SignedPolicy:
        """Sign with an expiry capped by both the policy lifetime and the credentials'."""
        s = self.settings
        return policy.sign_policy(
            conditions,
            creds=creds,
            now=now,
            region=s.region,
            expires_at=policy.policy_expiry(now, s.upload_expire_seconds, creds),
        )

    def prefix_grant(self, now: datetime, caller: Caller | None = None) -> Grant:
        """Return the published sample's body: the browser picks a key under ``dir``."""
        s = self.settings
        grant_id = self._grant_id()
        creds, source = self._credentials()
        upload_dir = keys.key_prefix(
            s.key_template, upload_dir=s.upload_dir, subject=caller.subject if caller else None
        )
        auth = policy.auth_fields(creds, now, s.region)
        conditions = policy.prefix_conditions(
            bucket=s.bucket,
            auth=auth,
            upload_dir=upload_dir,
            max_bytes=s.upload_max_bytes,
            content_types=s.allowed_content_types,
        )
        signed = self._sign(conditions, creds, now)
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

    def upload_grant(
        self, request: UploadRequest, now: datetime, caller: Caller | None = None
    ) -> Grant:
        """Return a grant for exactly one object: key, type, size (and callback) pinned."""
        s = self.settings
        grant_id = self._grant_id()
        creds, source = self._credentials()
        key = keys.render_key(
            s.key_template,
            upload_dir=s.upload_dir,
            subject=caller.subject if caller else None,
            filename=request.filename,
            now=now,
            random_source=self._random,
        )
        form = {
            policy.KEY: key,
            policy.CONTENT_TYPE: request.content_type,
            policy.ORIGINAL_FILENAME: keys.metadata_value(request.filename),
            policy.SUCCESS_ACTION_STATUS: s.success_action_status,
            policy.FORBID_OVERWRITE: "true",
        }
        if self._callback_field is not None:
            form[callback.CALLBACK] = self._callback_field
            form[callback.GRANT_ID] = grant_id
        auth = policy.auth_fields(creds, now, s.region)
        conditions = policy.upload_conditions(
            bucket=s.bucket, auth=auth, form=form, size=request.size
        )
        signed = self._sign(conditions, creds, now)
        fields = {
            **form,
            **auth,
            policy.POLICY: signed.policy,
            policy.SIGNATURE: signed.signature,
        }
        body = {
            "url": s.host,
            "fields": fields,
            "key": key,
            "expires_at": policy.format_expiration(signed.expires_at),
            "max_size": request.size,
            "grant_id": grant_id,
        }
        return Grant(body, grant_id, source)
