"""Eight function processes, one Redis: limits that hold across instances.

Each function process is the real WSGI entry (``index.app``, settings from its environment,
the real STS SDK against the loopback STS stub) served on its own loopback port, as FC runs
one instance per process. Clients (at most :data:`CLIENTS` at once) spread their requests
over all eight. Callers are told apart by their source address (anonymous mode keys callers
by client IP): each test sends from its own 127.0.0.x. The store is a real ``redis-server``
that a test stops and restarts mid-run.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from uploadsign.limits import PREFIX

from tests.sign.keysupport import FileServer, b64, file_server, new_rsa_key, oss_sign, public_pem
from tests.support.loopback import BUCKET, ORIGIN, LoopbackSts, function_env, loopback_sts
from tests.support.redisserver import FAKE_PASSWORD, RedisServer, running_redis

SIGN_ROOT = Path(__file__).resolve().parents[2] / "functions" / "sign"
PROCESSES = 8
CLIENTS = 16
KIB = 1024
RATE = 40
QUOTA = 100 * KIB
KEY_PATH = "/callback_pub_key_v1.pem"
GRANT_SECRET = "fake-grant-secret-for-limits-tests-0123456789"
#: What one request got back: status, headers, JSON body.
Answer = tuple[int, dict[str, str], Any]
SERVE = (
    "import index\n"
    "from werkzeug.serving import make_server\n"
    "server = make_server('127.0.0.1', 0, index.app, threaded=True)\n"
    "print(server.server_port, flush=True)\n"
    "server.serve_forever()\n"
)


@dataclass
class Functions:
    """The running function processes: their ports, and where each writes its log."""

    ports: list[int]
    logs: list[Path]
    processes: list[subprocess.Popen[bytes]]

    def log_text(self) -> str:
        return "".join(path.read_text(encoding="utf-8", errors="replace") for path in self.logs)


def start_functions(env: dict[str, str], log_dir: Path) -> Functions:
    """Start PROCESSES function processes with ``env``; return once each has a port."""
    full = {**os.environ, **env, "PYTHONPATH": str(SIGN_ROOT)}
    processes, logs = [], []
    for n in range(PROCESSES):
        log = log_dir / f"function-{n}.log"
        logs.append(log)
        with log.open("wb") as sink:
            processes.append(subprocess.Popen([sys.executable, "-c", SERVE], cwd=SIGN_ROOT,
                                              env=full, stdout=subprocess.PIPE, stderr=sink))
    ports = []
    for process in processes:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip().isdigit(), "a function process did not start"
        ports.append(int(line))
    for port in ports:  # build each app (imports, settings, redis client) before any burst
        assert request(port, "/healthz", b"", "127.0.0.1", method="GET")[0] == 200
    return Functions(ports, logs, processes)


def stop_functions(functions: Functions) -> None:
    for process in functions.processes:
        process.terminate()
    for process in functions.processes:
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def request(port: int, path: str, body: bytes, source: str,
            headers: dict[str, str] | None = None, method: str = "POST") -> Answer:
    """Send ``body`` to one function process from ``source``; return status, headers, JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60,
                                            source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers={
            "Origin": ORIGIN, "Content-Type": "application/json", **(headers or {})})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), json.loads(answer.read() or b"null")
    finally:
        connection.close()


def ask(functions: Functions, n: int, source: str, size: int = KIB) -> Answer:
    """Ask process ``n mod 8`` for a grant of ``size`` bytes."""
    body = json.dumps({"filename": "f.bin", "size": size, "content_type": "image/png"})
    return request(functions.ports[n % PROCESSES], "/uploads", body.encode(), source)


def burst(functions: Functions, count: int, source: str, sizes: list[int] | None = None
          ) -> list[Answer]:
    """Send ``count`` grant requests over all processes, CLIENTS at a time."""
    sizes = sizes or [KIB] * count
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(lambda n: ask(functions, n, source, sizes[n]), range(count)))


@pytest.fixture(scope="module")
def store() -> Iterator[RedisServer]:
    with running_redis() as server:
        yield server


@pytest.fixture(scope="module")
def sts() -> Iterator[LoopbackSts]:
    with loopback_sts() as running:
        yield running


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return new_rsa_key()


@pytest.fixture(scope="module")
def key_server(key: rsa.RSAPrivateKey) -> Iterator[FileServer]:
    with file_server() as served:
        served.files[KEY_PATH] = public_pem(key)
        yield served


def limits_env(sts: LoopbackSts, store: RedisServer, key_server: FileServer,
               **overrides: str) -> dict[str, str]:
    return function_env(sts.url, **{
        **store.env(), "RATE_LIMIT_PER_MINUTE": str(RATE), "QUOTA_BYTES_PER_CALLER": str(QUOTA),
        "UPLOAD_SAMPLE_ROUTE": "off", "UPLOAD_EXPIRE_SECONDS": "10",
        "LIMITS_REDIS_TIMEOUT_MS": "200", "UPLOAD_CALLBACK_URL": "https://fn.example.com/callback",
        "GRANT_SECRET": GRANT_SECRET, "CALLBACK_PUBKEY_URL_PREFIXES": key_server.url + "/",
        **overrides})


@pytest.fixture(scope="module")
def closed(sts: LoopbackSts, store: RedisServer, key_server: FileServer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Functions]:
    """Eight processes, fail-closed (the default)."""
    functions = start_functions(limits_env(sts, store, key_server),
                                tmp_path_factory.mktemp("closed"))
    yield functions
    stop_functions(functions)


