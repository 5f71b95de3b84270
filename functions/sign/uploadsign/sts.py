"""Thin adapter over the STS SDK: AssumeRole on the upload role.

Owns the session policy (``oss:PutObject`` and ``oss:PutObjectAcl`` on
``acs:oss:*:*:{bucket}/{upload dir}*``), the SDK client set-up and the translation of
SDK answers and exceptions into :class:`TemporaryCredentials` or :class:`StsError`. The
Alibaba SDKs are imported inside :func:`build_fetcher`, not at module import, to keep
cold starts short.

The caller identity comes from ``alibabacloud_credentials``' default chain, which on FC
reads the execution role's ``ALIBABA_CLOUD_*`` variables. The SDK sends
``POST {scheme}://{endpoint}/?DurationSeconds=..&Policy=..&RoleArn=..&RoleSessionName=..``
with ``x-acs-action: AssumeRole`` and an ``ACS3-HMAC-SHA256`` Authorization header, and
does not retry by itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from uploadsign.config import Settings
from uploadsign.credentials import TemporaryCredentials
from uploadsign.errors import StsError, StsThrottled

#: PutObjectAcl too: grants pin ``x-oss-object-acl: private``, and whether OSS checks
#: that action for an ACL set on upload is unconfirmed (oss-multipart.md), so allow it.
ACTIONS = ("oss:PutObject", "oss:PutObjectAcl")
_EXPIRATION_RE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})Z")


def session_policy(bucket: str, upload_dir: str) -> str:
    """Return the session policy that narrows the role to writes under the prefix."""
    document = {
        "Version": "1",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": list(ACTIONS),
                "Resource": [f"acs:oss:*:*:{bucket}/{upload_dir}*"],
            }
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def parse_expiration(value: object) -> datetime:
    """Parse STS's ``2015-04-09T11:52:19Z`` into an aware UTC datetime."""
    if not isinstance(value, str):
        raise StsError("MalformedResponse", "credentials carry no Expiration")
    # The pattern ``strptime("%Y-%m-%dT%H:%M:%SZ")`` accepts, without ``strptime``: its
    # first use imports ``_strptime`` and compiles its patterns, at every cold start.
    match = _EXPIRATION_RE.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError as exc:
        raise StsError("MalformedResponse", "Expiration is not ISO 8601 UTC") from exc


def credentials_from_map(body: Mapping[str, Any]) -> TemporaryCredentials:
    """Build credentials from the ``Credentials`` object of an AssumeRole answer."""
    creds = body.get("Credentials")
    if not isinstance(creds, Mapping):
        raise StsError("MalformedResponse", "answer has no Credentials object")
    values = [creds.get(name) for name in ("AccessKeyId", "AccessKeySecret", "SecurityToken")]
    if not all(isinstance(value, str) and value for value in values):
        raise StsError("MalformedResponse", "Credentials object is incomplete")
    key_id, secret, token = (str(value) for value in values)
    return TemporaryCredentials(
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=token,
        expiration=parse_expiration(creds.get("Expiration")),
    )


def build_fetcher(settings: Settings) -> Callable[[], TemporaryCredentials]:
    """Return a callable that performs one AssumeRole with the execution identity."""
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
    from alibabacloud_tea_openapi.models import Config
    from Tea.exceptions import TeaException

    timeout_ms = settings.sts_timeout_seconds * 1000
    config = Config(
        credential=CredentialClient(),
        region_id=settings.region,
        endpoint=settings.sts_endpoint.host,
        protocol=settings.sts_endpoint.protocol,
        connect_timeout=timeout_ms,
        read_timeout=timeout_ms,
    )
    client = StsClient(config)
    policy = session_policy(settings.bucket, settings.upload_dir)

    def fetch() -> TemporaryCredentials:
        request = sts_models.AssumeRoleRequest(
            role_arn=settings.role_arn,
            role_session_name=settings.sts_role_session_name,
            duration_seconds=settings.sts_duration_seconds,
            policy=policy,
        )
        try:
            response = client.assume_role(request)
        except ThrottlingException as exc:
            raise StsThrottled(
                str(exc.code or "Throttling"), "STS throttled the call", retry_after=exc.retry_after
            ) from exc
        except AlibabaCloudException as exc:
            # STS's Code (InvalidParameter, NoPermission, ...) is safe and useful to log.
            raise StsError(str(exc.code or "Error"), f"STS answered {exc.status_code}") from exc
        except TeaException as exc:
            # Transport failures, timeouts and unparsable bodies all end up here.
            raise StsError("Unavailable", type(exc).__name__) from exc
        except Exception as exc:  # a requests/urllib3 error that escaped the SDK's wrapper
            raise StsError("Unavailable", type(exc).__name__) from exc
        body = response.body.to_map() if response.body is not None else {}
        return credentials_from_map(body)

    return fetch
