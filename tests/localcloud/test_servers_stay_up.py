"""The emulator and the STS stub stay up while clients stall.

Both servers run here with a pool of four workers and deadlines short enough for each case
to end within seconds. A stalled socket is one of four kinds: connected and silent, cut off
in the middle of its headers, kept alive after an answer, or announcing a small body that
never comes. Such sockets wait for their request on the server's loop, not on a thread: a
normal request on a fresh connection is still answered within 1 s while 150 of them are
open, the server's threads stay at its pool, and the server drops each one by its own
deadline. Only a stalled large body holds a worker, and for one read timeout; an upload
that keeps sending is never cut, however long it takes.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from localcloud.identity import IdentityStore
from localcloud.oss.app import PUB_KEY_PATH
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.serving import ServerLimits
from localcloud.sts.server import StsStub
from tests.localcloud.formbuilder import content_type, encode, file_part, v4_form
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, identities

STALLED = 150
PROBES = 20
#: A normal request must be answered this fast while the stalled sockets are open.
ANSWER_LIMIT_SECONDS = 1.0
#: Scheduling slack on top of a server deadline before a drop counts as late.
SLACK_SECONDS = 1.0
WORKERS = 4
#: Long enough that nothing stalled is dropped while the probes run.
PATIENT = ServerLimits(workers=WORKERS, idle_timeout=10.0, read_timeout=10.0)
#: Short enough that stalled sockets are dropped within a test.
HASTY = ServerLimits(workers=WORKERS, idle_timeout=0.5, read_timeout=0.5)
KINDS = ("silent", "partial head", "idle keep-alive", "small body never sent")


@dataclass(frozen=True)
class Served:
    """A running server under test and the request that counts as "normal" for it."""

    name: str
    address: tuple[str, int]
    probe_path: str
    probe_status: int
    #: What an anonymous ``POST /`` with a small body gets (neither server takes it).
    post_status: int
    stop: Callable[[], None]

    @property
    def thread_prefix(self) -> str:
        return f"{self.name}-{self.address[1]}"


def start_emulator(state: Path, limits: ServerLimits, port: int = 0) -> Served:
    emu = Emulator.start(state, lookup=identities().lookup, clock=lambda: FIXED_NOW,
                         port=port, server_limits=limits)
    emu.buckets.put(BucketConfig(name=BUCKET))
    return Served("oss-http", ("127.0.0.1", emu.port), PUB_KEY_PATH, 200, 403, emu.stop)


def start_sts(state: Path, limits: ServerLimits, port: int = 0) -> Served:
    del state
    stub = StsStub(IdentityStore([]), {}, clock=lambda: datetime.now(timezone.utc))
    running = stub.start(port=port, limits=limits)
    # No action named: STS's 400 MissingParameter, a full answer from the service.
    return Served("sts-stub", ("127.0.0.1", running.port), "/", 400, 400, running.stop)


SERVERS = {"emulator": start_emulator, "sts stub": start_sts}
Starter = Callable[[Path, ServerLimits, int], Served]


@pytest.fixture(params=sorted(SERVERS))
def starter(request: pytest.FixtureRequest) -> Iterator[Starter]:
    """Start the emulator or the STS stub; whatever a test starts is stopped after it."""
    started: list[Served] = []

    def start(state: Path, limits: ServerLimits, port: int) -> Served:
        started.append(SERVERS[str(request.param)](state, limits, port))
        return started[-1]

    yield start
    for served in started:
        served.stop()


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    """Client sockets a test opens; every one is closed afterwards, even on failure."""
    opened: list[socket.socket] = []
    try:
        yield opened
    finally:
        for sock in opened:
            sock.close()


def connect(server: Served, sockets: list[socket.socket]) -> socket.socket:
    """Open a client connection to ``server``, closed by the ``sockets`` fixture."""
    sock = socket.create_connection(server.address, timeout=5)
    sockets.append(sock)
    return sock


def probe(server: Served) -> float:
    """Send the normal request on a fresh connection; return how long its answer took."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(*server.address, timeout=5)
    try:
        conn.request("GET", server.probe_path)
        answer = conn.getresponse()
        answer.read()
        assert answer.status == server.probe_status
    finally:
        conn.close()
    return time.monotonic() - started


def stall(server: Served, kind: str) -> socket.socket:
    """Open a connection that stalls as ``kind`` describes."""
    sock = socket.create_connection(server.address, timeout=5)
    if kind == "partial head":
        sock.sendall(b"GET / HTTP/1.1\r\nHost: stalled.test\r\nUser-Agent: slo")
    elif kind == "small body never sent":
        sock.sendall(b"POST / HTTP/1.1\r\nHost: stalled.test\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 1000\r\n\r\n")
    elif kind == "idle keep-alive":
        sock.sendall(f"GET {server.probe_path} HTTP/1.1\r\nHost: stalled.test\r\n\r\n".encode())
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        answer.read()
        assert answer.status == server.probe_status and not answer.will_close
    return sock


def still_open(sock: socket.socket) -> bool:
    """Tell whether the server has left ``sock`` open (nothing to read, no end of stream)."""
    sock.setblocking(False)
    try:
        return bool(sock.recv(1, socket.MSG_PEEK))
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(5)


