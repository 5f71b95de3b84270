"""Application service: turn a validated request into an upload grant.

Produces the two response bodies: the sample-compatible prefix grant of
``GET /get_post_signature_for_oss_upload`` and the exact-key grant of
``POST /uploads``. Gets credentials from an injected provider (the cache in
production) and the instant ``now`` from its caller, so it does no I/O of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from uploadsign import keys, policy
from uploadsign.config import Settings
from uploadsign.credentials import TemporaryCredentials
from uploadsign.keys import RandomSource
from uploadsign.upload_request import UploadRequest

CredentialsProvider = Callable[[], TemporaryCredentials]


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

    def prefix_grant(self, now: datetime) -> dict[str, Any]:
        """Return the published sample's body: the browser picks a key under ``dir``."""
        s = self.settings
        creds = self._credentials()
        auth = policy.auth_fields(creds, now, s.region)
        conditions = policy.prefix_conditions(
            bucket=s.bucket,
            auth=auth,
            upload_dir=s.upload_dir,
            max_bytes=s.upload_max_bytes,
            content_types=s.allowed_content_types,
        )
        signed = policy.sign_policy(
            conditions,
            creds=creds,
            now=now,
            region=s.region,
            expires_at=policy.policy_expiry(now, s.upload_expire_seconds, creds),
        )
        return {
            "policy": signed.policy,
            "x_oss_signature_version": auth[policy.SIGNATURE_VERSION],
            "x_oss_credential": auth[policy.CREDENTIAL],
            "x_oss_date": auth[policy.DATE],
            "signature": signed.signature,
            "host": s.host,
            "dir": s.upload_dir,
            "security_token": auth[policy.SECURITY_TOKEN],
            "success_action_status": s.success_action_status,
            "expires_at": policy.format_expiration(signed.expires_at),
            "max_size": s.upload_max_bytes,
        }

    def upload_grant(self, request: UploadRequest, now: datetime) -> dict[str, Any]:
        """Return a grant for exactly one object: key, type and size all pinned."""
        s = self.settings
        creds = self._credentials()
        key = keys.choose_key(s.upload_dir, request.filename, now, self._random)
        form = {
            policy.KEY: key,
            policy.CONTENT_TYPE: request.content_type,
            policy.ORIGINAL_FILENAME: keys.metadata_value(request.filename),
            policy.SUCCESS_ACTION_STATUS: s.success_action_status,
            policy.FORBID_OVERWRITE: "true",
        }
        auth = policy.auth_fields(creds, now, s.region)
        conditions = policy.upload_conditions(
            bucket=s.bucket, auth=auth, form=form, size=request.size
        )
        signed = policy.sign_policy(
            conditions,
            creds=creds,
            now=now,
            region=s.region,
            expires_at=policy.policy_expiry(now, s.upload_expire_seconds, creds),
        )
        fields = {
            **form,
            **auth,
            policy.POLICY: signed.policy,
            policy.SIGNATURE: signed.signature,
        }
        return {
            "url": s.host,
            "fields": fields,
            "key": key,
            "expires_at": policy.format_expiration(signed.expires_at),
            "max_size": request.size,
        }
