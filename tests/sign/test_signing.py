"""Known-answer vectors for the OSS4-HMAC-SHA256 chain (oss-postobject.md §11)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone

import pytest
from uploadsign import policy

C1_POLICY_JSON = (
    '{"expiration":"2023-12-03T13:00:00.000Z","conditions":[{"bucket":"examplebucket"},'
    '{"x-oss-signature-version":"OSS4-HMAC-SHA256"},'
    '{"x-oss-credential":"AKIDEXAMPLE/20231203/cn-hangzhou/oss/aliyun_v4_request"},'
    '{"x-oss-date":"20231203T121212Z"},["content-length-range",1,10],'
    '["eq","$success_action_status","201"],["starts-with","$key","user/eric/"],'
    '["in","$content-type",["image/jpg","image/png"]],["not-in","$cache-control",["no-cache"]]]}'
)
C2_POLICY_JSON = (
    '{"expiration":"2023-12-17T00:00:00.000Z","conditions":[{"bucket":"bucket"},'
    '{"x-oss-signature-version":"OSS4-HMAC-SHA256"},'
    '{"x-oss-credential":"ak/20231216/cn-hangzhou/oss/aliyun_v4_request"},'
    '{"x-oss-date":"20231216T162057Z"},["content-length-range",1,1024]]}'
)
C1_KEY = "084d33921e59a5b6e8777f63b55f4a1905d49ac7af6007b45f1bf67f69c54316"
C2_KEY = "b412a03b134ebddd720f5167b5de6db66620ebb3b01cff4d49e3ccb09f8de97f"

VECTORS = [
    pytest.param(
        C1_POLICY_JSON, "yourAccessKeySecret", "20231203", C1_KEY,
        "ccc94ad1c9ca2f6e506743dcf9dee6330e834dc76e31902e2415a3739537b3bc", id="C1",
    ),
    pytest.param(
        C2_POLICY_JSON, "sk", "20231216", C2_KEY,
        "3c0590702cc9608cdb587b011d36bd7b96b8c2e5ef8d66c3efbc894f3d1c0dc7", id="C2",
    ),
    pytest.param(
        C1_POLICY_JSON, "sk", "20231216", C2_KEY,
        "3d49412157fcb51ce48acfc7f45713abc6781d757251cbdab0d12fc661e9d7da", id="C1-with-C2-key",
    ),
]


@pytest.mark.parametrize(("policy_json", "secret", "date", "key_hex", "signature"), VECTORS)
def test_post_vectors_give_published_signing_key_and_signature(
    policy_json: str, secret: str, date: str, key_hex: str, signature: str
) -> None:
    encoded = base64.b64encode(policy_json.encode()).decode()
    key = policy.signing_key(secret, date, "cn-hangzhou")
    assert key.hex() == key_hex
    assert policy.sign(key, encoded) == signature


def test_c1_base64_matches_the_reference_text() -> None:
    expected = (
        "eyJleHBpcmF0aW9uIjoiMjAyMy0xMi0wM1QxMzowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0Ijoi"
        "ZXhhbXBsZWJ1Y2tldCJ9"
    )
    assert base64.b64encode(C1_POLICY_JSON.encode()).decode().startswith(expected)


def test_header_vector_string_to_sign_gives_published_signature_with_c2_key() -> None:
    string_to_sign = (
        "OSS4-HMAC-SHA256\n20231216T162057Z\n20231216/cn-hangzhou/oss/aliyun_v4_request\n"
        "f4613657f1b108998e8dbd10a1aa5da621dc2c6e02c9ddec0f163664848704c4"
    )
    key = policy.signing_key("sk", "20231216", "cn-hangzhou")
    assert policy.sign(key, string_to_sign) == (
        "e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe"
    )


def test_key_chain_steps_compose_to_the_signing_key() -> None:
    k = policy.date_key("sk", "20231216")
    k = policy.region_key(k, "cn-hangzhou")
    k = policy.service_key(k)
    assert hmac.new(k, b"aliyun_v4_request", hashlib.sha256).hexdigest() == C2_KEY
    assert policy.signing_key("sk", "20231216", "cn-hangzhou").hex() == C2_KEY


def test_signer_reproduces_c2_from_its_conditions() -> None:
    conditions = json.loads(C2_POLICY_JSON)["conditions"]
    expiration = datetime(2023, 12, 17, tzinfo=timezone.utc)
    assert policy.encode(expiration, conditions) == base64.b64encode(
        C2_POLICY_JSON.encode()
    ).decode()


def test_credential_and_timestamp_come_from_one_instant_in_utc() -> None:
    # 23:30 at UTC-05:00 is already the next UTC day; both values must say so.
    from datetime import timedelta

    local = datetime(2023, 12, 15, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert policy.timestamp(local) == "20231216T043000Z"
    assert policy.credential("ak", local, "cn-hangzhou") == (
        "ak/20231216/cn-hangzhou/oss/aliyun_v4_request"
    )


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        policy.timestamp(datetime(2024, 1, 1))  # noqa: DTZ001