def dropped_within(sock: socket.socket, seconds: float) -> bool:
    """Tell whether the server closes ``sock`` (after any answer) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(4096):
                return True
        except TimeoutError:
            return False
        except ConnectionError:
            return True
    return False


def server_threads(server: Served) -> int:
    return sum(1 for thread in threading.enumerate()
               if thread.name.startswith(server.thread_prefix))


def test_a_normal_request_is_answered_within_a_second_while_150_sockets_stall(
    starter: Starter, tmp_path: Path, sockets: list[socket.socket]
) -> None:
    server = starter(tmp_path, PATIENT, 0)
    for index in range(STALLED):
        sockets.append(stall(server, KINDS[index % len(KINDS)]))
    latencies = [probe(server) for _ in range(PROBES)]
    threads = server_threads(server)
    figures = (f"{server.name}, {STALLED} stalled sockets: {PROBES} probes, "
               f"max {max(latencies) * 1000:.1f} ms, threads {threads}")
    print(figures)
    assert max(latencies) < ANSWER_LIMIT_SECONDS, figures
    assert threads == WORKERS + 1, figures  # the pool and the loop, nothing per socket
    assert all(still_open(sock) for sock in sockets), "stalled sockets were dropped early"


@pytest.mark.parametrize("kind", KINDS)
def test_a_stalled_socket_is_dropped_by_the_idle_timeout(
    starter: Starter, kind: str, tmp_path: Path, sockets: list[socket.socket]
) -> None:
    server = starter(tmp_path, HASTY, 0)
    sockets.append(stall(server, kind))
    assert dropped_within(sockets[-1], HASTY.idle_timeout + SLACK_SECONDS)


def test_beyond_max_connections_a_new_client_waits_until_a_slot_frees(
    starter: Starter, tmp_path: Path, sockets: list[socket.socket]
) -> None:
    limits = ServerLimits(workers=WORKERS, max_connections=8, idle_timeout=0.5)
    server = starter(tmp_path, limits, 0)
    opened = time.monotonic()
    sockets.extend(stall(server, "silent") for _ in range(limits.max_connections))
    probe(server)
    # Not served beside the eight, but after the first of them timed out.
    assert time.monotonic() - opened >= limits.idle_timeout
    assert server_threads(server) == WORKERS + 1


def test_pipelined_requests_on_one_connection_are_answered_in_order(
    starter: Starter, tmp_path: Path, sockets: list[socket.socket]
) -> None:
    server = starter(tmp_path, HASTY, 0)
    sock = connect(server, sockets)
    one = f"GET {server.probe_path} HTTP/1.1\r\nHost: pipelined.test\r\n"
    sock.sendall(f"{one}\r\n{one}\r\n{one}Connection: close\r\n\r\n".encode())
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    status_line = f"HTTP/1.1 {server.probe_status} ".encode()
    assert received.startswith(status_line)
    assert received.count(status_line) == 3


def test_a_client_expecting_100_continue_gets_it_before_sending_its_body(
    starter: Starter, tmp_path: Path, sockets: list[socket.socket]
) -> None:
    server = starter(tmp_path, HASTY, 0)
    sock = connect(server, sockets)
    sock.sendall(b"POST / HTTP/1.1\r\nHost: expect.test\r\nExpect: 100-continue\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 9\r\n\r\n")
    sock.settimeout(ANSWER_LIMIT_SECONDS)
    assert sock.recv(4096).startswith(b"HTTP/1.1 100 Continue\r\n")
    sock.sendall(b"Action=No")
    sock.settimeout(5)
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    answer.read()
    assert answer.status == server.post_status  # a full answer, not a dropped connection


def test_a_busy_port_fails_with_oserror(starter: Starter, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            starter(tmp_path, PATIENT, int(taken.getsockname()[1])).stop()


# --- large bodies (the emulator: the STS stub refuses any body over 64 KiB at once) ----

UPLOAD_SIZE = 512 * 1024


def upload_request(data: bytes) -> bytes:
    """A signed PostObject request for ``data``, head and body, as bytes on the wire."""
    parts = v4_form(LONG, FIXED_NOW, BUCKET, key="uploads/slow.bin")
    body = encode([*parts, file_part(data, filename="slow.bin",
                                     content_type="application/octet-stream")])
    head = (f"POST /{BUCKET} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: {content_type()}\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def test_an_upload_that_keeps_sending_is_never_cut(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    server = start_emulator(tmp_path, HASTY)
    try:
        wire = upload_request(bytes(range(256)) * (UPLOAD_SIZE // 256))
        sock = connect(server, sockets)
        started = time.monotonic()
        pieces = 10
        step = len(wire) // pieces + 1
        for offset in range(0, len(wire), step):
            sock.sendall(wire[offset:offset + step])
            time.sleep(HASTY.read_timeout * 0.4)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        answer.read()
        took = time.monotonic() - started
        assert answer.status == 204, answer.status
        assert took > 3 * max(HASTY.read_timeout, HASTY.idle_timeout)  # longer than any deadline
    finally:
        server.stop()


def test_stalled_large_uploads_hold_workers_for_one_read_timeout_only(
    tmp_path: Path, sockets: list[socket.socket]
) -> None:
    limits = ServerLimits(workers=WORKERS, idle_timeout=10.0, read_timeout=0.5)
    server = start_emulator(tmp_path, limits)
    try:
        wire = upload_request(bytes(UPLOAD_SIZE))
        stalled = 2 * WORKERS  # more than the pool: the probe queues behind them
        started = time.monotonic()
        for _ in range(stalled):
            sock = connect(server, sockets)
            sock.sendall(wire[:len(wire) // 2])
        waited = probe(server)
        rounds = stalled // WORKERS
        assert waited < rounds * limits.read_timeout + SLACK_SECONDS
        assert server_threads(server) == WORKERS + 1
        elapsed = time.monotonic() - started
        assert all(dropped_within(sock, rounds * limits.read_timeout + SLACK_SECONDS - elapsed)
                   for sock in sockets)
    finally:
        server.stop()
