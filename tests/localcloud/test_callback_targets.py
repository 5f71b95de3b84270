"""Upload callbacks reach only the targets the stack configured, within OSS's timeout.

A form chooses its ``callbackUrl``, and the emulator runs beside other loopback services
(the STS stub, the function, anything else listening on the machine). The emulator calls
only URLs whose origin (scheme, host and port) it was configured with (the stack
configures the function's) and fails any other URL as OSS fails one it cannot reach:
203 ``CallbackFailed``, ``Error status : -1``, the object kept, and no connection made.
An allowed call gets OSS's timeout in total, however slowly the application answers.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from localcloud.identity import IdentityStore
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.callbackclient import (
    CANNOT_CONNECT,
    TOO_SLOW,
    allowed_origins,
    origin_of,
)
from localcloud.oss.emulator import Emulator
from localcloud.stack import LocalCloud
from localcloud.sts.server import StsStub
from tests.e2e.forms import post_form
from tests.localcloud.formbuilder import Signer, file_part, v4_form
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, identities
from tests.localcloud.signedhttp import error_fields
from tests.support.callbackapp import Answer, AppServer

DATA = b"callback target payload\n"
KEY = "uploads/target.png"
EC_CALLBACK_FAILED = "0007-00000203"
CALLBACK_TIMEOUT = 1.0
#: How long the dripping application takes to finish its answer: far beyond the timeout.
DRIP_SECONDS = 10.0


@pytest.fixture
def app(app_server: AppServer) -> AppServer:
    """The configured application server; ``/drip`` answers slowly."""
    app_server.default = Answer(body=b'{"ok":true}')
    app_server.answers["/drip"] = Answer(body=b'{"ok":true}', drip_seconds=DRIP_SECONDS)
    return app_server


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """Another loopback service: a listening socket that records every connection."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def connections(listener: socket.socket) -> int:
    """Count the connections made to ``listener`` so far (completed handshakes queue up)."""
    count = 0
    while True:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return count
        conn.close()
        count += 1


def url_of(listener: socket.socket, path: str = "/hook") -> str:
    return f"http://127.0.0.1:{listener.getsockname()[1]}{path}"


@pytest.fixture
def emulator(tmp_path: Path, app: AppServer) -> Iterator[Emulator]:
    emu = Emulator.start(tmp_path, lookup=identities().lookup, clock=lambda: FIXED_NOW,
                         callback_timeout=CALLBACK_TIMEOUT, callback_origins=(app.url("/"),))
    emu.buckets.put(BucketConfig(name=BUCKET))
    try:
        yield emu
    finally:
        emu.stop()


def callback_field(*urls: str) -> str:
    document = {"callbackUrl": ";".join(urls), "callbackBody": "object=${object}"}
    return base64.b64encode(json.dumps(document).encode("utf-8")).decode("ascii")


def upload(emu: Emulator, *urls: str) -> tuple[int, bytes]:
    parts = v4_form(LONG, FIXED_NOW, BUCKET, key=KEY,
                    extra_fields=[("callback", callback_field(*urls))])
    status, _, answer = post_form(f"{emu.url}/{BUCKET}",
                                  [*parts, file_part(DATA, content_type="image/png")])
    return status, answer


def stored(emu: Emulator, bucket: str = BUCKET, key: str = KEY) -> bytes | None:
    with emu.store.open(bucket, key) as found:
        return None if found is None else found[1].read()


def assert_unreachable(status: int, body: bytes) -> None:
    """OSS's answer for a callback URL it cannot reach (reference §10.4)."""
    fields = error_fields(body)
    assert (status, fields["Code"], fields["Message"], fields["EC"]) == (
        203, "CallbackFailed", CANNOT_CONNECT, EC_CALLBACK_FAILED)


def test_a_callback_to_another_loopback_service_fails_203_without_connecting(
    emulator: Emulator, app: AppServer, listener: socket.socket
) -> None:
    status, body = upload(emulator, url_of(listener))

    assert_unreachable(status, body)
    assert connections(listener) == 0
    assert stored(emulator) == DATA
    assert app.received == []


def test_a_callback_to_the_sts_stub_never_reaches_it(emulator: Emulator) -> None:
    stub = StsStub(IdentityStore([]), {}, clock=lambda: datetime.now(timezone.utc))
    sts = stub.start()
    try:
        status, body = upload(emulator, f"{sts.url}/?Action=AssumeRole")
    finally:
        sts.stop()

    assert_unreachable(status, body)
    assert stub.assume_role_calls == 0
    assert stored(emulator) == DATA


def test_a_callback_to_the_emulator_itself_fails_203(emulator: Emulator) -> None:
    status, body = upload(emulator, f"{emulator.url}/{BUCKET}")

    assert_unreachable(status, body)
    assert stored(emulator) == DATA


