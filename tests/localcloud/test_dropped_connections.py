"""A client that drops its connection is not an error: the emulator logs no traceback.

Every way a client can go away (reset after a keep-alive answer, mid-head, mid-body,
while the answer streams, or idle until the server's timeout) leaves only DEBUG/INFO
lines without ``exc_info``, and the emulator keeps serving.
"""

from __future__ import annotations

import logging
import socket
import struct
import time
from collections.abc import Callable, Iterator

import pytest

from localcloud.oss.emulator import HttpServer
from localcloud.serving import ServerLimits
from tests.localcloud.objectkit import ADMIN, Cloud
from tests.localcloud.signedhttp import Call, send, sign

BIG = b"z" * (8 * 1024 * 1024)


def reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a crashed or impatient client does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def head(port: int, call: Call, extra: str = "") -> bytes:
    headers = sign(call, ADMIN, f"127.0.0.1:{port}")
    lines = [f"{call.method} {call.target} HTTP/1.1",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def after_an_answer_on_keep_alive(ops: Cloud) -> None:
    with socket.create_connection(("127.0.0.1", ops.port)) as sock:
        sock.sendall(head(ops.port, Call("HEAD", ops.bucket, "big")))
        sock.recv(65536)
        reset(sock)


def in_the_middle_of_the_head(ops: Cloud) -> None:
    sock = socket.create_connection(("127.0.0.1", ops.port))
    sock.sendall(f"GET /{ops.bucket}/big HTTP/1.1\r\nHost: 127.0".encode())
    time.sleep(0.05)
    reset(sock)


def in_the_middle_of_the_body(ops: Cloud) -> None:
    sock = socket.create_connection(("127.0.0.1", ops.port))
    call = Call("PUT", ops.bucket, "partial")
    sock.sendall(head(ops.port, call, f"Content-Length: {len(BIG)}\r\n") + BIG[:1024 * 1024])
    time.sleep(0.05)
    reset(sock)


def while_the_answer_streams(ops: Cloud) -> None:
    sock = socket.create_connection(("127.0.0.1", ops.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(head(ops.port, Call("GET", ops.bucket, "big")))
    sock.recv(4096)
    reset(sock)


DROPS: dict[str, Callable[[Cloud], None]] = {
    "after an answer on a keep-alive connection": after_an_answer_on_keep_alive,
    "in the middle of the request head": in_the_middle_of_the_head,
    "in the middle of the request body": in_the_middle_of_the_body,
    "while the answer streams": while_the_answer_streams,
}


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield seen
    finally:
        root.removeHandler(handler)


def loud(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name} {r.levelname} {r.getMessage()}" for r in records
            if r.exc_info or r.levelno >= logging.WARNING]


def wait_idle(ops: Cloud) -> None:
    """Wait until the server holds no connection on a worker (the drop was handled)."""
    server = ops.emulator.server._server  # noqa: SLF001 - observing, not steering
    deadline = time.monotonic() + 5
    while server is not None and time.monotonic() < deadline:
        if server.open_connections == 0:
            return
        time.sleep(0.01)


@pytest.mark.parametrize("drop", DROPS.values(), ids=DROPS.keys())
def test_a_dropped_connection_logs_no_traceback_and_the_server_keeps_serving(
    ops: Cloud, records: list[logging.LogRecord], drop: Callable[[Cloud], None]
) -> None:
    ops.put("big", BIG)
    records.clear()

    drop(ops)
    wait_idle(ops)

    assert loud(records) == []
    assert send(ops.port, Call("GET", ops.bucket, "big"), ADMIN).body == BIG


def test_an_idle_keep_alive_connection_closed_by_the_server_logs_no_traceback(
    ops: Cloud, records: list[logging.LogRecord]
) -> None:
    server = HttpServer(ops.emulator.app, limits=ServerLimits(idle_timeout=0.1))
    port = server.start("127.0.0.1", 0)
    try:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(head(port, Call("GET", ops.bucket, "none")))
            first = read_answer(sock)
            time.sleep(0.3)
            closed = sock.recv(65536)
    finally:
        server.stop()
    assert (first.split(b"\r\n", 1)[0], closed) == (b"HTTP/1.1 404 Not Found", b"")
    assert loud(records) == []


def read_answer(sock: socket.socket) -> bytes:
    """Read one whole answer (head and ``Content-Length`` body) off a keep-alive socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head_part, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":", 1)[1] for line in head_part.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(65536)
    return head_part + b"\r\n\r\n" + body
