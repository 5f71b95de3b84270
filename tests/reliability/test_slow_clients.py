"""Slow clients must not starve the signing function on the gunicorn path.

The whole local cloud runs with the function as ``make dev`` serves it (gunicorn with
``functions/sign/gunicorn.conf.py``). Sixty-four loopback connections stall: half stop in
the middle of their request headers, half announce a 1000-byte body for ``POST /uploads``
and never send it. While they hang, ``/healthz`` on fresh connections must still answer
promptly, and the server must drop the stalled connections by itself within its own read
deadlines (read from the same config file), so they cannot pile up.
"""

from __future__ import annotations

import http.client
import math
import runpy
import socket
import time
from collections.abc import Iterator

import pytest

from localcloud.stack import FUNCTION_DIR, LocalCloud

SLOW_CLIENTS = 64
PROBES = 50
#: What a healthy instance must manage with the slow clients hanging on.
P99_LIMIT_SECONDS = 1.0
#: One probe's own patience: a probe that waits this long has failed anyway.
PROBE_TIMEOUT_SECONDS = 3.0
#: Stop probing after this long, so the starved case fails in bounded time.
PROBING_BUDGET_SECONDS = 20.0
#: Slack on top of the server's deadlines for scheduling and the 500 it may answer with.
DROP_SLACK_SECONDS = 3.0
GUNICORN_CONF = FUNCTION_DIR / "gunicorn.conf.py"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    # The rate limit would refuse the stalled POSTs before they reach their body read.
    with LocalCloud.start(tmp_path_factory.mktemp("slowclients"), publish_web=False,
                          function_env_overrides={"RATE_LIMIT_PER_MINUTE": "0"}) as running:
        yield running


def function_address(cloud: LocalCloud) -> tuple[str, int]:
    assert cloud.function_url is not None
    host, port = cloud.function_url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def partial_headers(host: str) -> bytes:
    """A request cut off in the middle of a header line."""
    return f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: slow".encode()


def announced_body(host: str, origin: str) -> bytes:
    """Complete headers for a grant request whose announced 1000-byte body never comes."""
    return (f"POST /uploads HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()


@pytest.fixture
def slow_clients(cloud: LocalCloud) -> Iterator[list[socket.socket]]:
    """Open the stalled connections; every one is closed afterwards, even on failure."""
    address = function_address(cloud)
    openers = (partial_headers(address[0]), announced_body(address[0], cloud.website_origin))
    sockets: list[socket.socket] = []
    try:
        for index in range(SLOW_CLIENTS):
            conn = socket.create_connection(address, timeout=5)
            sockets.append(conn)
            conn.sendall(openers[index % 2])
        time.sleep(0.5)  # let the server accept them and start reading
        yield sockets
    finally:
        for conn in sockets:
            conn.close()


def probe_healthz(address: tuple[str, int]) -> float:
    """Return how long one ``GET /healthz`` on a fresh connection took (or was waited for)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection(*address, timeout=PROBE_TIMEOUT_SECONDS)
    try:
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200
    except TimeoutError:
        pass  # counted as the time waited
    finally:
        conn.close()
    return time.monotonic() - started


def nearest_rank(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def test_healthz_answers_promptly_while_64_clients_stall(
    cloud: LocalCloud, slow_clients: list[socket.socket]
) -> None:
    address = function_address(cloud)
    latencies: list[float] = []
    budget_end = time.monotonic() + PROBING_BUDGET_SECONDS
    while len(latencies) < PROBES and time.monotonic() < budget_end:
        latencies.append(probe_healthz(address))
    figures = (f"{len(latencies)} probes, p99 {nearest_rank(latencies, 0.99):.3f} s, "
               f"max {max(latencies):.3f} s, median {nearest_rank(latencies, 0.5):.3f} s")
    print(f"/healthz with {len(slow_clients)} slow clients: {figures}")
    assert len(latencies) == PROBES, figures
    assert nearest_rank(latencies, 0.99) < P99_LIMIT_SECONDS, figures


def dropped(conn: socket.socket, deadline: float) -> bool:
    """Whether the server closes (or answers and closes) ``conn`` before ``deadline``."""
    while (remaining := deadline - time.monotonic()) > 0:
        conn.settimeout(remaining)
        try:
            if not conn.recv(65536):
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
    return False


def test_server_drops_stalled_clients_within_its_read_deadlines(
    slow_clients: list[socket.socket],
) -> None:
    conf = runpy.run_path(str(GUNICORN_CONF))
    header_deadline = float(conf["keepalive"])
    body_deadline = float(conf["body_read_timeout"])
    deadline = time.monotonic() + max(header_deadline, body_deadline) + DROP_SLACK_SECONDS
    kept = [index for index, conn in enumerate(slow_clients) if not dropped(conn, deadline)]
    assert kept == []

