"""GetObjectAcl, PutObjectAcl, GetObjectMeta and GetObject's response overrides, as OSS."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.oss.buckets import BucketConfig
from localcloud.oss.objectapi import http_date
from tests.localcloud.objectkit import Cloud, principal
from tests.localcloud.signedhttp import Call

DATA = b"\x00\x01payload" * 100


def policy_of(body: bytes) -> dict[str, str]:
    root = ElementTree.fromstring(body)
    return {"root": root.tag, **{element.tag: element.text or "" for element in root.iter()
                                 if len(element) == 0}}


def test_an_object_that_never_set_an_acl_answers_default(ops: Cloud) -> None:
    ops.put("k", DATA)

    answer = ops.send(Call("GET", ops.bucket, "k", {"acl": ""}))

    assert (answer.status, answer.headers["content-type"]) == (200, "application/xml")
    assert policy_of(answer.body) == {"root": "AccessControlPolicy", "ID": "localcloud",
                                      "DisplayName": "localcloud", "Grant": "default"}


@pytest.mark.parametrize("acl", ["private", "public-read", "public-read-write", "default"])
def test_put_object_acl_changes_the_acl_and_nothing_else(ops: Cloud, acl: str) -> None:
    ops.put("k", DATA, x_oss_object_acl="private", x_oss_meta_owner="alice")
    before = ops.stored("k") or pytest.fail("no object")

    answer = ops.send(Call("PUT", ops.bucket, "k", {"acl": ""}, {"x-oss-object-acl": acl}))

    assert (answer.status, answer.body) == (200, b"")
    assert ops.stored("k") == (replace(before[0], acl=acl), DATA)
    grant = policy_of(ops.send(Call("GET", ops.bucket, "k", {"acl": ""})).body)["Grant"]
    assert grant == acl


def test_a_public_read_object_in_a_private_bucket_is_readable_anonymously(ops: Cloud) -> None:
    ops.put("k", DATA)
    anonymous = Call("GET", ops.bucket, "k")
    assert ops.send(anonymous, None).status == 403

    client = ops.client()
    client.put_object_acl(oss.PutObjectAclRequest(bucket=ops.bucket, key="k",
                                                  acl="public-read"))

    assert client.get_object_acl(oss.GetObjectAclRequest(bucket=ops.bucket,
                                                         key="k")).acl == "public-read"
    answer = ops.send(anonymous, None)
    assert (answer.status, answer.body) == (200, DATA)


ACL_REFUSALS = {
    "unknown acl": (Call("PUT", "{b}", "k", {"acl": ""}, {"x-oss-object-acl": "open"}),
                    400, "InvalidArgument"),
    "no acl header": (Call("PUT", "{b}", "k", {"acl": ""}), 400, "InvalidArgument"),
    "put on a missing object": (Call("PUT", "{b}", "none", {"acl": ""},
                                     {"x-oss-object-acl": "private"}), 404, "NoSuchKey"),
    "get on a missing object": (Call("GET", "{b}", "none", {"acl": ""}), 404, "NoSuchKey"),
}


@pytest.mark.parametrize("case", ACL_REFUSALS.values(), ids=ACL_REFUSALS.keys())
def test_refused_acl_calls_change_nothing(ops: Cloud, case: tuple[Call, int, str]) -> None:
    call, status, code = case
    ops.put("k", DATA)
    before = ops.stored("k")

    answer = ops.send(replace(call, bucket=ops.bucket))

    assert (answer.status, answer.code) == (status, code)
    assert ops.stored("k") == before
    assert ops.keys() == ["k"]


@pytest.mark.parametrize("bucket_acl", ["private", "public-read", "public-read-write"])
def test_only_a_caller_granted_the_acl_actions_may_read_or_set_an_acl(
    ops: Cloud, bucket_acl: str
) -> None:
    ops.emulator.buckets.put(BucketConfig(name=ops.bucket, acl=bucket_acl))
    ops.put("k", DATA)
    reader = principal("acl-reader", ("oss:GetObject", f"acs:oss:*:*:{ops.bucket}/*"))
    keeper = principal("acl-keeper", (["oss:GetObjectAcl", "oss:PutObjectAcl"],
                                      f"acs:oss:*:*:{ops.bucket}/*"))
    for who in (reader, keeper):
        ops.identities.add(who)
    get = Call("GET", ops.bucket, "k", {"acl": ""})
    put = Call("PUT", ops.bucket, "k", {"acl": ""}, {"x-oss-object-acl": "public-read"})

    refused = [ops.send(call, who) for call in (get, put) for who in (None, reader)]

    assert [(a.status, a.code) for a in refused] == [(403, "AccessDenied")] * 4
    assert refused[0].body.count(b"You do not have read acl permission on this object.") == 1
    assert (ops.stored("k") or pytest.fail("gone"))[0].acl == "default"
    assert [ops.send(call, keeper).status for call in (get, put)] == [200, 200]


def test_get_object_meta_answers_the_objects_size_etag_and_time(ops: Cloud) -> None:
    data = b"m" * (1024 * 1024)
    ops.put("big.bin", data, x_oss_meta_owner="alice", Cache_Control="no-store")
    meta, _ = ops.stored("big.bin") or pytest.fail("no object")

    answer = ops.send(Call("HEAD", ops.bucket, "big.bin", {"objectMeta": ""}))
    sdk = ops.client().get_object_meta(oss.GetObjectMetaRequest(bucket=ops.bucket,
                                                                key="big.bin"))

    assert answer.status == 200
    assert {name: value for name, value in answer.headers.items()
            if name not in ("date", "server", "x-oss-request-id", "connection")} == {
        "content-length": str(len(data)),
        "etag": '"' + hashlib.md5(data).hexdigest().upper() + '"',
        "last-modified": http_date(meta.last_modified),
        "x-oss-hash-crc64ecma": str(meta.crc64),
    }
    assert (sdk.content_length, sdk.etag, sdk.hash_crc64) == (
        len(data), answer.headers["etag"], str(meta.crc64))


def test_get_object_meta_of_a_missing_object_is_404_no_such_key_in_x_oss_err(
    ops: Cloud,
) -> None:
    answer = ops.send(Call("HEAD", ops.bucket, "none", {"objectMeta": ""}))
    assert (answer.status, answer.body, answer.code) == (404, b"", "NoSuchKey")
    assert b"<Code>NoSuchKey</Code>" in base64.b64decode(answer.headers["x-oss-err"])


OVERRIDES = {
    "response-content-type": ("text/csv", "content-type"),
    "response-content-language": ("zh-CN", "content-language"),
    "response-expires": ("Thu, 01 Feb 2032 17:00:00 GMT", "expires"),
    "response-cache-control": ("no-cache", "cache-control"),
    "response-content-disposition": ('attachment; filename="a b.csv"', "content-disposition"),
    "response-content-encoding": ("identity", "content-encoding"),
}


def test_signed_get_object_replaces_headers_with_the_response_overrides(ops: Cloud) -> None:
    ops.put("k", DATA, Content_Type="application/octet-stream")
    query = {name: value for name, (value, _) in OVERRIDES.items()}

    answer = ops.send(Call("GET", ops.bucket, "k", query))

    assert (answer.status, answer.body) == (200, DATA)
    assert {header: answer.headers[header] for _, header in OVERRIDES.values()} == {
        header: value for value, header in OVERRIDES.values()}


def test_response_overrides_are_refused_for_anonymous_reads(ops: Cloud) -> None:
    ops.put("k", DATA, x_oss_object_acl="public-read")
    answer = ops.send(Call("GET", ops.bucket, "k", {"response-content-type": "text/html"}),
                      None)
    assert (answer.status, answer.code) == (400, "InvalidRequest")


def test_a_response_override_holding_a_line_break_is_refused(ops: Cloud) -> None:
    ops.put("k", DATA)
    answer = ops.send(Call("GET", ops.bucket, "k",
                           {"response-content-type": "text/plain\r\nSet-Cookie: a=b"}))
    assert (answer.status, answer.code) == (400, "InvalidArgument")
    assert "set-cookie" not in answer.headers
