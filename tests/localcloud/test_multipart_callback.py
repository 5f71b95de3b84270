"""The upload callback on CompleteMultipartUpload (oss-multipart.md §5).

``x-oss-callback`` and ``x-oss-callback-var`` (Base64 JSON) ask the emulator to send the
completed object's summary, signed with its key, to the application; the application's JSON
replaces the XML result. A failure is 203 CallbackFailed and the object is kept. A bad
callback is 400 before anything is joined.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.identity import IdentityStore
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.callback import verify_callback
from localcloud.oss.emulator import Emulator
from tests.e2e.forms import request
from tests.localcloud.objectkit import ADMIN, sdk_client
from tests.localcloud.signedhttp import Call, send
from tests.support.callbackapp import Answer, AppServer

BUCKET = "callback-bucket"
PART = 100 * 1024
ONE, LAST = b"1" * PART, b"last"


def b64(document: Any) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.fixture
def emulator(tmp_path: Path, app_server: AppServer) -> Iterator[Emulator]:
    """An emulator on the real clock whose callbacks may reach the application server only."""
    started = Emulator.start(tmp_path, lookup=IdentityStore([ADMIN]).lookup,
                             callback_timeout=2.0, callback_origins=(app_server.url("/"),))
    started.buckets.put(BucketConfig(name=BUCKET))
    yield started  # pytest runs the rest even when the test fails
    started.stop()


def parts_of(emu: Emulator, key: str) -> tuple[str, bytes]:
    """Initiate ``key`` as video/mp4, upload two parts; return the upload id and the body."""
    client = sdk_client(emu.port, ADMIN)
    upload_id = str(client.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=BUCKET, key=key, content_type="video/mp4")).upload_id)
    xml = ""
    for number, data in ((1, ONE), (2, LAST)):
        etag = client.upload_part(oss.UploadPartRequest(
            bucket=BUCKET, key=key, upload_id=upload_id, part_number=number, body=data)).etag
        xml += f"<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
    return upload_id, f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>".encode()


def complete(emu: Emulator, key: str, headers: dict[str, str]) -> Any:
    upload_id, body = parts_of(emu, key)
    return send(emu.port, Call("POST", BUCKET, key, {"uploadId": upload_id}, headers, body), ADMIN)


def test_complete_sends_the_signed_summary_and_relays_the_answer(
    emulator: Emulator, app_server: AppServer
) -> None:
    app_server.default = Answer(body=b'{"ok":true}')
    spec = {"callbackUrl": app_server.url("/done"), "callbackBodyType": "application/json",
            "callbackBody": '{"object":${object},"size":${size},"etag":${etag},'
                            '"mimeType":${mimeType},"grant":${x:grant-id}}'}
    answer = complete(emulator, "v/film.mp4", {"x-oss-callback": b64(spec),
                                                "x-oss-callback-var": b64({"x:grant-id": "g1"})})
    assert (answer.status, answer.body) == (200, b'{"ok":true}')
    assert answer.headers["content-type"] == "application/json"
    [received] = app_server.received
    summary = json.loads(received.body)
    etag = hashlib.md5(("".join(hashlib.md5(d).hexdigest().upper()  # noqa: S324
                                for d in (ONE, LAST))).encode()).hexdigest().upper()  # noqa: S324
    assert summary == {"object": "v/film.mp4", "size": str(PART + 4), "etag": f"{etag}-2",
                       "mimeType": "video/mp4", "grant": "g1"}
    assert answer.headers["etag"] == f'"{etag}-2"'
    key_url = base64.b64decode(received.headers["x-oss-pub-key-url"]).decode()
    status, _, pem = request("GET", key_url)
    assert status == 200
    assert verify_callback(pem, "/done", "", received.body, received.headers["authorization"])


def test_a_failed_callback_is_203_and_the_object_is_kept(
    emulator: Emulator, app_server: AppServer
) -> None:
    app_server.default = Answer(status=500)
    spec = {"callbackUrl": app_server.url("/done"), "callbackBody": "object=${object}"}
    answer = complete(emulator, "kept.bin", {"x-oss-callback": b64(spec)})
    assert (answer.status, answer.code) == (203, "CallbackFailed")
    with emulator.store.open(BUCKET, "kept.bin") as found:
        assert found is not None and found[1].read() == ONE + LAST


@pytest.mark.parametrize("headers", [
    {"x-oss-callback": "not base64!"},
    {"x-oss-callback": b64({"callbackBody": "no url"})},
    {"x-oss-callback": b64({"callbackUrl": "http://127.0.0.1:1/", "callbackBody": "a"}),
     "x-oss-callback-var": b64({"grant": "not an x: key"})},
])
def test_a_bad_callback_is_refused_before_anything_is_joined(
    emulator: Emulator, headers: dict[str, str]
) -> None:
    answer = complete(emulator, "never.bin", headers)
    assert (answer.status, answer.code) == (400, "InvalidArgument")
    with emulator.store.open(BUCKET, "never.bin") as found:
        assert found is None
