"""Every PostObject error of oss-postobject.md §8.2, reproduced through ``receive_post``.

Each row builds a form that breaks exactly one rule and expects OSS's status, Code,
Message and EC. After every refusal the spool directory must be empty.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from localcloud.oss.errors import OssError
from tests.localcloud.formbuilder import (
    Part,
    Signer,
    encode,
    file_part,
    v4_form,
)
from tests.localcloud.formbuilder import (
    field as ff,
)
from tests.localcloud.postkit import BUCKET, EXPIRED, FIXED_NOW, LONG, TEMP, Env, make_env, post

MISSING_KEY = ("The bucket POST must contain the specified 'key'. "
               "If it is specified, please check the order of the fields")
MISSING_AK = ("The bucket POST must contain the specified 'OSSAccessKeyId'. "
              "If it is specified, please check the order of the fields")
MALFORMED = "The body of your POST request is not well-formed multipart/form-data."
MISMATCH = ("The request signature we calculated does not match the signature you provided. "
            "Check your key and signing method.")
NO_AK = "The OSS Access Key Id you provided does not exist in our records."


def signed(*, signer: Signer = LONG, data: bytes = b"hello", **kw: Any) -> list[Part]:
    """A valid V4 form plus its file part."""
    return [*v4_form(signer, FIXED_NOW, BUCKET, **kw), file_part(data)]


def without(parts: list[Part], name: str) -> list[Part]:
    return [p for p in parts if p.name != name]


def replaced(parts: list[Part], name: str, value: str) -> list[Part]:
    return [ff(name, value) if p.name == name else p for p in parts]


def raw_policy(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


EXP = (FIXED_NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def policy_text(conditions: str) -> str:
    return raw_policy(f'{{"expiration":"{EXP}","conditions":[{conditions}]}}')


def v1_form(fields: list[tuple[str, str]]) -> list[Part]:
    return [ff("key", "uploads/a.txt"), *(ff(n, v) for n, v in fields), file_part(b"x")]


@dataclass
class Row:
    parts: Callable[[], list[Part] | bytes]
    expected: tuple[int, str, str, str | None]
    headers: dict[str, str] = field(default_factory=dict)
    ctype: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    length: int | None = -1
    extra: dict[str, str] | None = None


def _truncated() -> bytes:
    body = encode(signed(data=b"x" * 5000))
    return body[: len(body) - 2000]


def _two_files() -> list[Part]:
    return [*signed(), file_part(b"again", filename="b.png")]


def _md5_of(parts: list[Part]) -> str:
    return base64.b64encode(hashlib.md5(encode(parts)).digest()).decode()


ROWS: dict[str, Row] = {
    "not-multipart": Row(signed, (400, "RequestIsNotMultiPartContent",
                                  "Bucket POST must be of the enclosure-type multipart/form-data.",
                                  None), ctype="application/x-www-form-urlencoded"),
    "multipart-without-boundary": Row(signed, (400, "RequestIsNotMultiPartContent",
                                               "Bucket POST must be of the enclosure-type "
                                               "multipart/form-data.", None),
                                      ctype="multipart/form-data"),
    "garbage-body": Row(lambda: b"this is not multipart at all",
                        (400, "MalformedPOSTRequest", MALFORMED, None)),
    "part-without-disposition": Row(
        lambda: b"--" + b"----FakeFormBoundary7MA4YWxkTrZu0gW\r\nX-Foo: 1\r\n\r\nv\r\n"
        b"------FakeFormBoundary7MA4YWxkTrZu0gW--\r\n",
        (400, "MalformedPOSTRequest", MALFORMED, None)),
    "file-missing": Row(lambda: without(signed(), "file"),
                        (400, "MalformedPOSTRequest", MALFORMED, "0006-00000104")),
    "body-truncated": Row(_truncated, (400, "MalformedPOSTRequest", MALFORMED, "0006-00000107")),
    "key-missing": Row(lambda: without(signed(), "key"),
                       (400, "InvalidArgument", MISSING_KEY, None)),
    "key-after-file": Row(lambda: [*without(signed(), "key"), ff("key", "uploads/a")],
                          (400, "InvalidArgument", MISSING_KEY, None)),
    "v1-access-key-missing": Row(
        lambda: v1_form([("policy", policy_text('{"bucket":"examplebucket"}')),
                         ("Signature", "abc=")]),
        (400, "InvalidArgument", MISSING_AK, "0002-00000706"),
        extra={"ArgumentName": "OSSAccessKeyId", "ArgumentValue": ""}),
    "policy-without-any-access-key": Row(
        lambda: v1_form([("policy", policy_text('{"bucket":"examplebucket"}'))]),
        (400, "InvalidArgument", MISSING_AK, "0002-00000706")),
    "v1-access-key-empty": Row(
        lambda: v1_form([("OSSAccessKeyId", ""), ("policy", "e30="), ("Signature", "x")]),
        (400, "InvalidArgument", "Post request accessKeyId is empty.", "0002-00000706")),
    "v1-signature-empty": Row(
        lambda: v1_form([("OSSAccessKeyId", LONG.access_key_id), ("policy", "e30="),
                         ("Signature", "")]),
        (400, "InvalidArgument", "Post request signature is empty.", "0002-00000703")),
    "v4-signature-empty": Row(lambda: replaced(signed(), "x-oss-signature", ""),
                              (400, "InvalidArgument", "Post request signature is empty.",
                               "0002-00000704")),
    "v4-policy-missing": Row(lambda: without(signed(), "policy"),
                             (400, "InvalidArgument",
                              "The bucket POST must contain the specified 'policy'. "
                              "If it is specified, please check the order of the fields",
                              "0002-00000702")),
    "bad-signature-version": Row(lambda: replaced(signed(), "x-oss-signature-version", "OSS2"),
                                 (400, "InvalidArgument", "Invalid signature version: 'OSS2'.",
                                  "0002-00000701")),
    "credential-ak-has-tab": Row(
        lambda: replaced(signed(), "x-oss-credential",
                         "FAKE\tAK/20261128/cn-hangzhou/oss/aliyun_v4_request"),
        (400, "InvalidArgument", "Invalid AccessKeyId in x-oss-credential.", "0002-00000708")),
    "credential-bad-date": Row(
        lambda: replaced(signed(), "x-oss-credential",
                         "FAKE-AK-LONG-0001/2026-11-28/cn-hangzhou/oss/aliyun_v4_request"),
        (400, "InvalidArgument", "Invalid SignDate in x-oss-credential: '2026-11-28'.",
         "0002-00000709")),
    "credential-bad-suffix": Row(
        lambda: replaced(signed(), "x-oss-credential",
                         "FAKE-AK-LONG-0001/20261128/cn-hangzhou/oss/aliyun_v2_request"),
        (400, "InvalidArgument",
         "Invalid x-oss-credential: "
         "'FAKE-AK-LONG-0001/20261128/cn-hangzhou/oss/aliyun_v2_request'.",
         "0002-00000710")),
    "credential-date-differs-from-x-oss-date": Row(
        lambda: replaced(signed(), "x-oss-credential",
                         "FAKE-AK-LONG-0001/20261127/cn-hangzhou/oss/aliyun_v4_request"),
        (400, "InvalidArgument", "The date in x-oss-credential does not match x-oss-date.",
         "0002-00000709")),
    "unknown-access-key": Row(
        lambda: signed(signer=LONG.__class__("FAKE-AK-NOBODY", "fake-secret")),
        (403, "InvalidAccessKeyId", NO_AK, None)),
    "signature-mismatch": Row(
        lambda: signed(signer=LONG.__class__(LONG.access_key_id, "fake-wrong-secret")),
        (403, "SignatureDoesNotMatch", MISMATCH, "0002-00000705")),
    "sts-token-missing": Row(lambda: without(signed(signer=TEMP), "x-oss-security-token"),
                             (403, "InvalidAccessKeyId", NO_AK, "0002-00000003")),
    "sts-token-wrong": Row(lambda: replaced(signed(signer=TEMP), "x-oss-security-token",
                                            "FAKE-TOKEN-OTHER"),
                           (403, "InvalidSecurityToken",
                            "The security token you provided is invalid.", "0002-00000008")),
    "token-with-long-lived-key": Row(
        lambda: [ff("x-oss-security-token", "FAKE-TOKEN-STRAY"), *signed()],
        (403, "InvalidSecurityToken", "The security token you provided is invalid.",
         "0002-00000008")),
    "sts-expired": Row(lambda: signed(signer=EXPIRED),
                       (403, "SecurityTokenExpired",
                        "The security token you provided has expired.", "0002-00000007")),
    "policy-not-base64": Row(lambda: signed(policy_override="not*base64"),
                             (400, "InvalidPolicyDocument",
                              "Invalid Policy: Invalid Base64 encoding.", "0006-00000202")),
    "policy-not-utf8": Row(lambda: signed(policy_override=base64.b64encode(b"\xff\xfe").decode()),
                           (400, "InvalidPolicyDocument",
                            "Invalid Policy: Invalid UTF-8 encoding.", "0006-00000203")),
    "policy-unknown-char": Row(lambda: signed(policy_override=raw_policy('{"expiration":e}')),
                               (400, "InvalidPolicyDocument",
                                "Invalid Policy: Invalid JSON: unknown char e", "0006-00000203")),
    "policy-missing-comma": Row(
        lambda: signed(policy_override=policy_text('{"bucket":"a"} {"key":"b"}')),
        (400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON: , or ] expected",
         "0006-00000203")),
    "simple-condition-two-properties": Row(
        lambda: signed(policy_override=policy_text('{"bucket":"a","key":"b"}')),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: Invalid Simple-Condition: "
         "Simple-Conditions must have exactly one property specified.", None)),
    "policy-missing-expiration": Row(
        lambda: signed(policy_override=raw_policy('{"conditions":[{"bucket":"a"}]}')),
        (400, "InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.",
         "0006-00000208")),
    "condition-missing-operator": Row(lambda: signed(policy_override=policy_text('["$key"]')),
                                      (400, "InvalidPolicyDocument",
                                       "Invalid Policy: Invalid condition: missing operator.",
                                       "0006-00000216")),
    "condition-unsupported-operator": Row(
        lambda: signed(policy_override=policy_text('["ends-with","$key","a"]')),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: Invalid condition: unsupported operator 'ends-with'.",
         "0006-00000217")),
    "condition-extra-element": Row(
        lambda: signed(policy_override=policy_text('["starts-with","$key","a","b"]')),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: Invalid condition: 'starts-with' takes exactly two arguments.",
         "0006-00000218")),
    "range-max-below-min": Row(
        lambda: signed(policy_override=policy_text('["content-length-range",10,1]')),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: content-length-range maximum is less than its minimum.",
         "0006-00000219")),
    "range-not-integers": Row(
        lambda: signed(policy_override=policy_text('["content-length-range","1","10"]')),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: content-length-range bounds must be non-negative integers.",
         "0006-00000221")),
    "condition-neither-object-nor-array": Row(
        lambda: signed(policy_override=policy_text('42')),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: condition must be a JSON object or array.", "0006-00000222")),
    "in-without-list": Row(
        lambda: signed(policy_override=policy_text('["in","$content-type","image/png"]')),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: Invalid condition: 'in' needs a list of strings.", "0006-00000224")),
    "v4-policy-without-v4-conditions": Row(
        lambda: signed(omit_conditions=("x-oss-date",)),
        (400, "InvalidPolicyDocument",
         "Invalid Policy: a V4 policy must contain conditions on x-oss-date.", None)),
    "policy-expired": Row(lambda: signed(expiration=FIXED_NOW - timedelta(seconds=1)),
                          (403, "AccessDenied", "Invalid according to Policy: Policy expired.",
                           "0006-00000213")),
    "condition-starts-with-failed": Row(
        lambda: signed(key="other/a.png", conditions=[["starts-with", "$key", "user/eric/"]]),
        (403, "AccessDenied", 'Invalid according to Policy: Policy Condition failed: '
                              '["starts-with", "$key", "user/eric/"]', None)),
    "bucket-condition-mismatch": Row(
        lambda: signed(conditions=[{"bucket": "mingdi-bjx"}]),
        (403, "AccessDenied", 'Invalid according to Policy: Policy Condition failed: '
                              '["eq", "$bucket", "mingdi-bjx"]', None)),
    "condition-on-absent-field": Row(
        lambda: signed(conditions=[["eq", "$x-oss-meta-owner", "me"]]),
        (403, "AccessDenied", 'Invalid according to Policy: Policy Condition failed: '
                              '["eq", "$x-oss-meta-owner", "me"]', None)),
    "in-condition-failed": Row(
        lambda: signed(conditions=[["in", "$content-type", ["image/jpg"]]]),
        (403, "AccessDenied", 'Invalid according to Policy: Policy Condition failed: '
                              '["in", "$content-type", ["image/jpg"]]', None)),
    "too-large-for-policy": Row(lambda: signed(data=b"12345",
                                               conditions=[["content-length-range", 1, 4]]),
                                (400, "EntityTooLarge",
                                 "Your proposed upload exceeds the maximum allowed size.",
                                 "0006-00000003")),
    "too-small-for-policy": Row(lambda: signed(data=b"12345",
                                               conditions=[["content-length-range", 6, 10]]),
                                (400, "EntityTooSmall",
                                 "Your proposed upload smaller than the minimum allowed size.",
                                 "0006-00000004")),
    "over-object-limit": Row(lambda: signed(data=b"123456"),
                             (400, "EntityTooLarge", "Post body size must be less than 5G",
                              "0006-00000003"), settings={"max_object_bytes": 5}),
    "field-name-too-long": Row(lambda: [ff("x" * 8193, "v"), *signed()],
                               (400, "FieldItemTooLong", "Your name of form field is too long",
                                "0006-00000110")),
    "field-value-too-long": Row(lambda: [ff("x-oss-meta-a", "v" * (2 * 1024 * 1024 + 1)),
                                         *signed()],
                                (400, "FieldItemTooLong", "Your value of form field is too long",
                                 "0006-00000110")),
    "prefile-too-large": Row(lambda: [*(ff(f"x:f{i}", "v" * 2_000_000) for i in range(5)),
                                      *signed()],
                             (400, "MaxPOSTPreDataLengthExceededError",
                              "Your POST request fields preceding the upload file were too large.",
                              "0006-00000112")),
    "two-files": Row(_two_files, (400, "IncorrectNumberOfFilesInPOSTRequest",
                                  "POST requires exactly one file upload per request.", None)),
    "content-md5-mismatch": Row(signed, (400, "InvalidDigest",
                                         "The Content-MD5 you specified was invalid.", None),
                                headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()}),
    "content-md5-not-base64": Row(signed, (400, "InvalidDigest",
                                           "The Content-MD5 you specified was invalid.", None),
                                  headers={"Content-MD5": "!!"}),
    "anonymous-form": Row(lambda: [ff("key", "uploads/a"), file_part(b"x")],
                          (403, "AccessDenied",
                           "You have no right to access this object because of bucket acl.",
                           None)),
    "ram-denies-key-outside-session-policy": Row(
        lambda: signed(signer=TEMP, key="elsewhere/a.png"),
        (403, "AccessDenied", "You have no right to access this object.", None)),
    "key-starts-with-slash": Row(lambda: signed(key="/abs"),
                                 (400, "InvalidObjectName", "The specified object is not valid.",
                                  "0016-00000005")),
    "key-starts-with-backslash": Row(lambda: signed(key="\\abs"),
                                     (400, "InvalidObjectName",
                                      "The specified object is not valid.", "0016-00000005")),
    "key-too-long": Row(lambda: signed(key="k" * 1024),
                        (400, "InvalidObjectName",
                         "The Length of Object name must be less than 1024.", "0016-00000002")),
    "key-with-nul": Row(lambda: signed(key="uploads/a\x00b"),
                        (400, "InvalidObjectName", "The specified object is not valid.", None)),
    "key-with-del": Row(lambda: signed(key="uploads/a\x7fb"),
                        (400, "InvalidObjectName", "The specified object is not valid.", None)),
    "callback-not-base64-json": Row(
        lambda: signed(extra_fields=[("callback", "bm90IGpzb24=")]),
        (400, "InvalidArgument", "The callback configuration is not json format.", None),
        extra={"ArgumentName": "callback", "ArgumentValue": ""}),
    "bad-object-acl": Row(lambda: signed(extra_fields=[("x-oss-object-acl", "everyone")]),
                          (400, "InvalidArgument", "no such object access control exists", None)),
    "duplicate-field": Row(lambda: [ff("key", "uploads/b"), *signed()],
                           (400, "MalformedPOSTRequest", MALFORMED, None)),
    "metadata-too-large": Row(lambda: signed(extra_fields=[("x-oss-meta-big", "m" * 9000)]),
                              (400, "MetadataTooLarge",
                               "Your metadata headers exceed the maximum allowed metadata size.",
                               None)),
    "x-oss-date-too-far-in-future": Row(
        lambda: [*v4_form(LONG, FIXED_NOW + timedelta(minutes=16), BUCKET), file_part(b"x")],
        (403, "RequestTimeTooSkewed",
         "The difference between the request time and the current time is too large.",
         "0002-00000709")),
    "x-oss-date-older-than-seven-days": Row(
        lambda: [*v4_form(LONG, FIXED_NOW - timedelta(days=7, seconds=1), BUCKET,
                          expiration=FIXED_NOW + timedelta(hours=1)), file_part(b"x")],
        (403, "RequestTimeTooSkewed",
         "The difference between the request time and the current time is too large.",
         "0002-00000709")),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_each_documented_refusal_has_osss_status_code_message_and_ec(
    tmp_path: Path, name: str
) -> None:
    row = ROWS[name]
    env: Env = make_env(tmp_path)
    if row.settings:
        env = env.with_settings(**row.settings)
    with pytest.raises(OssError) as caught:
        post(env, row.parts(), headers=row.headers, ctype=row.ctype, length=row.length)
    error = caught.value
    assert (error.status, error.code, error.message, error.ec) == row.expected
    if row.extra is not None:
        assert error.extra == row.extra
    assert env.spooled() == []


def test_the_content_md5_of_the_whole_body_is_accepted(tmp_path: Path) -> None:
    parts = signed()
    upload = post(make_env(tmp_path), parts, headers={"Content-MD5": _md5_of(parts)})
    assert upload.temp_path.read_bytes() == b"hello"

