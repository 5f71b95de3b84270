"""Multipart in the emulator, as a server-presigned browser upload uses it.

A V4 presigned UploadPart URL whose ``x-oss-additional-headers`` lists ``content-length``
takes only a body of the signed length (OSS behaviour unconfirmed; the stricter reading of
oss-multipart.md §3.2: the request must carry the listed headers with the signed values).
Parts go to disk as they arrive (memory stays flat however large the part), and an upload
outlives the emulator process that started it.
"""

from __future__ import annotations

import hashlib
import http.client
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import alibabacloud_oss_v2 as oss
import pytest
from alibabacloud_oss_v2.credentials import StaticCredentialsProvider
from alibabacloud_oss_v2.signer import SignerV4
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from localcloud.identity import IdentityStore
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from tests.e2e.forms import request
from tests.localcloud.objectkit import ADMIN, Cloud, sdk_client

PART = 100 * 1024


def presigned_part(ops: Cloud, key: str, upload_id: str, number: int, length: int) -> str:
    """An UploadPart URL presigned by the SDK's V4 signer with content-length pinned."""
    url = (f"http://127.0.0.1:{ops.port}/{ops.bucket}/{quote(key)}"
           f"?partNumber={number}&uploadId={upload_id}")
    wire = HttpRequest("PUT", url, headers={"Content-Length": str(length)})
    now = datetime.now(timezone.utc)
    context = SigningContext(
        product="oss", region="cn-hangzhou", bucket=ops.bucket, key=key, request=wire,
        credentials=StaticCredentialsProvider(
            ADMIN.access_key_id, ADMIN.access_key_secret, ADMIN.security_token,
        ).get_credentials(),
        signing_time=now, additional_headers={"content-length"},
    )
    context.auth_method_query = True
    context.expiration_time = now + timedelta(minutes=5)
    SignerV4().sign(context)
    assert "x-oss-additional-headers=content-length" in wire.url
    return str(wire.url)


def initiate(client: oss.Client, bucket: str, key: str) -> str:
    return str(client.initiate_multipart_upload(
        oss.InitiateMultipartUploadRequest(bucket=bucket, key=key)).upload_id)


def test_a_presigned_part_takes_exactly_the_signed_length(ops: Cloud) -> None:
    upload_id = initiate(ops.client(), ops.bucket, "v/a b.bin")
    url = presigned_part(ops, "v/a b.bin", upload_id, 1, 5)

    short = request("PUT", url, b"hell")
    long = request("PUT", url, b"hello!")
    exact = request("PUT", url, b"hello")

    for status, _, body in (short, long):
        assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    assert exact[0] == 200
    assert exact[1]["etag"] == '"' + hashlib.md5(b"hello").hexdigest().upper() + '"'  # noqa: S324
    assert [(p.number, p.size) for p in ops.emulator.app.uploads.parts(ops.bucket, upload_id)] == [
        (1, 5)]


def test_a_large_part_is_streamed_to_disk_with_flat_memory(ops: Cloud) -> None:
    upload_id = initiate(ops.client(), ops.bucket, "big")
    size = 48 * 1024**2
    url = presigned_part(ops, "big", upload_id, 1, size)
    block = b"\x5a" * (256 * 1024)
    connection = http.client.HTTPConnection("127.0.0.1", ops.port, timeout=60)
    tracemalloc.start()
    try:
        connection.putrequest("PUT", url.split(str(ops.port), 1)[1])
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        for _ in range(size // len(block)):
            connection.send(block)
        status = connection.getresponse().status
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        connection.close()
    assert status == 200
    assert peak < 8 * 1024**2  # a 48 MiB part never sits in memory
    [part] = ops.emulator.app.uploads.parts(ops.bucket, upload_id)
    assert part.size == size


def test_an_upload_outlives_the_emulator_that_started_it(tmp_path: Path) -> None:
    identities = IdentityStore([ADMIN])
    state = tmp_path / "state"
    first = Emulator.start(state, lookup=identities.lookup)
    try:
        first.buckets.put(BucketConfig(name="restart-bucket"))
        client = sdk_client(first.port, ADMIN)
        upload_id = initiate(client, "restart-bucket", "k")
        one = client.upload_part(oss.UploadPartRequest(
            bucket="restart-bucket", key="k", upload_id=upload_id, part_number=1,
            body=b"1" * PART)).etag
    finally:
        first.stop()
    second = Emulator.start(state, lookup=identities.lookup)
    try:
        client = sdk_client(second.port, ADMIN)
        listed = client.list_parts(oss.ListPartsRequest(
            bucket="restart-bucket", key="k", upload_id=upload_id))
        two = client.upload_part(oss.UploadPartRequest(
            bucket="restart-bucket", key="k", upload_id=upload_id, part_number=2,
            body=b"2")).etag
        client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
            bucket="restart-bucket", key="k", upload_id=upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(parts=[
                oss.UploadPart(part_number=1, etag=one), oss.UploadPart(part_number=2, etag=two)])))
        stored = client.get_object(oss.GetObjectRequest(bucket="restart-bucket", key="k"))
        data = stored.body.read()
    finally:
        second.stop()
    assert [(p.part_number, p.size) for p in listed.parts] == [(1, PART)]
    assert data == b"1" * PART + b"2"


pytestmark = pytest.mark.timeout(120)
