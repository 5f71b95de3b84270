"""Known-answer vectors (oss-postobject.md §11) through the emulator's verifier.

The C1/C2 V4 vectors and the V1 vector are checked three ways: against the published
numbers, against the official SDK's private V4 signer, and end to end through
``receive_post`` with the vector's own policy, fields and clock.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from alibabacloud_oss_v2.signer.v4 import SignerV4

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.postobject.signature import v1_post_signature, v4_post_signature, v4_signing_key
from tests.localcloud.formbuilder import field, file_part, hmac_v1
from tests.localcloud.postkit import Env, make_env, post

C1_POLICY = (
    "eyJleHBpcmF0aW9uIjoiMjAyMy0xMi0wM1QxMzowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0Ijoi"
    "ZXhhbXBsZWJ1Y2tldCJ9LHsieC1vc3Mtc2lnbmF0dXJlLXZlcnNpb24iOiJPU1M0LUhNQUMtU0hBMjU2In0seyJ4"
    "LW9zcy1jcmVkZW50aWFsIjoiQUtJREVYQU1QTEUvMjAyMzEyMDMvY24taGFuZ3pob3Uvb3NzL2FsaXl1bl92NF9y"
    "ZXF1ZXN0In0seyJ4LW9zcy1kYXRlIjoiMjAyMzEyMDNUMTIxMjEyWiJ9LFsiY29udGVudC1sZW5ndGgtcmFuZ2Ui"
    "LDEsMTBdLFsiZXEiLCIkc3VjY2Vzc19hY3Rpb25fc3RhdHVzIiwiMjAxIl0sWyJzdGFydHMtd2l0aCIsIiRrZXki"
    "LCJ1c2VyL2VyaWMvIl0sWyJpbiIsIiRjb250ZW50LXR5cGUiLFsiaW1hZ2UvanBnIiwiaW1hZ2UvcG5nIl1dLFsi"
    "bm90LWluIiwiJGNhY2hlLWNvbnRyb2wiLFsibm8tY2FjaGUiXV1dfQ=="
)
C2_POLICY = (
    "eyJleHBpcmF0aW9uIjoiMjAyMy0xMi0xN1QwMDowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYnVja2V0Ijoi"
    "YnVja2V0In0seyJ4LW9zcy1zaWduYXR1cmUtdmVyc2lvbiI6Ik9TUzQtSE1BQy1TSEEyNTYifSx7Ingtb3NzLWNy"
    "ZWRlbnRpYWwiOiJhay8yMDIzMTIxNi9jbi1oYW5nemhvdS9vc3MvYWxpeXVuX3Y0X3JlcXVlc3QifSx7Ingtb3Nz"
    "LWRhdGUiOiIyMDIzMTIxNlQxNjIwNTdaIn0sWyJjb250ZW50LWxlbmd0aC1yYW5nZSIsMSwxMDI0XV19"
)
C1_SIGNATURE = "ccc94ad1c9ca2f6e506743dcf9dee6330e834dc76e31902e2415a3739537b3bc"
C2_SIGNATURE = "3c0590702cc9608cdb587b011d36bd7b96b8c2e5ef8d66c3efbc894f3d1c0dc7"
V1_POLICY_JSON = (
    '{"expiration":"2020-03-19T03:44:06.476Z","conditions":[{"bucket":"gen-post-policy"},'
    '["starts-with","$key","user\\/eric"],["starts-with","$x-oss-meta-tag","dummy_etag"],'
    '["content-length-range",1,1024],["in","$content-type",["image\\/jpg","image\\/png"]],'
    '["not-in","$cache-control",["no-cache"]]]}'
)

V4_CASES = [
    # (secret, date, region, policy, signing key hex, signature)
    ("yourAccessKeySecret", "20231203", "cn-hangzhou", C1_POLICY,
     "084d33921e59a5b6e8777f63b55f4a1905d49ac7af6007b45f1bf67f69c54316", C1_SIGNATURE),
    ("sk", "20231216", "cn-hangzhou", C2_POLICY,
     "b412a03b134ebddd720f5167b5de6db66620ebb3b01cff4d49e3ccb09f8de97f", C2_SIGNATURE),
    ("sk", "20231216", "cn-hangzhou", C1_POLICY, None,
     "3d49412157fcb51ce48acfc7f45713abc6781d757251cbdab0d12fc661e9d7da"),
]


@pytest.mark.parametrize(("secret", "date", "region", "policy", "key_hex", "signature"), V4_CASES)
def test_v4_post_signature_reproduces_the_known_answers(
    secret: str, date: str, region: str, policy: str, key_hex: str | None, signature: str
) -> None:
    if key_hex is not None:
        assert v4_signing_key(secret, date, region).hex() == key_hex
    assert v4_post_signature(secret, date, region, policy) == signature
    sdk = SignerV4()._calc_signature(
        access_key_secrect=secret, date=date, region=region, product="oss", string_to_sign=policy
    )
    assert sdk == signature


def test_v1_post_signature_reproduces_the_java_sdk_vector() -> None:
    import base64

    policy = base64.b64encode(V1_POLICY_JSON.encode()).decode()
    assert v1_post_signature("B" * 30, policy) == "/yrk/7alTmdIh9a3YOkkIcKYlbA="
    assert hmac_v1("B" * 30, policy) == "/yrk/7alTmdIh9a3YOkkIcKYlbA="


def _env_for(tmp_path: Path, ak: str, secret: str, bucket: str, now: datetime) -> Env:
    return make_env(tmp_path, IdentityStore([Principal(ak, secret)])).for_bucket(bucket).at(now)


def test_c1_form_is_accepted_end_to_end_with_case_insensitive_field_names(tmp_path: Path) -> None:
    env = _env_for(tmp_path, "AKIDEXAMPLE", "yourAccessKeySecret", "examplebucket",
                   datetime(2023, 12, 3, 12, 20, tzinfo=timezone.utc))
    upload = post(env, [
        field("success_action_status", "201"),
        field("policy", C1_POLICY),
        field("x-oss-signature", C1_SIGNATURE),
        field("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        field("x-oss-credential", "AKIDEXAMPLE/20231203/cn-hangzhou/oss/aliyun_v4_request"),
        field("x-oss-date", "20231203T121212Z"),
        field("key", "user/eric/${filename}"),
        field("Content-Type", "image/png"),
        field("Cache-Control", "max-age=60"),
        file_part(b"0123456789", filename="a.png", content_type="image/png"),
    ])
    assert (upload.key, upload.size, upload.success_action_status) == ("user/eric/a.png", 10, "201")
    assert upload.access_key_id == "AKIDEXAMPLE"
    assert upload.temp_path.read_bytes() == b"0123456789"
    upload.temp_path.unlink()


def test_c2_form_is_accepted_end_to_end(tmp_path: Path) -> None:
    env = _env_for(tmp_path, "ak", "sk", "bucket",
                   datetime(2023, 12, 16, 16, 21, tzinfo=timezone.utc))
    upload = post(env, [
        field("key", "any/key.txt"),
        field("policy", C2_POLICY),
        field("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        field("x-oss-credential", "ak/20231216/cn-hangzhou/oss/aliyun_v4_request"),
        field("x-oss-date", "20231216T162057Z"),
        field("x-oss-signature", C2_SIGNATURE),
        file_part(b"test\n", filename="t.txt", content_type="text/plain"),
    ])
    assert (upload.key, upload.md5_hex, upload.crc64) == (
        "any/key.txt", "d8e8fca2dc0f896fd7cb4cb0031ba249", 16633938635979353501)
    assert upload.etag == '"D8E8FCA2DC0F896FD7CB4CB0031BA249"'
    upload.temp_path.unlink()


def test_v1_vector_form_is_accepted_end_to_end(tmp_path: Path) -> None:
    import base64

    policy = base64.b64encode(V1_POLICY_JSON.encode()).decode()
    env = _env_for(tmp_path, "FAKE-AK-V1", "B" * 30, "gen-post-policy",
                   datetime(2020, 3, 19, 3, 0, tzinfo=timezone.utc))
    upload = post(env, [
        field("key", "user/eric/x.jpg"),
        field("OSSAccessKeyId", "FAKE-AK-V1"),
        field("policy", policy),
        field("Signature", "/yrk/7alTmdIh9a3YOkkIcKYlbA="),
        field("x-oss-meta-tag", "dummy_etag_1"),
        field("cache-control", "max-age=1"),
        file_part(b"jpegdata", filename="x.jpg", content_type="image/jpg"),
    ])
    assert (upload.key, upload.metadata, upload.content_type) == (
        "user/eric/x.jpg", {"x-oss-meta-tag": "dummy_etag_1"}, "image/jpg")
    upload.temp_path.unlink()
