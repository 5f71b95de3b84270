"""Stopping ``python -m localcloud`` as users and tools do leaves no process and no listener.

A terminal's Ctrl-C signals the whole foreground process group; service managers and
``timeout`` send SIGTERM; impatient users press Ctrl-C twice or both arrive at once. Each
run starts the CLI in a process group of its own, waits until it is up (``endpoints.json``
names the function), stops it one of those ways, then checks that every process it
started is gone and that nothing listens on any port ``endpoints.json`` names. The
figures (time to stop, leftovers) go to ``test-output/stack_stop_figures.txt``. A stack
restarted on the same ports right after Ctrl-C, with connections the servers closed still
in TIME_WAIT (a browser's), comes up.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from localcloud.functionproc import FunctionProcess
from tests.e2e.processes import (
    HAVE_PROC,
    REPO,
    cli_env,
    descendants,
    start_cli,
    still_running,
    stop_tree,
)

FIGURES = REPO / "test-output" / "stack_stop_figures.txt"
ITERATIONS = 20
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

pytestmark = pytest.mark.skipif(not HAVE_PROC, reason="reads the process tree from /proc")


def _group_sigint(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGINT)


def _sigterm(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)


def _group_sigint_and_sigterm(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    proc.send_signal(signal.SIGTERM)


def _group_sigint_twice(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)


def _group_sigint_then_sigterm_later(proc: subprocess.Popen[bytes]) -> None:
    # The original failure: the group's SIGINT, then a SIGTERM while the stop is under way.
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)


STOPS: dict[str, Callable[[subprocess.Popen[bytes]], None]] = {
    "SIGINT to the group": _group_sigint,
    "SIGTERM": _sigterm,
    "SIGINT to the group + SIGTERM at once": _group_sigint_and_sigterm,
    "SIGINT to the group twice": _group_sigint_twice,
    "SIGINT to the group, SIGTERM 0.2 s later": _group_sigint_then_sigterm_later,
}


def listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        try:
            probe.connect((host, port))
        except OSError:
            return False
    return True


def rebindable(host: str, port: int) -> bool:
    """Whether a server that sets SO_REUSEADDR (gunicorn, http.server) could bind it now."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def endpoint_ports(endpoints: dict[str, object]) -> list[tuple[str, int]]:
    """Every (host, port) endpoints.json names."""
    seen = []
    for key in ("oss_url", "sts_url", "function_url", "website_url"):
        parts = urlsplit(str(endpoints[key]))
        host = "127.0.0.1" if parts.hostname == "localhost" else str(parts.hostname)
        assert parts.port is not None
        if (host, parts.port) not in seen:
            seen.append((host, parts.port))
    return seen


def wait_until_up(proc: subprocess.Popen[bytes], state_dir: Path, log: Path) -> dict[str, object]:
    """Wait until endpoints.json names a function URL; return its contents."""
    path = state_dir / "endpoints.json"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"localcloud exited with {proc.returncode}:\n{log.read_text()}")
        try:
            endpoints: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            endpoints = {}
        if endpoints.get("function_url"):
            return endpoints
        time.sleep(0.02)
    pytest.fail(f"localcloud did not come up:\n{log.read_text()}")


def forked(root: int, seconds: float = 10.0) -> dict[int, str]:
    """The CLI's live descendants once gunicorn's worker is among them (endpoints.json is
    written when the master listens; under load the worker forks a moment later)."""
    deadline = time.monotonic() + seconds
    children = descendants(root)
    while len(children) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
        children = descendants(root)
    return children


@pytest.fixture
def cli_runs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """CLI processes a test starts; stopped with all they started if it failed midway."""
    runs: list[subprocess.Popen[bytes]] = []
    yield runs
    for proc in runs:
        stop_tree(proc)