def test_of_several_urls_only_the_configured_origin_is_called(
    emulator: Emulator, app: AppServer, listener: socket.socket
) -> None:
    status, body = upload(emulator, url_of(listener, "/first"), app.url("/second"))

    assert (status, body) == (200, b'{"ok":true}')
    assert app.targets() == ["/second"]
    assert connections(listener) == 0


@pytest.mark.parametrize("variant", [
    pytest.param("http://localhost:{port}/cb", id="same port, host named differently"),
    pytest.param("https://127.0.0.1:{port}/cb", id="same host and port, other scheme"),
    pytest.param("http://127.0.0.1:{other}/cb", id="same host, other port"),
])
def test_an_origin_must_match_in_scheme_host_and_port(
    emulator: Emulator, app: AppServer, listener: socket.socket, variant: str
) -> None:
    url = variant.format(port=app.port, other=listener.getsockname()[1])
    status, body = upload(emulator, url)

    assert_unreachable(status, body)
    assert app.received == []
    assert connections(listener) == 0


def test_any_path_and_query_of_the_configured_origin_is_called(
    emulator: Emulator, app: AppServer
) -> None:
    status, _ = upload(emulator, app.url("/hooks/upload?source=oss"))

    assert status == 200
    assert app.targets() == ["/hooks/upload?source=oss"]


def test_an_emulator_configured_with_no_origins_calls_nothing(
    tmp_path: Path, app: AppServer
) -> None:
    emu = Emulator.start(tmp_path, lookup=identities().lookup, clock=lambda: FIXED_NOW)
    emu.buckets.put(BucketConfig(name=BUCKET))
    try:
        status, body = upload(emu, app.url("/cb"))
        assert_unreachable(status, body)
        assert stored(emu) == DATA
    finally:
        emu.stop()
    assert app.received == []


def test_an_application_dripping_its_answer_is_cut_at_the_callback_timeout(
    emulator: Emulator, app: AppServer
) -> None:
    started = time.monotonic()
    status, body = upload(emulator, app.url("/drip"))
    took = time.monotonic() - started

    fields = error_fields(body)
    assert (status, fields["Code"], fields["Message"]) == (203, "CallbackFailed", TOO_SLOW)
    assert CALLBACK_TIMEOUT <= took < CALLBACK_TIMEOUT + 1.0
    assert stored(emulator) == DATA


@pytest.mark.parametrize(("url", "origin"), [
    ("http://127.0.0.1:9000/callback?x=1", "http://127.0.0.1:9000"),
    ("http://127.0.0.1/callback", "http://127.0.0.1:80"),
    ("HTTPS://App.Example.TEST/cb", "https://app.example.test:443"),
    ("http://user:password@127.0.0.1:9000/cb", "http://127.0.0.1:9000"),
    ("http://[::1]:8080/cb", "http://[::1]:8080"),
    ("ftp://127.0.0.1/cb", None),
    ("http://127.0.0.1:99999/cb", None),
    ("http:///cb", None),
    ("/callback", None),
])
def test_an_origin_is_scheme_host_and_port_with_the_default_port_written_out(
    url: str, origin: str | None
) -> None:
    assert origin_of(url) == origin


def test_a_configured_target_that_is_not_an_http_origin_is_refused() -> None:
    assert allowed_origins([" http://127.0.0.1:9000/callback "]) == {"http://127.0.0.1:9000"}
    with pytest.raises(ValueError, match="not an http"):
        allowed_origins(["127.0.0.1:9000"])


# --- the stack ---------------------------------------------------------------------------


def test_the_stack_lets_callbacks_reach_the_function_only(
    tmp_path: Path, listener: socket.socket
) -> None:
    cloud = LocalCloud.start(tmp_path, publish_web=False)
    try:
        assert cloud.function_url is not None
        assert cloud.emulator.app.signer.allowed_origins == {origin_of(cloud.function_url)}
        admin = cloud.admin_credentials
        signer = Signer(admin.access_key_id, admin.access_key_secret, region=cloud.region)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        for target in (f"{cloud.sts_url}/", url_of(listener)):
            parts = v4_form(signer, now, cloud.bucket, key=KEY,
                            extra_fields=[("callback", callback_field(target))])
            status, _, answer = post_form(cloud.post_url,
                                          [*parts, file_part(DATA, content_type="image/png")])
            assert_unreachable(status, answer)
        assert connections(listener) == 0
        assert stored(cloud.emulator, cloud.bucket) == DATA
    finally:
        cloud.stop()


def test_the_stack_calls_the_targets_it_is_given_instead(tmp_path: Path, app: AppServer) -> None:
    cloud = LocalCloud.start(tmp_path, publish_web=False, start_function=False,
                             callback_origins=(app.url("/"),))
    try:
        assert cloud.emulator.app.signer.allowed_origins == {origin_of(app.url("/"))}
    finally:
        cloud.stop()
