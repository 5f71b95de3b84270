"""The HTTP shell and routing over real sockets: preflights, website reads, chunked bodies."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.cors import PREFLIGHT_REJECTED_MESSAGE, make_rule
from localcloud.oss.emulator import Emulator
from localcloud.oss.store import ObjectMeta
from tests.e2e.forms import request

BUCKET = "site-bucket"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    identities = IdentityStore([Principal("FAKE-AK-ADMIN", "fake-secret")])
    emu = Emulator.start(tmp_path, lookup=identities.lookup, website_bucket=BUCKET)
    emu.buckets.put(BucketConfig(
        name=BUCKET, acl="private", index_document="index.html",
        cors_rules=(make_rule(origins=("http://localhost:*",), methods=("POST",),
                              headers=("*",), expose=("ETag",)),),
    ))
    try:
        yield emu
    finally:
        emu.stop()


def put(emu: Emulator, key: str, data: bytes, acl: str, content_type: str) -> None:
    path = emu.store.spool_dir(BUCKET) / "t"
    path.write_bytes(data)
    emu.store.commit(BUCKET, path, ObjectMeta(
        key=key, size=len(data), etag="0", crc64=0, content_type=content_type,
        last_modified=__import__("datetime").datetime.now().astimezone(), acl=acl,
    ), forbid_overwrite=False)


def test_website_serves_index_for_root_and_directories(emulator: Emulator) -> None:
    put(emulator, "index.html", b"<h1>root</h1>", "public-read", "text/html")
    put(emulator, "docs/index.html", b"<h1>docs</h1>", "public-read", "text/html")
    base = f"http://localhost:{emulator.port}"
    host = {"Host": f"localhost:{emulator.port}"}
    status, headers, body = request("GET", base + "/", headers=host)
    assert (status, headers["content-type"], body) == (200, "text/html", b"<h1>root</h1>")
    status, _, body = request("GET", base + "/docs/", headers=host)
    assert (status, body) == (200, b"<h1>docs</h1>")


def test_website_refuses_private_objects(emulator: Emulator) -> None:
    put(emulator, "secret.txt", b"no", "default", "text/plain")
    status, headers, body = request("GET", f"http://localhost:{emulator.port}/secret.txt",
                                    headers={"Host": f"localhost:{emulator.port}"})
    assert status == 403 and b"<Code>AccessDenied</Code>" in body
    assert headers["content-type"] == "application/xml"


def test_preflight_match_and_rejection(emulator: Emulator) -> None:
    url = f"{emulator.url}/{BUCKET}"
    status, headers, _ = request("OPTIONS", url, headers={
        "Origin": "http://localhost:1", "Access-Control-Request-Method": "POST"})
    assert status == 200 and headers["access-control-allow-origin"] == "http://localhost:1"
    status, _, body = request("OPTIONS", url, headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert status == 403
    assert f"<Message>{PREFLIGHT_REJECTED_MESSAGE}</Message>".encode().replace(
        b"'", b"&#x27;") in body or b"AccessForbidden" in body


@pytest.mark.parametrize(("method", "target", "status", "code"), [
    ("GET", "/no-such-bucket/k", 404, b"NoSuchBucket"),
    ("PATCH", f"/{BUCKET}/k", 405, b"MethodNotAllowed"),
    ("GET", "/", 403, b"AccessDenied"),
    ("POST", f"/{BUCKET}", 400, b"RequestIsNotMultiPartContent"),
])
def test_bad_requests_get_oss_xml_errors(
    emulator: Emulator, method: str, target: str, status: int, code: bytes
) -> None:
    got, headers, body = request(method, emulator.url + target)
    assert got == status
    assert code in body
    assert len(headers["x-oss-request-id"]) == 24


def test_broken_chunked_framing_is_a_400_not_a_500(emulator: Emulator) -> None:
    raw = (f"POST /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
           "Content-Type: multipart/form-data; boundary=zz\r\n\r\n"
           "zz\r\n--zz\r\n\r\n0\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400")


def test_chunked_put_is_dechunked_and_stored(emulator: Emulator) -> None:
    emulator.buckets.put(BucketConfig(name="open-bucket", acl="public-read-write"))
    raw = (b"PUT /open-bucket/chunked.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
           b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")
    with emulator.store.open("open-bucket", "chunked.txt") as found:
        assert found is not None and found[1].read() == b"hello, world"