def test_any_stop_twenty_times_leaves_no_process_and_no_listening_port(
    tmp_path: Path, cli_runs: list[subprocess.Popen[bytes]]
) -> None:
    state_dir = tmp_path / "state"
    log = tmp_path / "cli.log"
    names = list(STOPS)
    rows = []
    for iteration in range(ITERATIONS):
        name = names[iteration % len(names)]
        for leftover in state_dir.glob("endpoints.json"):
            leftover.unlink()
        proc = start_cli(cli_env(state_dir), log)
        cli_runs.append(proc)
        endpoints = wait_until_up(proc, state_dir, log)
        children = forked(proc.pid)
        assert len(children) >= 2, "gunicorn's master and worker run under the CLI"
        began = time.monotonic()
        STOPS[name](proc)
        code = proc.wait(timeout=STOP_TIMEOUT)
        took = time.monotonic() - began
        left = still_running(children)
        listeners = [port for host, port in endpoint_ports(endpoints) if listening(host, port)]
        unbindable = [port for host, port in endpoint_ports(endpoints)
                      if not rebindable(host, port)]
        rows.append((iteration + 1, name, took, code, left, listeners, unbindable))
    write_figures(rows)
    assert [row for row in rows if row[3] != 0 or row[4] or row[5] or row[6]] == []


def write_figures(rows: list[tuple[int, str, float, int, list[int], list[int], list[int]]]) -> None:
    times = sorted(row[2] for row in rows)
    lines = [f"{len(rows)} stops of python -m localcloud (ports 0, one state dir)",
             f"time to stop: median {statistics.median(times):.2f} s, "
             f"max {times[-1]:.2f} s, min {times[0]:.2f} s",
             f"leftover processes: {sum(len(row[4]) for row in rows)}; "
             f"ports still listening: {sum(len(row[5]) for row in rows)}; "
             f"ports a SO_REUSEADDR server could not bind: {sum(len(row[6]) for row in rows)}",
             ""]
    lines += [f"{n:>2}  {took:5.2f} s  exit {code}  leftovers {left}  listening {lst}  "
              f"unbindable {unb}  {name}" for n, name, took, code, left, lst, unb in rows]
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def ask_and_let_the_server_close(host: str, port: int, path: str,
                                 host_header: str | None = None) -> None:
    """One request with ``Connection: close``: the server closes first (TIME_WAIT is its)."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        headers = {"Connection": "close"}
        if host_header:
            headers["Host"] = host_header
        connection.request("GET", path, headers=headers)
        connection.getresponse().read()
    finally:
        connection.close()


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_restart_on_the_same_ports_right_after_ctrl_c_comes_up(
    tmp_path: Path, cli_runs: list[subprocess.Popen[bytes]]
) -> None:
    state_dir = tmp_path / "state"
    log = tmp_path / "cli.log"
    oss, sts, function = free_ports(3)
    ports = {"DEV_OSS_PORT": str(oss), "DEV_STS_PORT": str(sts),
             "DEV_FUNCTION_PORT": str(function)}
    first = start_cli(cli_env(state_dir, **ports), log)
    cli_runs.append(first)
    wait_until_up(first, state_dir, log)
    # What a browser leaves behind: connections the servers closed, so their ports sit in
    # TIME_WAIT when the stack stops.
    ask_and_let_the_server_close("127.0.0.1", oss, "/", host_header=f"localhost:{oss}")
    ask_and_let_the_server_close("127.0.0.1", function, "/healthz")
    os.killpg(first.pid, signal.SIGINT)
    assert first.wait(timeout=STOP_TIMEOUT) == 0
    (state_dir / "endpoints.json").unlink()
    again = start_cli(cli_env(state_dir, **ports), log)
    cli_runs.append(again)
    endpoints = wait_until_up(again, state_dir, log)
    assert endpoints["function_url"] == f"http://127.0.0.1:{function}"
    os.killpg(again.pid, signal.SIGINT)
    assert again.wait(timeout=STOP_TIMEOUT) == 0


STUBBORN = """
import os, signal, subprocess, sys, time
for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
    signal.signal(sig, signal.SIG_IGN)
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print("worker", worker.pid, flush=True)
time.sleep(120)
"""


def test_a_function_that_ignores_its_stop_signal_is_killed_with_all_it_started(
    tmp_path: Path,
) -> None:
    log = tmp_path / "function.log"
    function = FunctionProcess.spawn([sys.executable, "-c", STUBBORN], env=os.environ,
                                     log_path=log)
    try:
        deadline = time.monotonic() + 30
        while "worker" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        worker = int(log.read_text().split()[1])
        started = descendants(function.pid)
        assert worker in started
        function.stop(grace=0.3)
    finally:
        if function.process.poll() is None:
            os.killpg(function.pid, signal.SIGKILL)
            function.process.wait()
    assert function.process.returncode == -signal.SIGKILL
    assert still_running(started) == []
