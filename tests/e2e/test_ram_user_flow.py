"""Alibaba's documented server-signed upload flow runs against the local cloud, from a RAM user.

The flow: a RAM user's long-term AccessKey calls STS AssumeRole on the upload role, and the
temporary credentials sign a V4 PostObject policy that uploads a file. Run twice, with
independent clients: the Python SDKs Alibaba's walkthrough uses (``alibabacloud_credentials``
and ``alibabacloud_sts20150401``, the policy signed here by hand as the walkthrough does,
never through ``functions/sign``), and ``ali-oss`` in Node.js (``tests/node``). What landed
is read back as admin with the official OSS SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone

import alibabacloud_oss_v2 as oss
import pytest
from alibabacloud_credentials.client import Client as CredentialClient
from alibabacloud_credentials.models import Config as CredentialConfig
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from localcloud.devidentity import RAM_USER_ARN, UPLOAD_ROLE_ARN
from localcloud.stack import ENDPOINTS_FILE, LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.forms import multipart, request
from tests.e2e.nodejs import NODE_DIR, run_node


@pytest.fixture(scope="module")
def cloud(storage_cloud: LocalCloud) -> LocalCloud:
    """The emulator and the STS stub (the flow needs no signing function)."""
    return storage_cloud


@pytest.fixture(autouse=True)
def _ram_user_secret_never_logged(cloud: LocalCloud, logged_secrets: set[str]) -> None:
    logged_secrets.add(cloud.ram_user_credentials.access_key_secret)


def _endpoints(cloud: LocalCloud) -> dict[str, object]:
    document: dict[str, object] = json.loads(
        (cloud.state_dir / ENDPOINTS_FILE).read_text(encoding="utf-8"))
    return document


def _stored(cloud: LocalCloud, key: str) -> bytes:
    got = admin_client(cloud).get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=key))
    body: bytes = got.body.read()
    return body


# --- the walkthrough's Python code, written out here -------------------------------------------


def _assume_upload_role(cloud: LocalCloud, access_key_id: str, secret: str) -> dict[str, str]:
    """AssumeRole as the walkthrough does: credentials client -> STS client -> credentials."""
    credential = CredentialClient(CredentialConfig(
        type="access_key", access_key_id=access_key_id, access_key_secret=secret))
    # In the cloud: endpoint=f"sts.{region}.aliyuncs.com" over HTTPS.
    config = Config(credential=credential, region_id=cloud.region,
                    endpoint=cloud.sts.endpoint, protocol="http")
    response = StsClient(config).assume_role(sts_models.AssumeRoleRequest(
        role_arn=UPLOAD_ROLE_ARN, role_session_name="ram-user-upload", duration_seconds=3600))
    credentials: dict[str, str] = response.body.credentials.to_map()
    return credentials


def _hmac_sha256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def _signed_post_fields(credentials: dict[str, str], *, bucket: str, region: str,
                        upload_dir: str, now: datetime) -> dict[str, str]:
    """Build the V4 PostObject fields the walkthrough's server hands to the browser."""
    date = now.strftime("%Y%m%d")
    x_oss_date = now.strftime("%Y%m%dT%H%M%SZ")
    x_oss_credential = f"{credentials['AccessKeyId']}/{date}/{region}/oss/aliyun_v4_request"
    policy = {
        "expiration": (now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [
            {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
            {"x-oss-credential": x_oss_credential},
            {"x-oss-security-token": credentials["SecurityToken"]},
            {"x-oss-date": x_oss_date},
            {"bucket": bucket},
            ["starts-with", "$key", upload_dir],
        ],
    }
    string_to_sign = base64.b64encode(json.dumps(policy).encode("utf-8")).decode("ascii")
    date_key = _hmac_sha256(f"aliyun_v4{credentials['AccessKeySecret']}".encode(), date)
    region_key = _hmac_sha256(date_key, region)
    service_key = _hmac_sha256(region_key, "oss")
    signing_key = _hmac_sha256(service_key, "aliyun_v4_request")
    signature = hmac.new(signing_key, string_to_sign.encode("ascii"), hashlib.sha256).hexdigest()
    return {
        "policy": string_to_sign,
        "x-oss-signature-version": "OSS4-HMAC-SHA256",
        "x-oss-credential": x_oss_credential,
        "x-oss-date": x_oss_date,
        "x-oss-signature": signature,
        "x-oss-security-token": credentials["SecurityToken"],
    }


# --- the tests -----------------------------------------------------------------------------------


def test_endpoints_json_names_a_long_term_ram_user_that_the_upload_role_trusts(
    cloud: LocalCloud,
) -> None:
    saved = _endpoints(cloud)
    user = cloud.ram_user_credentials
    assert saved["ram_user_identity"] == {"access_key_id": user.access_key_id,
                                          "access_key_secret": user.access_key_secret,
                                          "security_token": None}
    assert saved["ram_user_arn"] == RAM_USER_ARN
    principal = cloud.identities.lookup(user.access_key_id)
    assert principal is not None
    assert (principal.arn, principal.security_token, principal.expiration) == (
        RAM_USER_ARN, None, None)
    assert principal.is_allowed("sts:AssumeRole", UPLOAD_ROLE_ARN)
    assert not principal.is_allowed("oss:PutObject", f"acs:oss:*:*:{cloud.bucket}/uploads/a")


def test_python_flow_ram_user_assume_role_sign_v4_policy_post_file(cloud: LocalCloud) -> None:
    user = cloud.ram_user_credentials
    credentials = _assume_upload_role(cloud, user.access_key_id, user.access_key_secret)
    key = f"uploads/python/{uuid.uuid4().hex}/hello.txt"
    fields = _signed_post_fields(credentials, bucket=cloud.bucket, region=cloud.region,
                                 upload_dir="uploads/", now=datetime.now(timezone.utc))
    data = b"posted after a RAM user's AssumeRole\n"

    body, content_type = multipart({"key": key, **fields, "success_action_status": "200"},
                                   "hello.txt", data, "text/plain")
    status, _, answer = request("POST", cloud.post_url, body, {"Content-Type": content_type})

    assert credentials["AccessKeyId"].startswith("STS.")
    assert status == 200, answer
    assert _stored(cloud, key) == data


def test_ram_user_key_itself_cannot_write_to_the_bucket(cloud: LocalCloud) -> None:
    user = cloud.ram_user_credentials
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        user.access_key_id, user.access_key_secret)
    cfg.region, cfg.endpoint, cfg.retry_max_attempts = cloud.region, cloud.oss_url, 1
    client = oss.Client(cfg)

    with pytest.raises(oss.exceptions.OperationError) as caught:
        client.put_object(oss.PutObjectRequest(bucket=cloud.bucket, key="uploads/direct.txt",
                                               body=b"no role assumed"))

    error = caught.value.unwrap()
    assert isinstance(error, oss.exceptions.ServiceError)
    assert (error.status_code, error.code) == (403, "AccessDenied")


def test_upload_role_does_not_trust_the_admin_identity(cloud: LocalCloud) -> None:
    admin = cloud.admin_credentials

    with pytest.raises(ClientException) as caught:
        _assume_upload_role(cloud, admin.access_key_id, admin.access_key_secret)

    assert (caught.value.status_code, caught.value.code) == (403, "NoPermission")


def test_ali_oss_flow_sts_client_then_post_policy_v4_and_put(cloud: LocalCloud) -> None:
    prefix = f"uploads/ali-oss/{uuid.uuid4().hex}/"

    done = run_node(NODE_DIR / "ram_user_upload.mjs",
                    str(cloud.state_dir / ENDPOINTS_FILE), prefix)

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["assumed"]["sts_key"] is True
    assert report["post"] == {"status": 204, "key": f"{prefix}post.txt"}
    assert report["put_v1"] == {"status": 200, "key": f"{prefix}put-v1.txt"}
    assert report["put_v4"] == {"status": 200, "key": f"{prefix}put-v4.txt"}
    assert _stored(cloud, f"{prefix}post.txt") == b"posted by ali-oss"
    assert _stored(cloud, f"{prefix}put-v1.txt") == b"put by ali-oss (V1)"
    assert _stored(cloud, f"{prefix}put-v4.txt") == b"put by ali-oss (V4)"
    assert cloud.ram_user_credentials.access_key_secret not in done.stdout + done.stderr