@pytest.fixture(autouse=True)
def _fake_secrets_never_logged(logged_secrets: set[str]) -> None:
    logged_secrets.update({FAKE_PASSWORD, GRANT_SECRET})


def test_eight_processes_grant_exactly_the_per_minute_limit_to_one_caller(
    closed: Functions
) -> None:
    answers = burst(closed, 3 * RATE, "127.0.0.11")
    statuses = [status for status, _, _ in answers]
    assert statuses.count(200) == RATE
    assert statuses.count(429) == 2 * RATE
    refused = [(body["error"]["code"], int(headers["Retry-After"]))
               for status, headers, body in answers if status == 429]
    assert {code for code, _ in refused} == {"rate_limited"}
    assert all(1 <= seconds <= 60 for _, seconds in refused)


def test_granted_bytes_never_exceed_the_quota_across_processes(closed: Functions) -> None:
    sizes = [(7 * n % 13 + 1) * KIB for n in range(RATE - 1)]  # 1..13 KiB, 294 KiB asked
    answers = burst(closed, len(sizes), "127.0.0.12", sizes)
    granted = [size for size, (status, _, _) in zip(sizes, answers, strict=True)
               if status == 200]
    refused = [body["error"] for status, _, body in answers if status != 200]
    assert sum(granted) <= QUOTA
    assert sum(granted) > QUOTA - max(sizes)  # refusals began only when it was nearly full
    assert {error["code"] for error in refused} == {"quota_exceeded"}
    assert all(set(error) == {"code", "message", "retry_after", "resets_at"} for error in refused)


def test_an_expired_reservation_is_released_for_the_next_grant(closed: Functions) -> None:
    status, _, _ = ask(closed, 0, "127.0.0.13", QUOTA)
    assert status == 200
    status, headers, body = ask(closed, 1, "127.0.0.13", KIB)
    assert (status, body["error"]["code"]) == (429, "quota_exceeded")
    wait = int(headers["Retry-After"])
    assert wait <= 10  # the grant's own lifetime (UPLOAD_EXPIRE_SECONDS)
    time.sleep(wait + 0.2)
    assert ask(closed, 2, "127.0.0.13", QUOTA)[0] == 200


def test_a_callback_repeated_to_every_process_commits_once(
    closed: Functions, store: RedisServer, key: rsa.RSAPrivateKey, key_server: FileServer
) -> None:
    source = "127.0.0.14"
    status, _, grant = ask(closed, 0, source, QUOTA // 2)
    assert status == 200
    fields = grant["fields"]
    body = json.dumps({
        "bucket": BUCKET, "object": grant["key"], "etag": "D8E8FCA2DC0F896FD7CB4CB0031BA249",
        "size": str(QUOTA // 2), "mimeType": fields["x-oss-content-type"],
        "grant_id": grant["grant_id"], "grant_token": fields["x:grant-token"],
    }).encode()
    headers = {"Authorization": oss_sign(key, "/callback", "", body),
               "x-oss-pub-key-url": b64(key_server.url + KEY_PATH)}
    with ThreadPoolExecutor(PROCESSES) as pool:
        answers = list(pool.map(lambda port: request(port, "/callback", body, "127.0.0.1",
                                                     headers), closed.ports * 2))
    assert [status for status, _, _ in answers] == [200] * (2 * PROCESSES)
    redis = store.client()
    assert int(redis.get(f"{PREFIX}used:ip:{source}")) == QUOTA // 2
    assert redis.hget(f"{PREFIX}grant:{grant['grant_id']}", "state") == b"used"
    assert ask(closed, 1, source, QUOTA // 2)[0] == 200
    assert ask(closed, 2, source, 1)[2]["error"]["code"] == "quota_exceeded"


def test_redis_stopped_mid_run_fails_closed_then_recovers_without_a_restart(
    closed: Functions, store: RedisServer
) -> None:
    source = "127.0.0.15"
    assert [status for status, _, _ in burst(closed, 8, source)] == [200] * 8
    store.stop()
    try:
        down = burst(closed, 16, source)
    finally:
        store.start()
    assert {(status, body["error"]["code"], headers["Retry-After"])
            for status, headers, body in down} == {(503, "limits_unavailable", "2")}
    assert [status for status, _, _ in burst(closed, 8, source)] == [200] * 8
    assert "refusing (LIMITS_FAIL_MODE=closed)" in closed.log_text()
    assert FAKE_PASSWORD not in closed.log_text()


def test_fail_open_grants_and_logs_while_redis_is_down(
    sts: LoopbackSts, store: RedisServer, key_server: FileServer, tmp_path: Path
) -> None:
    functions = start_functions(limits_env(sts, store, key_server, LIMITS_FAIL_MODE="open",
                                           RATE_LIMIT_PER_MINUTE="4"), tmp_path)
    try:
        source = "127.0.0.16"
        assert [status for status, _, _ in burst(functions, 8, source)].count(200) == 4
        store.stop()
        try:
            down = burst(functions, 16, source)
        finally:
            store.start()
        assert [status for status, _, _ in down] == [200] * 16
        assert "granting without limits" in functions.log_text()
        assert FAKE_PASSWORD not in functions.log_text()
    finally:
        stop_functions(functions)
