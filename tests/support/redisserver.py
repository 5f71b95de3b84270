"""A real ``redis-server`` (Debian's package) on a free loopback port, for the limits tests.

:class:`RedisServer` runs one server in a temporary directory with persistence off (no RDB
snapshot, no AOF), bound to 127.0.0.1 only, protected by an obviously fake password (so the
tests prove the function reads it from the environment and never logs it). It can be
stopped and started again on the same port, which is how the tests take the store away
mid-run. ``scripts/ensure-redis.sh`` (a prerequisite of ``make test``) installs the package.
Depends on the standard library, the ``redis`` client (only to ask it for ``INFO``) and
``localcloud.ports`` (for a free port).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from localcloud.ports import free_port

HOST = "127.0.0.1"
FAKE_PASSWORD = "fake-redis-password-for-tests-only"
START_SECONDS = 10.0


class RedisServer:
    """One ``redis-server`` process; :meth:`start`/:meth:`stop` may repeat on one port."""

    def __init__(self, directory: str, password: str = FAKE_PASSWORD) -> None:
        self.directory = directory
        self.password = password
        self.port = free_port(HOST)
        self.url = f"redis://{HOST}:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self._client: Any = None

    def start(self) -> None:
        """Start the server and wait until it answers PING (at most START_SECONDS)."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: run scripts/ensure-redis.sh")
        self._process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", HOST, "--dir", self.directory,
             "--save", "", "--appendonly", "no", "--requirepass", self.password,
             "--daemonize", "no", "--loglevel", "warning", "--maxclients", "200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except OSError:
                pass
            except Exception as exc:  # redis.ConnectionError while it is starting
                if "connect" not in type(exc).__name__.lower():
                    raise
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self) -> None:
        """Stop the server (idempotent); its data is gone, as after a crash."""
        process, self._process = self._process, None
        if self._client is not None:
            self._client.close()
        if process is not None:
            process.kill()
            process.wait(timeout=10)

    def client(self) -> Any:
        """Return the tests' own short-timeout client of this server (one, kept)."""
        import redis

        if self._client is None:
            self._client = redis.Redis(
                host=HOST, port=self.port, password=self.password, protocol=2,
                socket_timeout=2, socket_connect_timeout=2, driver_info=None)
        return self._client

    def client_commands(self, script: str) -> dict[str, int]:
        """Return the commands clients sent since ``CONFIG RESETSTAT``, by name, with counts.

        ``INFO commandstats`` also counts what scripts run inside the server, so the
        commands ``script`` calls (``redis.call('NAME', ...)``) are left out, and so are
        the tests' own ``INFO`` and ``CONFIG RESETSTAT``: what remains is one entry per
        round trip a client made.
        """
        inside = {name.lower() for name in re.findall(r"redis\.call\('(\w+)'", script)}
        stats = self.client().info("commandstats")
        calls = {name.removeprefix("cmdstat_"): int(value["calls"])
                 for name, value in stats.items()}
        return {name: n for name, n in calls.items()
                if name not in inside and name not in ("info", "config|resetstat")}

    def env(self) -> dict[str, str]:
        """Return the function's variables that point it at this server."""
        return {"LIMITS_REDIS_URL": self.url, "LIMITS_REDIS_PASSWORD": self.password}


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """Run a fresh server for the block; stop it and remove its directory after."""
    directory = tempfile.mkdtemp(prefix="redis-test-")
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
