"""The signing function as a child process: gunicorn started, watched, echoed and stopped.

Owns the process lifecycle only, not what the function is told (the stack builds its
environment). Two rules keep any stop from leaving a process or a bound port behind:

- gunicorn runs in a session of its own, so a terminal's Ctrl-C (SIGINT to the foreground
  process group) reaches only the stack, never gunicorn's master and worker directly. A
  gevent worker sent SIGINT by the terminal and SIGQUIT by its master, then SIGTERM, could
  deadlock and keep the port; here the stack is the only one that signals gunicorn, once.
- a stop is SIGINT to the master alone (gunicorn's quick shutdown, what Ctrl-C meant
  before: the master sends its worker SIGQUIT and waits for it; about 0.5 s, where
  SIGTERM's graceful stop waits for the gevent worker's 1 s loop), a bounded wait, then
  SIGKILL to the whole session, sent while the unreaped master still holds the group id,
  so no straggler survives and no other process can be hit.

The function's output goes to a log file (``function.log`` in the state directory);
:class:`LogEcho` follows that file onto a terminal from where this run began. POSIX only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO_ROOT / "functions" / "sign"
#: Seconds gunicorn may take to stop before its session is killed.
STOP_GRACE_SECONDS = 5.0
#: Seconds to wait for killed workers to exit once their master was killed.
KILLED_GONE_SECONDS = 1.0
#: Seconds the function may take to answer its first request.
READY_TIMEOUT_SECONDS = 30.0
#: Prefix of the function's lines in the terminal.
ECHO_PREFIX = "function | "


class StartCancelled(RuntimeError):
    """Start-up was asked to stop (Ctrl-C or SIGTERM) before the function answered."""


class LogEcho:
    """Copy lines appended to a log file onto a stream, from a background thread.

    Follows the file rather than piping gunicorn's output, so gunicorn never waits for the
    terminal and the file stays complete for ``tail`` and for tests.
    """

    def __init__(self, path: Path, offset: int, out: TextIO, *, prefix: str = ECHO_PREFIX,
                 interval: float = 0.2) -> None:
        self._path = path
        self._offset = offset
        self._out = out
        self._prefix = prefix
        self._interval = interval
        self._stop = threading.Event()
        self._partial = b""
        self._thread = threading.Thread(target=self._run, name="function-log-echo",
                                        daemon=True)

    def start(self) -> LogEcho:
        """Begin echoing; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Echo what is left (a partial last line included), then stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        with open(self._path, "rb") as log:
            log.seek(self._offset)
            while not self._stop.wait(self._interval):
                self._copy(log.read())
            self._copy(log.read())
            if self._partial:
                self._copy(b"\n")

    def _copy(self, chunk: bytes) -> None:
        if not chunk:
            return
        *lines, self._partial = (self._partial + chunk).split(b"\n")
        try:
            for line in lines:
                self._out.write(f"{self._prefix}{line.decode('utf-8', 'replace')}\n")
            self._out.flush()
        except (OSError, ValueError):
            pass  # a closed terminal must not take the stack down


class FunctionProcess:
    """A running gunicorn serving the signing function; :meth:`stop` it when done."""

    def __init__(self, process: subprocess.Popen[bytes], log_path: Path,
                 log_offset: int) -> None:
        self.process = process
        self.log_path = log_path
        #: Where this run's lines begin in the log file (earlier runs' lines come before).
        self.log_offset = log_offset

    @property
    def pid(self) -> int:
        """The gunicorn master's pid, which is also its session and process group id."""
        return self.process.pid

    @classmethod
    def start(cls, *, bind: str, env: Mapping[str, str], log_path: Path) -> FunctionProcess:
        """Start gunicorn with the function's own config, its output appended to ``log_path``."""
        # Served as self-hosters and FC custom runtimes serve it: the function's own
        # gunicorn.conf.py (gevent worker, read deadlines for slow clients).
        return cls.spawn([sys.executable, "-m", "gunicorn", "--config",
                          str(FUNCTION_DIR / "gunicorn.conf.py"), "--chdir", str(FUNCTION_DIR),
                          "--bind", bind], env=env, log_path=log_path)

    @classmethod
    def spawn(cls, argv: list[str], *, env: Mapping[str, str], log_path: Path) -> FunctionProcess:
        """Run ``argv`` in a session of its own, its output appended to ``log_path``."""
        with open(log_path, "ab") as log:
            offset = log.tell()
            process = subprocess.Popen(
                argv, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=str(REPO_ROOT), start_new_session=True,
            )
        return cls(process, log_path, offset)

    def wait_ready(self, url: str, *, timeout: float = READY_TIMEOUT_SECONDS,
                   cancel: threading.Event | None = None) -> None:
        """Return once ``url`` answers; RuntimeError if gunicorn exits or never answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                raise StartCancelled("start-up interrupted")
            if self.process.poll() is not None:
                raise RuntimeError(f"the signing function exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    answer.read()
                return
            except urllib.error.HTTPError:
                return  # it answers: up, whatever it thinks of the path
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the signing function did not start; see {self.log_path}")

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop gunicorn and everything in its session; idempotent."""
        process = self.process
        if process.returncode is None:
            # Not reaped yet (poll() was not called since), so the pid and its group id
            # are still ours even if the master has just exited.
            try:
                os.kill(process.pid, signal.SIGINT)
            except ProcessLookupError:
                pass
            graceful = _wait_unreaped(process.pid, grace)
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.wait()
            if not graceful:
                _wait_group_gone(process.pid, KILLED_GONE_SECONDS)


def _wait_unreaped(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` for child ``pid`` to exit, leaving it unreaped; tell if it did."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _wait_group_gone(pgid: int, timeout: float) -> None:
    """Wait up to ``timeout`` until no process is left in group ``pgid``.

    Killed workers are reaped by init, not by us; one that init has not reaped yet still
    counts (it holds no socket any more), hence the bound.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.01)
