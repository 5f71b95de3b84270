"""CopyObject within the local cloud answers as OSS documents it (status, XML, headers, errors)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.oss.app import RoutingSettings
from localcloud.oss.objectapi import http_date
from tests.localcloud.objectkit import Cloud, principal
from tests.localcloud.signedhttp import Call

DATA = bytes(range(256)) * 40
SOURCE_HEADERS = {"Content_Type": "image/png", "Cache_Control": "max-age=60",
                  "Content_Disposition": "inline", "x_oss_meta_owner": "alice"}


def copy(ops: Cloud, source: str, key: str, bucket: str | None = None,
         **headers: str) -> Call:
    return Call("PUT", bucket or ops.bucket, key, headers={
        "x-oss-copy-source": source,
        **{name.replace("_", "-"): value for name, value in headers.items()}})


def result_of(body: bytes) -> dict[str, str]:
    root = ElementTree.fromstring(body)
    return {"root": root.tag, **{child.tag: child.text or "" for child in root}}


def test_copy_within_a_bucket_keeps_bytes_and_metadata_and_answers_copy_object_result(
    ops: Cloud,
) -> None:
    ops.put("src/a.png", DATA, **SOURCE_HEADERS)
    source_meta, _ = ops.stored("src/a.png") or pytest.fail("no source")

    answer = ops.send(copy(ops, f"/{ops.bucket}/src/a.png", "dst/b.png"))

    assert answer.status == 200, answer.body
    meta, data = ops.stored("dst/b.png") or pytest.fail("no copy")
    assert data == DATA
    assert meta == replace(source_meta, key="dst/b.png", last_modified=meta.last_modified)
    etag = '"' + hashlib.md5(DATA).hexdigest().upper() + '"'
    assert result_of(answer.body) == {
        "root": "CopyObjectResult", "ETag": etag,
        "LastModified": meta.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    assert {name: answer.headers[name] for name in (
        "content-type", "etag", "x-oss-hash-crc64ecma")} == {
        "content-type": "application/xml", "etag": etag,
        "x-oss-hash-crc64ecma": str(source_meta.crc64)}


def test_copy_to_another_bucket_with_replace_takes_the_requests_metadata(
    ops: Cloud,
) -> None:
    ops.put("src", DATA, **SOURCE_HEADERS)

    answer = ops.send(copy(ops, f"/{ops.bucket}/src", "dst.txt", bucket=ops.other,
                             x_oss_metadata_directive="REPLACE", Content_Type="text/plain",
                             x_oss_meta_stage="two", x_oss_object_acl="private"))

    assert answer.status == 200, answer.body
    meta, data = ops.stored("dst.txt", ops.other) or pytest.fail("no copy")
    assert (data, meta.content_type, dict(meta.headers), dict(meta.metadata), meta.acl) == (
        DATA, "text/plain", {}, {"x-oss-meta-stage": "two"}, "private")


def test_copy_onto_itself_replaces_the_metadata_whatever_the_directive(ops: Cloud) -> None:
    ops.put("same", DATA, **SOURCE_HEADERS)

    answer = ops.send(copy(ops, f"/{ops.bucket}/same", "same",
                             x_oss_metadata_directive="COPY", Content_Type="text/csv",
                             x_oss_meta_owner="bob"))

    assert answer.status == 200, answer.body
    meta, data = ops.stored("same") or pytest.fail("gone")
    assert (data, meta.content_type, dict(meta.headers), dict(meta.metadata)) == (
        DATA, "text/csv", {}, {"x-oss-meta-owner": "bob"})


@pytest.mark.parametrize("spelling", ["/{bucket}/dir/a%20b%2Bc%25.bin",  # the SDK's
                                      "/{bucket}/dir%2Fa%20b%2Bc%25.bin"])  # ali-oss's
def test_the_copy_source_key_is_url_decoded(ops: Cloud, spelling: str) -> None:
    ops.put("dir/a b+c%.bin", DATA)

    answer = ops.send(copy(ops, spelling.format(bucket=ops.bucket), "copy"))

    assert answer.status == 200, answer.body
    assert (ops.stored("copy") or pytest.fail("no copy"))[1] == DATA


def test_the_official_sdk_copies_across_buckets(ops: Cloud) -> None:
    client = ops.client()
    client.put_object(oss.PutObjectRequest(bucket=ops.bucket, key="日本/a b.txt", body=DATA,
                                           metadata={"owner": "alice"}))

    result = client.copy_object(oss.CopyObjectRequest(
        bucket=ops.other, key="copied/a b.txt", source_bucket=ops.bucket,
        source_key="日本/a b.txt"))
    got = client.get_object(oss.GetObjectRequest(bucket=ops.other, key="copied/a b.txt"))

    assert (result.status_code, result.etag, got.body.read(), got.metadata) == (
        200, '"' + hashlib.md5(DATA).hexdigest().upper() + '"', DATA, {"owner": "alice"})


def test_overwriting_or_deleting_the_source_leaves_the_copy_intact(ops: Cloud) -> None:
    ops.put("src", DATA)
    assert ops.send(copy(ops, f"/{ops.bucket}/src", "dst")).status == 200

    ops.put("src", b"new bytes")
    ops.send(Call("DELETE", ops.bucket, "src"))

    assert (ops.stored("dst") or pytest.fail("copy lost"))[1] == DATA


REFUSALS = {
    "missing source key": ("/{bucket}/nope", {}, 404, "NoSuchKey"),
    "missing source bucket": ("/no-such-bucket-x/src", {}, 404, "NoSuchBucket"),
    "no leading slash": ("{bucket}/src", {}, 400, "InvalidArgument"),
    "no key": ("/{bucket}/", {}, 400, "InvalidArgument"),
    "a source version": ("/{bucket}/src?versionId=CAEQ", {}, 501, "NotImplemented"),
    "unknown directive": ("/{bucket}/src", {"x-oss-metadata-directive": "MOVE"}, 400,
                          "InvalidArgument"),
    "unknown tagging directive": ("/{bucket}/src", {"x-oss-tagging-directive": "Keep"}, 400,
                                  "InvalidArgument"),
    "unknown acl": ("/{bucket}/src", {"x-oss-object-acl": "open"}, 400, "InvalidArgument"),
    "unknown storage class": ("/{bucket}/src", {"x-oss-storage-class": "Cold"}, 400,
                              "InvalidArgument"),
    "forbid overwrite": ("/{bucket}/src", {"x-oss-forbid-overwrite": "true"}, 409,
                         "FileAlreadyExists"),
    "if-match differs": ("/{bucket}/src", {"x-oss-copy-source-if-match": '"0000"'}, 412,
                         "PreconditionFailed"),
    "if-unmodified-since before": ("/{bucket}/src", {
        "x-oss-copy-source-if-unmodified-since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 412,
        "PreconditionFailed"),
    "server-side encryption": ("/{bucket}/src", {"x-oss-server-side-encryption": "AES256"},
                               501, "NotImplemented"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_refused_copies_change_nothing(
    ops: Cloud, case: tuple[str, dict[str, str], int, str]
) -> None:
    source, headers, status, code = case
    ops.put("src", DATA)
    ops.put("dst", b"existing")
    before = (ops.stored("src"), ops.stored("dst"))

    answer = ops.send(Call("PUT", ops.bucket, "dst", headers={
        "x-oss-copy-source": source.format(bucket=ops.bucket), **headers}))

    assert (answer.status, answer.code) == (status, code), answer.body
    assert (ops.stored("src"), ops.stored("dst")) == before


@pytest.mark.parametrize("headers", [
    {"x-oss-copy-source-if-none-match": "{etag}"},
    {"x-oss-copy-source-if-modified-since": "{later}"},
])
def test_an_unmet_if_none_match_or_if_modified_since_is_304_without_a_copy(
    ops: Cloud, headers: dict[str, str]
) -> None:
    ops.put("src", DATA)
    meta, _ = ops.stored("src") or pytest.fail("no source")
    values = {"etag": f'"{meta.etag}"', "later": http_date(meta.last_modified.replace(
        year=meta.last_modified.year + 1))}

    answer = ops.send(copy(ops, f"/{ops.bucket}/src", "dst", **{
        name.replace("-", "_"): value.format(**values) for name, value in headers.items()}))

    assert (answer.status, answer.body) == (304, b"")
    assert ops.stored("dst") is None


def test_copy_needs_get_object_on_the_source_and_put_object_on_the_target(
    ops: Cloud,
) -> None:
    ops.put("src", DATA)
    reader = principal("copy-reader", ("oss:GetObject", f"acs:oss:*:*:{ops.bucket}/*"))
    writer = principal("copy-writer", ("oss:PutObject", f"acs:oss:*:*:{ops.other}/*"))
    both = principal("copy-both", (["oss:GetObject", "oss:PutObject"], [
        f"acs:oss:*:*:{ops.bucket}/*", f"acs:oss:*:*:{ops.other}/*"]))
    for who in (reader, writer, both):
        ops.identities.add(who)
    call = copy(ops, f"/{ops.bucket}/src", "dst", bucket=ops.other)

    answers = [ops.send(call, who) for who in (reader, writer)]
    assert [(a.status, a.code) for a in answers] == [(403, "AccessDenied")] * 2
    assert ops.keys(ops.other) == []
    assert ops.send(call, both).status == 200
    assert ops.keys(ops.other) == ["dst"]


def test_a_source_over_the_copy_limit_is_entity_too_large(ops: Cloud) -> None:
    ops.put("src", DATA)
    app = ops.emulator.app
    app.routing = RoutingSettings(copy_max_bytes=len(DATA) - 1)
    try:
        answer = ops.send(copy(ops, f"/{ops.bucket}/src", "dst"))
    finally:
        app.routing = RoutingSettings()
    assert (answer.status, answer.code) == (400, "EntityTooLarge")
    assert ops.stored("dst") is None


def test_anonymous_copy_into_a_private_bucket_is_access_denied(ops: Cloud) -> None:
    ops.put("src", DATA)
    answer = ops.send(copy(ops, f"/{ops.bucket}/src", "dst"), None)
    assert (answer.status, answer.code) == (403, "AccessDenied")
    assert ops.keys() == ["src"]


def test_the_copy_is_listed_with_its_etag(ops: Cloud) -> None:
    ops.put("src", DATA)
    ops.send(copy(ops, f"/{ops.bucket}/src", "dst"))
    listed = ops.client().list_objects_v2(oss.ListObjectsV2Request(bucket=ops.bucket))
    assert [(o.key, o.etag, o.size) for o in listed.contents or []] == [
        (key, '"' + hashlib.md5(DATA).hexdigest().upper() + '"', len(DATA))
        for key in ("dst", "src")]

