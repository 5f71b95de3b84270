"""Upload callbacks delivered by the running emulator to an application server on loopback.

The application server (``tests/support/callbackapp.py``) is a plain ``http.server`` on
port 0; it records what the emulator sent and answers as each test scripts it. The signature is
checked with the key fetched from the URL the emulator names, using a verifier written
here from the reference (§10.3), not the emulator's own.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from localcloud.oss.app import PUB_KEY_PATH
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from tests.e2e.forms import post_form, request
from tests.localcloud.formbuilder import file_part, v4_form
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, identities
from tests.localcloud.signedhttp import error_fields
from tests.support.callbackapp import Answer, AppServer, Received

DATA = b"callback payload\n"
KEY = "uploads/photo.png"
EC_CALLBACK_FAILED = "0007-00000203"
# Short enough to keep the slow-application test quick, long enough for loopback.
CALLBACK_TIMEOUT = 1.0


@pytest.fixture
def emulator(tmp_path: Path, app_server: AppServer) -> Iterator[Emulator]:
    # The application server is the one callback target (the stack configures the function).
    emu = Emulator.start(tmp_path, lookup=identities().lookup, clock=lambda: FIXED_NOW,
                         callback_timeout=CALLBACK_TIMEOUT,
                         callback_origins=(app_server.url("/"),))
    emu.buckets.put(BucketConfig(name=BUCKET))
    try:
        yield emu
    finally:
        emu.stop()


def _dead_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def callback_field(document: Mapping[str, Any]) -> str:
    return base64.b64encode(json.dumps(document).encode("utf-8")).decode("ascii")


def upload(emu: Emulator, callback: str, variables: Sequence[tuple[str, str]] = (),
           *, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """POST a signed form carrying ``callback`` (Base64 field) and ``x:`` variables.

    With ``host`` (``<bucket>.<anything>``) the bucket is addressed virtual-hosted style.
    """
    parts = v4_form(LONG, FIXED_NOW, BUCKET, key=KEY,
                    extra_fields=[("callback", callback), *variables])
    target = f"{emu.url}/" if host is not None else f"{emu.url}/{BUCKET}"
    return post_form(target, [*parts, file_part(DATA, content_type="image/png")],
                     {"Host": host} if host is not None else None)


def stored(emu: Emulator) -> bytes | None:
    with emu.store.open(BUCKET, KEY) as found:
        return None if found is None else found[1].read()


def verify_independently(received: Received) -> bool:
    """Verify the callback as an application server would (reference §10.3)."""
    key_url = base64.b64decode(received.headers["x-oss-pub-key-url"]).decode("utf-8")
    status, _, pem = request("GET", key_url)
    assert status == 200
    public_key = serialization.load_pem_public_key(pem)
    assert isinstance(public_key, rsa.RSAPublicKey)
    path, _, query = received.target.partition("?")
    sign_str = (unquote(path) + ("?" + query if query else "") + "\n").encode() + received.body
    try:
        public_key.verify(base64.b64decode(received.headers["authorization"]), sign_str,
                          padding.PKCS1v15(), hashes.MD5())
    except InvalidSignature:
        return False
    return True


def test_form_callback_is_signed_substituted_and_its_json_relayed(
    emulator: Emulator, app_server: AppServer
) -> None:
    app_server.answers["/hooks/%2541"] = Answer(body=b'{"accepted":true,"id":7}')
    doc = {
        "callbackUrl": app_server.url("/hooks/%2541?id=1&index=2"),
        "callbackHost": "app.example.test",
        "callbackBody": "bucket=${bucket}&object=${object}&etag=${etag}&size=${size}"
                        "&mimeType=${mimeType}&crc=${crc64}&my_var=${x:var1}",
    }
    status, headers, body = upload(emulator, callback_field(doc), [("x:var1", "a b&c=d/é")])

    md5 = hashlib.md5(DATA).hexdigest().upper()
    assert (status, body) == (200, b'{"accepted":true,"id":7}')
    assert headers["content-type"] == "application/json"
    assert headers["etag"] == f'"{md5}"'
    assert len(headers["x-oss-request-id"]) == 24
    [got] = app_server.received
    assert (got.method, got.target) == ("POST", "/hooks/%2541?id=1&index=2")
    assert got.headers["host"] == "app.example.test"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(got.body.decode("ascii"), keep_blank_values=True)) == {
        "bucket": BUCKET, "object": KEY, "etag": md5, "size": str(len(DATA)),
        "mimeType": "image/png", "crc": headers["x-oss-hash-crc64ecma"],
        "my_var": "a b&c=d/é",
    }
    assert verify_independently(got)
    assert stored(emulator) == DATA


def test_json_callback_body_gets_each_variable_as_a_json_string(
    emulator: Emulator, app_server: AppServer
) -> None:
    doc = {
        "callbackUrl": app_server.url("/json"),
        "callbackBody": '{"bucket":${bucket},"size":${size},"note":"v=${x:note}","raw":${x:note}}',
        "callbackBodyType": "application/json",
    }
    status, _, _ = upload(emulator, callback_field(doc), [("x:note", 'say "hi"')])

    assert status == 200
    [got] = app_server.received
    assert got.headers["content-type"] == "application/json"
    assert got.headers["host"] == f"127.0.0.1:{app_server.port}"
    assert json.loads(got.body) == {"bucket": BUCKET, "size": str(len(DATA)),
                                    "note": 'v=say "hi"', "raw": 'say "hi"'}
    assert verify_independently(got)


def test_a_tampered_callback_body_does_not_verify(
    emulator: Emulator, app_server: AppServer
) -> None:
    doc = {"callbackUrl": app_server.url("/t"), "callbackBody": "object=${object}"}
    upload(emulator, callback_field(doc))
    [got] = app_server.received
    forged = Received(got.method, got.target, got.headers, got.body + b"&admin=1")
    assert verify_independently(got)
    assert not verify_independently(forged)


@pytest.mark.parametrize(("answer", "message"), [
    (Answer(status=500, body=b'{"error":"boom"}'), "Error status : 500."),
    (Answer(status=302, body=b""), "Error status : 302."),
    (Answer(body=b"<html>ok</html>", content_type="text/html"),
     "Response body is not valid json format."),
    (Answer(hang=True), "Cost too long time."),
])
def test_a_failing_application_gives_203_callback_failed_and_the_object_is_kept(
    emulator: Emulator, app_server: AppServer, answer: Answer, message: str
) -> None:
    app_server.answers["/fail"] = answer
    doc = {"callbackUrl": app_server.url("/fail"), "callbackBody": "object=${object}"}
    status, headers, body = upload(emulator, callback_field(doc))

    md5 = hashlib.md5(DATA).hexdigest().upper()
    fields = error_fields(body)
    assert status == 203
    assert (fields["Code"], fields["Message"], fields["EC"]) == (
        "CallbackFailed", message, EC_CALLBACK_FAILED)
    assert fields["RequestId"] == headers["x-oss-request-id"]
    assert headers["x-oss-ec"] == EC_CALLBACK_FAILED
    assert headers["content-type"] == "application/xml"
    assert headers["etag"] == f'"{md5}"'
    assert stored(emulator) == DATA


def test_an_unreachable_application_gives_203_cannot_connect(emulator: Emulator) -> None:
    doc = {"callbackUrl": f"http://127.0.0.1:{_dead_port()}/cb", "callbackBody": "a=${size}"}
    status, _, body = upload(emulator, callback_field(doc))
    assert status == 203
    assert error_fields(body)["Message"] == (
        "Error status : -1. OSS can not connect to your callbackUrl, please check it.")
    assert stored(emulator) == DATA


def test_several_urls_are_tried_in_order_until_one_succeeds(
    emulator: Emulator, app_server: AppServer
) -> None:
    app_server.answers["/first"] = Answer(status=503)
    app_server.answers["/second"] = Answer(body=b'{"from":"second"}')
    urls = [f"http://127.0.0.1:{_dead_port()}/down", app_server.url("/first"),
            app_server.url("/second"), app_server.url("/third")]
    doc = {"callbackUrl": ";".join(urls), "callbackBody": "object=${object}"}
    status, _, body = upload(emulator, callback_field(doc))

    assert (status, body) == (200, b'{"from":"second"}')
    assert [r.target for r in app_server.received] == ["/first", "/second"]
    assert all(verify_independently(r) for r in app_server.received)


def test_when_every_url_fails_the_last_failure_is_reported(
    emulator: Emulator, app_server: AppServer
) -> None:
    app_server.answers["/a"] = Answer(status=500)
    app_server.answers["/b"] = Answer(status=404)
    doc = {"callbackUrl": f"{app_server.url('/a')};{app_server.url('/b')}",
           "callbackBody": "object=${object}"}
    status, _, body = upload(emulator, callback_field(doc))
    assert status == 203
    assert error_fields(body)["Message"] == "Error status : 404."
    assert [r.target for r in app_server.received] == ["/a", "/b"]


def test_virtual_hosted_upload_delivers_the_callback_too(
    emulator: Emulator, app_server: AppServer
) -> None:
    doc = {"callbackUrl": app_server.url("/vh"), "callbackBody": "bucket=${bucket}"}
    status, _, _ = upload(emulator, callback_field(doc),
                          host=f"{BUCKET}.localhost:{emulator.port}")
    assert status == 200
    [got] = app_server.received
    assert got.body == f"bucket={BUCKET}".encode()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("value", [
    "not base64!",
    _b64("not json"),
    _b64('["a list"]'),
    _b64(json.dumps({"callbackUrl": "http://127.0.0.1/x", "callbackBody": ""})),
    _b64(json.dumps({"callbackUrl": "ftp://127.0.0.1/x", "callbackBody": "a=1"})),
    _b64(json.dumps({"callbackUrl": "http://127.0.0.1:99999/x", "callbackBody": "a=1"})),
    _b64(json.dumps({"callbackUrl": ";".join(["http://127.0.0.1/x"] * 6),
                     "callbackBody": "a=1"})),
    _b64(json.dumps({"callbackUrl": "http://127.0.0.1/x", "callbackBody": "a=1",
                     "callbackBodyType": "text/plain"})),
    _b64(json.dumps({"callbackUrl": "http://127.0.0.1/x", "callbackBody": "a=${nope}"})),
], ids=["not-base64", "not-json", "not-object", "empty-body", "bad-scheme", "bad-port",
        "six-urls", "bad-body-type", "unknown-variable"])
def test_an_invalid_callback_field_is_400_before_anything_is_stored(
    emulator: Emulator, app_server: AppServer, value: str
) -> None:
    status, headers, body = upload(emulator, value)

    fields = error_fields(body)
    assert status == 400
    assert (fields["Code"], fields["Message"], fields["ArgumentName"]) == (
        "InvalidArgument", "The callback configuration is not json format.", "callback")
    assert headers["content-type"] == "application/xml"
    assert stored(emulator) is None
    assert list(emulator.store.spool_dir(BUCKET).iterdir()) == []
    assert app_server.received == []


def test_an_empty_callback_url_means_no_callback(
    emulator: Emulator, app_server: AppServer
) -> None:
    doc = {"callbackUrl": "", "callbackBody": "object=${object}"}
    status, _, body = upload(emulator, callback_field(doc))
    assert (status, body) == (204, b"")
    assert app_server.received == []
    assert stored(emulator) == DATA


def test_the_public_key_is_served_as_pem(emulator: Emulator) -> None:
    status, _, pem = request("GET", emulator.url + PUB_KEY_PATH)
    assert status == 200
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert isinstance(serialization.load_pem_public_key(pem), rsa.RSAPublicKey)
    assert b"PRIVATE" not in pem

