"""``python -m localcloud`` as a user runs it.

Busy ports give one clear line and no traceback, and only a port something listens on is
busy; the first URL printed is the page, every other one says what it is; the function's
log lines show in the terminal; the stack leaves no gunicorn control socket behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from localcloud.ports import port_free
from tests.e2e.forms import fetch
from tests.e2e.processes import cli_env, run_cli, start_cli, stop_tree


@pytest.mark.parametrize("env_var", ["DEV_OSS_PORT", "DEV_STS_PORT", "DEV_FUNCTION_PORT"])
def test_busy_port_fails_with_one_clear_line_and_exit_code_2(tmp_path: Path, env_var: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli(cli_env(tmp_path / "state", **{env_var: str(port)}), timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert str(port) in lines[0] and env_var in lines[0]


def test_bad_port_setting_is_reported_without_traceback(tmp_path: Path) -> None:
    done = run_cli(cli_env(tmp_path, DEV_OSS_PORT="ninety"), timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [
        "localcloud: DEV_OSS_PORT='ninety' is not a port number (0-65535; 0 = any free port)"]


def port_left_in_time_wait(*, reuse_address: bool = True) -> int:
    """Return a port nothing listens on any more, held by a connection its server closed.

    ``reuse_address``: the listener set SO_REUSEADDR, as gunicorn's and the STS stub's do.
    """
    with socket.socket() as server:
        if reuse_address:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port: int = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            server.accept()[0].close()  # the server closes first: the TIME_WAIT is its
            assert client.recv(1) == b""
    return port


def test_a_port_something_listens_on_is_busy() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert not port_free("127.0.0.1", server.getsockname()[1])


def test_a_port_only_closed_connections_hold_is_free() -> None:
    port = port_left_in_time_wait()
    with socket.socket() as plain:
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))  # what the old check tried, and refused
    assert port_free("127.0.0.1", port)


def test_restart_on_a_port_in_time_wait_comes_up(tmp_path: Path) -> None:
    port = port_left_in_time_wait()
    with CliRun(tmp_path, DEV_FUNCTION_PORT=str(port)) as run:
        assert f"Function       http://127.0.0.1:{port}" in run.output()


def test_a_port_nothing_listens_on_is_never_reported_as_in_use(tmp_path: Path) -> None:
    # Left by a listener without SO_REUSEADDR: a server binding it without the option fails
    # until the kernel frees it. The stack comes up, or says why in one line.
    port = port_left_in_time_wait(reuse_address=False)
    run = CliRun(tmp_path, DEV_OSS_PORT=str(port))
    try:
        outcome = run.start_and_wait_for("Press Ctrl-C to stop.")
    finally:
        run.__exit__()
    if outcome == "exited":
        assert run.proc is not None and run.proc.returncode == 2
        [line] = [line for line in run.output().splitlines() if line.strip()]
        assert line == (f"localcloud: port {port} for the OSS emulator is still held by "
                        "connections closed a moment ago (nothing listens; free within a "
                        "minute); wait, or set DEV_OSS_PORT to another port (0 = any free port).")


class CliRun:
    """``python -m localcloud`` in a process group of its own, until its banner is out."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.home = tmp_path / "home"
        self.home.mkdir(exist_ok=True)
        self.log = tmp_path / "out.txt"
        self.env = cli_env(tmp_path / "state", HOME=str(self.home), **env)
        self.env.pop("XDG_RUNTIME_DIR", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> CliRun:
        if self.start_and_wait_for("Press Ctrl-C to stop.") == "exited":
            pytest.fail(f"localcloud exited:\n{self.output()}")
        return self

    def start_and_wait_for(self, text: str, timeout: float = 60) -> str:
        """Start the CLI; return "seen" once ``text`` is in its output, or "exited"."""
        self.log.write_bytes(b"")
        self.proc = start_cli(self.env, self.log)
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.proc.poll() is not None:
                return "exited"
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} in the output of localcloud:\n{self.output()}")
            time.sleep(0.02)
        return "seen"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"no {text!r} in the output of localcloud:\n{self.output()}")
            time.sleep(0.02)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout=30)

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        try:
            self.stop()
        finally:
            stop_tree(self.proc)


def banner_urls(output: str) -> dict[str, str]:
    """Map each banner label to the first URL on its line."""
    urls = {}
    for line in output.splitlines():
        label, _, rest = line.partition("  ")
        words = [word for word in rest.split() if word.startswith("http://")]
        if words and not line.startswith("function | "):
            urls[label.strip()] = words[0].rstrip(",")
    return urls


def test_first_url_printed_is_the_page_and_every_other_url_says_what_it_is(
    tmp_path: Path,
) -> None:
    with CliRun(tmp_path) as run:
        output = run.output()
        urls = banner_urls(output)
        assert output.splitlines()[0].startswith("Upload page    http://localhost:")
        assert list(urls) == ["Upload page", "Function", "Upload bucket", "OSS API",
                              "STS stub", "CORS origins"]
        status, content_type, body = fetch(urls["Upload page"])
        assert (status, content_type.split(";")[0]) == (200, "text/html")
        assert b"<html" in body.lower()
        status, _, body = fetch(urls["OSS API"])
        assert (status, b"<Code>AccessDenied</Code>" in body) == (403, True)
        assert "a browser gets AccessDenied" in output
        assert fetch(urls["Function"] + "/healthz")[0] == 200
    assert output.splitlines()[-1] == "Press Ctrl-C to stop."


def test_function_log_lines_are_echoed_to_the_terminal_and_kept_in_function_log(
    tmp_path: Path,
) -> None:
    with CliRun(tmp_path) as run:
        function_url = banner_urls(run.output())["Function"]
        fetch(function_url + "/healthz?from=the-test")
        run.wait_for("function | ")
        run.wait_for('"route":"/healthz"')
        assert run.stop() == 0
        echoed = [line.removeprefix("function | ") for line in run.output().splitlines()
                  if line.startswith("function | ")]
    kept = (tmp_path / "state" / "function.log").read_text(encoding="utf-8").splitlines()
    assert echoed == kept  # every line of this run, nothing else, in order
    assert any("Shutting down" in line for line in echoed)
    assert run.output().splitlines()[-1] == "localcloud: stopped."


def test_the_stack_creates_no_gunicorn_control_socket(tmp_path: Path) -> None:
    with CliRun(tmp_path) as run:
        assert banner_urls(run.output())["Function"]
        created_while_running = sorted(str(p) for p in run.home.rglob("*"))
    assert created_while_running == []
    assert not (run.home / ".gunicorn").exists()


def test_extra_origins_are_printed_with_the_page_origin(tmp_path: Path) -> None:
    extra = "http://localhost:5173, https://dev.example:8443"
    with CliRun(tmp_path, DEV_EXTRA_ORIGINS=extra) as run:
        page = banner_urls(run.output())["Upload page"].rstrip("/")
        [cors] = [line for line in run.output().splitlines() if line.startswith("CORS origins")]
    assert cors == (f"CORS origins   {page}, http://localhost:5173, https://dev.example:8443  "
                    "(function and upload bucket; more: DEV_EXTRA_ORIGINS)")
