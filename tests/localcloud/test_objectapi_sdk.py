"""The object API answers the official alibabacloud-oss-v2 SDK as OSS does."""

from __future__ import annotations

import hashlib
import http.client
from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from tests.localcloud.objectkit import sdk_client
from tests.localcloud.signedhttp import Call, send_framed

BUCKET = "sdk-bucket"
ADMIN = Principal("FAKE-AK-ADMIN", "fake-admin-secret-0000")
READER = Principal(
    "FAKE-AK-READER",
    "fake-reader-secret-0000",
    policies=({"Statement": [{"Effect": "Allow", "Action": "oss:GetObject",
                              "Resource": f"acs:oss:*:*:{BUCKET}/public/*"}]},),
)


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    identities = IdentityStore([ADMIN, READER])
    emu = Emulator.start(tmp_path / "state", lookup=identities.lookup)
    emu.buckets.put(BucketConfig(name=BUCKET))
    try:
        yield emu
    finally:
        emu.stop()


def test_put_then_get_returns_same_bytes_and_metadata(emulator: Emulator) -> None:
    client = sdk_client(emulator.port, ADMIN)
    data = bytes(range(256)) * 1000
    put = client.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key="dir/a b+c.bin", body=data, content_type="application/x-test",
        metadata={"owner": "tester"}, cache_control="no-cache",
    ))
    assert put.etag == '"' + hashlib.md5(data).hexdigest().upper() + '"'
    got = client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="dir/a b+c.bin"))
    assert got.body.read() == data
    assert got.content_type == "application/x-test"
    assert got.metadata == {"owner": "tester"}
    assert got.cache_control == "no-cache"
    assert got.hash_crc64 == put.hash_crc64


def test_a_put_framed_neither_by_length_nor_by_chunks_is_411_and_stores_nothing(
    emulator: Emulator,
) -> None:
    """OSS wants a body's length known (reference §1.3, §1.7), as UploadPart does."""
    put = Call("PUT", BUCKET, "unframed.bin")
    unframed = send_framed(emulator.port, put, ADMIN, [], b"")
    assert (unframed.status, unframed.code) == (411, "MissingContentLength")
    assert "<Message>You must provide the Content-Length header.</Message>" in (
        unframed.body.decode())
    assert [meta.key for meta in emulator.store.list(BUCKET)] == []
    by_length = send_framed(emulator.port, put, ADMIN, ["Content-Length: 0"], b"")
    chunked = send_framed(emulator.port, Call("PUT", BUCKET, "chunked.bin"), ADMIN,
                          ["Transfer-Encoding: chunked"], b"1\r\nx\r\n0\r\n\r\n")
    assert [by_length.status, chunked.status] == [200, 200]
    assert [meta.key for meta in emulator.store.list(BUCKET)] == ["chunked.bin", "unframed.bin"]


def test_ranged_get_returns_the_slice(emulator: Emulator) -> None:
    client = sdk_client(emulator.port, ADMIN)
    client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="r", body=b"0123456789"))
    got = client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="r", range_header="bytes=2-4"))
    assert got.body.read() == b"234"
    assert got.content_range == "bytes 2-4/10"


def test_head_exist_and_delete(emulator: Emulator) -> None:
    client = sdk_client(emulator.port, ADMIN)
    assert client.is_object_exist(BUCKET, "k") is False
    client.put_object(oss.PutObjectRequest(bucket=BUCKET, key="k", body=b"abc"))
    assert client.is_object_exist(BUCKET, "k") is True
    head = client.head_object(oss.HeadObjectRequest(bucket=BUCKET, key="k"))
    assert head.content_length == 3
    client.delete_object(oss.DeleteObjectRequest(bucket=BUCKET, key="k"))
    assert client.is_object_exist(BUCKET, "k") is False


def test_missing_object_is_no_such_key(emulator: Emulator) -> None:
    client = sdk_client(emulator.port, ADMIN)
    with pytest.raises(oss.exceptions.OperationError) as info:
        client.get_object(oss.GetObjectRequest(bucket=BUCKET, key="absent"))
    err = info.value.unwrap()
    assert isinstance(err, oss.exceptions.ServiceError)
    assert (err.status_code, err.code) == (404, "NoSuchKey")


def test_list_objects_v2_pages_with_prefixes(emulator: Emulator) -> None:
    client = sdk_client(emulator.port, ADMIN)
    keys = ["a/1", "a/2", "b/1", "c", "d%/e f"]
    for key in keys:
        client.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=key.encode()))
    seen: list[str] = []
    for page in client.list_objects_v2_paginator().iter_page(
        oss.ListObjectsV2Request(bucket=BUCKET, max_keys=2)
    ):
        seen += [o.key for o in page.contents or []]
    assert seen == sorted(keys)
    top = client.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, delimiter="/"))
    assert [p.prefix for p in top.common_prefixes or []] == ["a/", "b/", "d%/"]
    assert [o.key for o in top.contents or []] == ["c"]


def test_ram_policy_limits_reader_to_granted_prefix(emulator: Emulator) -> None:
    admin = sdk_client(emulator.port, ADMIN)
    for key in ("public/x", "private/x"):
        admin.put_object(oss.PutObjectRequest(bucket=BUCKET, key=key, body=b"x"))
    reader = sdk_client(emulator.port, READER)
    got = reader.get_object(oss.GetObjectRequest(bucket=BUCKET, key="public/x"))
    assert got.body.read() == b"x"
    with pytest.raises(oss.exceptions.OperationError) as info:
        reader.get_object(oss.GetObjectRequest(bucket=BUCKET, key="private/x"))
    assert info.value.unwrap().code == "AccessDenied"
    with pytest.raises(oss.exceptions.OperationError):
        reader.put_object(oss.PutObjectRequest(bucket=BUCKET, key="public/y", body=b"y"))


def test_anonymous_read_of_private_object_is_denied(emulator: Emulator) -> None:
    sdk_client(emulator.port, ADMIN).put_object(
        oss.PutObjectRequest(bucket=BUCKET, key="p", body=b"p"))
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=5)
    conn.request("GET", f"/{BUCKET}/p")
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    assert answer.status == 403
    assert b"<Code>AccessDenied</Code>" in body
    assert answer.getheader("Server") == "AliyunOSS"
    request_id = answer.getheader("x-oss-request-id") or ""
    assert len(request_id) == 24 and request_id == request_id.upper()
