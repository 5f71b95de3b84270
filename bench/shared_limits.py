"""Row 9: the grant with its limits in Redis on loopback versus in memory, over HTTP.

Two apps, each the real signing app (real STS SDK against the loopback STS stub) under
werkzeug's threaded server on 127.0.0.1: one with the per-instance token bucket, one with
``LIMITS_REDIS_URL`` (a real ``redis-server`` started here, persistence off) and a quota,
so every grant runs the one limits script (rate log and quota reservation). One client asks
for grants one after another on a fresh connection each; median and p99 of the wall time
per answer. Round trips per grant: the commands clients sent (``INFO commandstats`` less
what the script runs inside the server) divided by the grants. Also the ``redis`` package's
cold-start cost (a fresh interpreter importing it, median of runs) and its deflated size,
the weight it adds to the deployment zip. Measures; asserts nothing.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from uploadsign.factory import build_app
from uploadsign.limits import SCRIPT

from tests.support.liveserver import wsgi_server
from tests.support.loopback import ORIGIN, UPLOAD_BODY, function_env, loopback_sts
from tests.support.redisserver import running_redis

Row = tuple[str, str, str, str]
NEVER_REACHED = 100_000
QUOTA = str(2**50)


def latencies(port: int, count: int) -> list[float]:
    """POST /uploads ``count`` times; return each answer's wall time in ms (all 200)."""
    body = json.dumps(UPLOAD_BODY).encode()
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("POST", "/uploads", body=body, headers={
            "Origin": ORIGIN, "Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        connection.close()
        samples.append((time.perf_counter() - start) * 1000)
        assert answer.status == 200, answer.status
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered):.2f} ms, p99 {p99:.2f} ms"


def import_ms(runs: int) -> float:
    """Median ms a fresh interpreter spends importing ``redis`` (no bytecode written)."""
    code = ("import time; t = time.perf_counter(); import redis; "
            "print((time.perf_counter() - t) * 1000)")
    times = [float(subprocess.run([sys.executable, "-B", "-c", code], capture_output=True,
                                  text=True, check=True).stdout) for _ in range(runs)]
    return statistics.median(times)


def deflated_kib() -> float:
    """The ``redis`` package's sources, deflated as a zip holds them, in KiB."""
    import redis

    root = Path(redis.__file__).parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*.py")):
            archive.write(path, path.relative_to(root.parent).as_posix())
    return len(buffer.getvalue()) / 1024


def rows(count: int) -> list[Row]:
    with loopback_sts() as sts, running_redis() as store:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        memory_env = function_env(sts.url, RATE_LIMIT_PER_MINUTE=str(NEVER_REACHED),
                                  UPLOAD_SAMPLE_ROUTE="off")
        shared_env = {**memory_env, **store.env(), "QUOTA_BYTES_PER_CALLER": QUOTA}
        figures = {}
        for name, env in (("memory", memory_env), ("redis", shared_env)):
            server = wsgi_server(build_app(env))
            try:
                latencies(server.port, 20)  # warm: credentials cached, script loaded
                store.client().config_resetstat()
                figures[name] = latencies(server.port, count)
            finally:
                server.stop()
            if name == "redis":
                sent = store.client_commands(SCRIPT)
    trips = sum(sent.values()) / count
    return [
        (f"9 HTTP POST /uploads, limits in memory ({count} sequential)",
         summary(figures["memory"]), "report", ""),
        (f"9 HTTP POST /uploads, limits in Redis on loopback ({count} sequential)",
         summary(figures["redis"]), "report", ""),
        ("9 Redis round trips per grant", f"{trips:.2f} ({', '.join(sorted(sent))})", "1",
         "yes" if trips == 1 else "no"),
        ("9 redis client: cold import, zip weight",
         f"{import_ms(5):.0f} ms, {deflated_kib():.0f} KiB deflated", "report", ""),
    ]


if __name__ == "__main__":
    for row in rows(int(sys.argv[1]) if len(sys.argv) > 1 else 500):
        print(" | ".join(row))
