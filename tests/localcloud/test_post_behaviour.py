"""What a valid PostObject form yields, and how tampering with any signed part is caught."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from localcloud.oss.errors import OssError
from localcloud.oss.postobject.form import VerifiedUpload, receive_post
from tests.localcloud.formbuilder import (
    BOUNDARY,
    Part,
    encode,
    file_part,
    v4_form,
)
from tests.localcloud.formbuilder import field as ff
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, PUT_ONLY, TEMP, make_env, post

BASE_CONDITIONS: list[Any] = [
    ["starts-with", "$key", "uploads/ph"],
    ["content-length-range", 1, 10],
    ["in", "$content-type", ["image/png"]],
]


def baseline(**kw: Any) -> list[Part]:
    kw.setdefault("conditions", BASE_CONDITIONS)
    data = kw.pop("data", b"0123456789")
    return [*v4_form(TEMP, FIXED_NOW, BUCKET, **kw), file_part(data)]


def swap(parts: list[Part], name: str, value: str) -> list[Part]:
    return [ff(name, value) if p.name == name else p for p in parts]


def restyle(parts: list[Part], name: str, change: Callable[[str], str]) -> list[Part]:
    return [ff(name, change(p.value.decode())) if p.name == name else p for p in parts]


def flip(hex_text: str) -> str:
    return hex_text[:-1] + ("1" if hex_text[-1] == "0" else "0")


def _done(upload: VerifiedUpload) -> VerifiedUpload:
    upload.temp_path.unlink()
    return upload


def test_a_valid_sts_form_yields_the_whole_upload_description(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    upload = post(env, baseline(extra_fields=[
        ("success_action_status", "201"), ("Cache-Control", "no-store"),
        ("Content-Disposition", "attachment"), ("x-oss-meta-Owner", "alice"),
        ("x-oss-object-acl", "private"), ("x:var1", "v1"),
    ]))
    assert upload.temp_path.parent == tmp_path
    assert upload.temp_path.read_bytes() == b"0123456789"
    got = replace(_done(upload), temp_path=Path("-"))
    assert got == VerifiedUpload(
        key="uploads/photo.png", temp_path=Path("-"), size=10,
        md5_hex="781e5e245d69b566979b86e28d23f2c7", crc64=upload.crc64,
        content_type="image/png",
        headers={"Cache-Control": "no-store", "Content-Disposition": "attachment"},
        metadata={"x-oss-meta-owner": "alice"}, acl="private", storage_class=None,
        forbid_overwrite=False, success_action_status="201", success_action_redirect=None,
        callback=None, callback_vars={"x:var1": "v1"}, access_key_id=TEMP.access_key_id,
        filename="photo.png",
    )
    assert env.spooled() == []


#: name -> (the tampered form, how the addressed bucket changes, the OSS error Code).
TAMPERS: dict[str, tuple[Callable[[], list[Part]], dict[str, str], str]] = {
    "policy-swapped-unsigned": (
        lambda: swap(baseline(), "policy", [p for p in baseline(
            expiration=FIXED_NOW + timedelta(days=1)) if p.name == "policy"][0].value.decode()),
        {}, "SignatureDoesNotMatch"),
    "signature-flipped": (lambda: restyle(baseline(), "x-oss-signature", flip), {},
                           "SignatureDoesNotMatch"),
    "signature-uppercased": (lambda: restyle(baseline(), "x-oss-signature", str.upper), {},
                             "SignatureDoesNotMatch"),
    "key-outside-condition": (lambda: baseline(key="uploads/x.png"), {}, "AccessDenied"),
    "size-over-range": (lambda: baseline(data=b"01234567890"), {}, "EntityTooLarge"),
    "content-type-of-file-part": (
        lambda: [*baseline()[:-1], file_part(b"0123", content_type="text/html")], {},
        "AccessDenied"),
    "token-changed": (lambda: swap(baseline(), "x-oss-security-token", "FAKE-TOKEN-X"), {},
                      "InvalidSecurityToken"),
    "date-changed": (lambda: swap(baseline(), "x-oss-date", "20261128T120001Z"), {},
                     "AccessDenied"),
    "credential-region-changed": (
        lambda: swap(baseline(), "x-oss-credential",
                     f"{TEMP.access_key_id}/20261128/cn-beijing/oss/aliyun_v4_request"), {},
        "InvalidArgument"),
    "credential-key-changed": (
        lambda: swap(baseline(), "x-oss-credential",
                     "FAKE-AK-NOBODY/20261128/cn-hangzhou/oss/aliyun_v4_request"), {},
        "InvalidAccessKeyId"),
    "signature-version-changed": (
        lambda: swap(baseline(), "x-oss-signature-version", "OSS4-HMAC-SHA1"), {},
        "InvalidArgument"),
    "addressed-bucket-changed": (baseline, {"bucket": "otherbucket"}, "AccessDenied"),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_tampering_with_any_signed_part_is_rejected(tmp_path: Path, name: str) -> None:
    build, change, code = TAMPERS[name]
    env = make_env(tmp_path)
    if "bucket" in change:
        env = env.for_bucket(change["bucket"])
    _done(post(make_env(tmp_path), baseline()))  # the untampered form passes
    with pytest.raises(OssError) as caught:
        post(env, build())
    assert caught.value.code == code
    if code == "AccessDenied":
        assert caught.value.message.startswith("Invalid according to Policy: Policy Condition")
    assert env.spooled() == []


def test_filename_is_expanded_after_the_policy_check(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    literal = [["eq", "$key", "uploads/${filename}"]]
    upload = _done(post(env, baseline(key="uploads/${filename}", conditions=literal)))
    assert upload.key == "uploads/photo.png"
    with pytest.raises(OssError) as caught:
        post(env, baseline(key="uploads/${filename}",
                           conditions=[["eq", "$key", "uploads/photo.png"]]))
    assert caught.value.message.endswith('["eq", "$key", "uploads/photo.png"]')


def test_an_escaped_dollar_in_the_policy_is_a_literal_dollar(tmp_path: Path) -> None:
    doc = ('{"expiration":"2026-11-28T13:00:00Z","conditions":[{"bucket":"examplebucket"},'
           '{"x-oss-signature-version":"OSS4-HMAC-SHA256"},'
           '{"x-oss-credential":"FAKE-AK-LONG-0001/20261128/cn-hangzhou/oss/aliyun_v4_request"},'
           '{"x-oss-date":"20261128T120000Z"},["eq","$key","user/\\${filename}"]]}')
    parts = [*v4_form(LONG, FIXED_NOW, BUCKET, key="user/${filename}",
                      policy_override=base64.b64encode(doc.encode()).decode()),
             file_part(b"x", filename="f.txt")]
    assert _done(post(make_env(tmp_path), parts)).key == "user/f.txt"


@pytest.mark.parametrize("offset", [timedelta(minutes=14), timedelta(days=-6)])
def test_x_oss_date_inside_the_window_is_accepted(tmp_path: Path, offset: timedelta) -> None:
    parts = [*v4_form(LONG, FIXED_NOW + offset, BUCKET,
                      expiration=FIXED_NOW + timedelta(hours=1)), file_part(b"x")]
    assert _done(post(make_env(tmp_path), parts)).size == 1


@pytest.mark.parametrize(
    ("fields", "part_type", "expected"),
    [
        ([("x-oss-content-type", "a/x"), ("Content-Type", "c/z")], "b/y", "a/x"),
        ([("Content-Type", "c/z")], "b/y", "b/y"),
        ([("Content-Type", "c/z")], None, "c/z"),
        ([], None, "application/octet-stream"),
    ],
)
def test_content_type_comes_from_x_oss_content_type_then_the_file_part_then_the_field(
    tmp_path: Path, fields: list[tuple[str, str]], part_type: str | None, expected: str
) -> None:
    parts = [*v4_form(LONG, FIXED_NOW, BUCKET, extra_fields=fields),
             file_part(b"x", content_type=part_type)]
    assert _done(post(make_env(tmp_path), parts)).content_type == expected


@pytest.mark.parametrize(
    ("fields", "headers", "expected"),
    [([("x-oss-forbid-overwrite", "true")], {}, True),
     ([], {"X-Oss-Forbid-Overwrite": "TRUE"}, True),
     ([("x-oss-forbid-overwrite", "false")], {}, False),
     ([], {}, False)],
)
def test_forbid_overwrite_is_read_from_the_field_or_the_header(
    tmp_path: Path, fields: list[tuple[str, str]], headers: dict[str, str], expected: bool
) -> None:
    parts = [*v4_form(LONG, FIXED_NOW, BUCKET, extra_fields=fields), file_part(b"x")]
    assert _done(post(make_env(tmp_path), parts, headers=headers)).forbid_overwrite is expected


def test_non_file_parts_after_the_file_are_ignored(tmp_path: Path) -> None:
    parts = [*v4_form(LONG, FIXED_NOW, BUCKET), file_part(b"x"), ff("key", "late"),
             ff("x-oss-meta-late", "1"), ff("submit", "Upload")]
    upload = _done(post(make_env(tmp_path), parts))
    assert (upload.key, upload.metadata) == ("uploads/photo.png", {})


@pytest.mark.parametrize("conditions", [[], [["content-length-range", 0, 5]]])
def test_an_empty_file_is_accepted_unless_the_minimum_forbids(tmp_path: Path,
                                                              conditions: list[Any]) -> None:
    parts = [*v4_form(LONG, FIXED_NOW, BUCKET, conditions=conditions), file_part(b"")]
    upload = _done(post(make_env(tmp_path), parts))
    assert (upload.size, upload.crc64, upload.md5_hex) == (0, 0, "d41d8cd98f00b204e9800998ecf8427e")


def test_settings_switch_the_unconfirmed_readings(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    upper = restyle([*v4_form(LONG, FIXED_NOW, BUCKET), file_part(b"x")], "x-oss-signature",
                    str.upper)
    _done(post(env.with_settings(accept_uppercase_hex_signature=True), upper))
    loose = [*v4_form(LONG, FIXED_NOW, BUCKET, omit_conditions=("x-oss-credential",),
                      conditions=[["starts-with", "$x-oss-credential", "FAKE-AK-LONG"]]),
             file_part(b"x")]
    with pytest.raises(OssError) as caught:
        post(env, loose)
    assert caught.value.code == "InvalidPolicyDocument"
    _done(post(env.with_settings(reject_non_exact_on_v4_fields=False), loose))
    bare = [*v4_form(LONG, FIXED_NOW, BUCKET, omit_conditions=(
        "x-oss-date", "x-oss-credential", "x-oss-signature-version")), file_part(b"x")]
    _done(post(env.with_settings(require_v4_policy_conditions=False), bare))
    anonymous = [ff("key", "public/a"), file_part(b"x")]
    assert _done(post(env.with_settings(allow_anonymous=True), anonymous)).access_key_id == ""
    assert env.spooled() == []


def test_v1_can_be_switched_off(tmp_path: Path) -> None:
    parts = [ff("key", "a"), ff("OSSAccessKeyId", LONG.access_key_id), ff("policy", "e30="),
             ff("Signature", "x"), file_part(b"x")]
    with pytest.raises(OssError) as caught:
        post(make_env(tmp_path).with_settings(accept_v1=False), parts)
    assert (caught.value.status, caught.value.code) == (400, "InvalidArgument")


def test_wire_variants_quoted_boundary_preamble_padding_chunked_and_rfc5987_filename(
    tmp_path: Path,
) -> None:
    fields = encode(v4_form(LONG, FIXED_NOW, BUCKET, key="${filename}")).rsplit(b"\r\n--", 1)[0]
    body = (b"preamble to ignore\r\n" + fields
            + f"\r\n--{BOUNDARY}  \r\nContent-Disposition: form-data; name=\"file\"; "
              "filename*=UTF-8''%E5%9B%BE.png\r\n\r\nDATA".encode()
            + f"\r\n--{BOUNDARY}--".encode())
    ctype = f'multipart/form-data; charset=utf-8; boundary="{BOUNDARY}"'
    upload = receive_post(io.BytesIO(body), ctype, None, {}, make_env(tmp_path).ctx)
    assert (_done(upload).key, upload.size) == ("图.png", 4)


def test_signer_credentials_never_appear_in_reprs(tmp_path: Path) -> None:
    upload = _done(post(make_env(tmp_path), baseline()))
    text = repr(upload) + repr(make_env(tmp_path).ctx)
    assert TEMP.token is not None
    assert TEMP.token not in text and TEMP.secret not in text


def _put_only_form(extra: list[tuple[str, str]]) -> list[Part]:
    return [*v4_form(PUT_ONLY, FIXED_NOW, BUCKET, conditions=BASE_CONDITIONS,
                     extra_fields=extra), file_part(b"0123456789")]


def test_an_acl_field_needs_put_object_acl_as_well_as_put_object(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    with pytest.raises(OssError) as refused:
        post(env, _put_only_form([("x-oss-object-acl", "private")]))
    assert (refused.value.status, refused.value.code) == (403, "AccessDenied")
    assert env.spooled() == []
    assert _done(post(env, _put_only_form([]))).acl is None


def test_the_acl_permission_reading_can_be_relaxed(tmp_path: Path) -> None:
    env = make_env(tmp_path).with_settings(acl_field_needs_put_object_acl=False)
    assert _done(post(env, _put_only_form([("x-oss-object-acl", "private")]))).acl == "private"
