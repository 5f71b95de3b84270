"""The baseline: the design of Alibaba's published PostObject signing samples, re-written.

The published app-server samples answer every browser request by calling AssumeRole
through the STS SDK (building the SDK client from the caller's AccessKey each time), then
build the V4 policy (bucket, signature version, credential, security token, date and a
content-length range), Base64 it and sign it with the derived HMAC-SHA256 key. Nothing is
cached. This module does the same, with the same SDK, so the benchmark compares designs,
not implementations; ``reuse_client=True`` keeps one SDK client (kinder to the baseline).
Independent of ``uploadsign``: only the SDK and the standard library.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.models import Config
from alibabacloud_tea_util.models import RuntimeOptions


def _client(endpoint: str, protocol: str) -> StsClient:
    return StsClient(Config(
        access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        security_token=os.environ.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None,
        endpoint=endpoint,
        protocol=protocol,
        region_id="cn-hangzhou",
    ))


def make_handler(
    *, endpoint: str, protocol: str, role_arn: str, bucket: str, region: str, host: str,
    upload_dir: str = "uploads/", reuse_client: bool = False,
) -> Callable[[], dict[str, Any]]:
    """Return a callable answering one ``get_post_signature_for_oss_upload`` request."""
    shared = _client(endpoint, protocol) if reuse_client else None

    def handle() -> dict[str, Any]:
        client = shared or _client(endpoint, protocol)
        answer = client.assume_role_with_options(
            sts_models.AssumeRoleRequest(role_arn=role_arn, role_session_name="sample-session",
                                         duration_seconds=3600),
            RuntimeOptions(),
        )
        creds = answer.body.credentials
        now = datetime.now(timezone.utc)
        day = now.strftime("%Y%m%d")
        x_date = now.strftime("%Y%m%dT%H%M%SZ")
        credential = f"{creds.access_key_id}/{day}/{region}/oss/aliyun_v4_request"
        policy = {
            "expiration": (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "conditions": [
                {"bucket": bucket},
                {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
                {"x-oss-credential": credential},
                {"x-oss-security-token": creds.security_token},
                {"x-oss-date": x_date},
                ["content-length-range", 1, 3 * 1024 * 1024],
                ["eq", "$success_action_status", "200"],
                ["starts-with", "$key", upload_dir],
            ],
        }
        encoded = base64.b64encode(json.dumps(policy).encode()).decode()
        key = ("aliyun_v4" + creds.access_key_secret).encode()
        for part in (day, region, "oss", "aliyun_v4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return {
            "policy": encoded,
            "x_oss_signature_version": "OSS4-HMAC-SHA256",
            "x_oss_credential": credential,
            "x_oss_date": x_date,
            "signature": hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest(),
            "security_token": creds.security_token,
            "dir": upload_dir,
            "host": host,
        }

    return handle
