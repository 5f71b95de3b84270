"""Load over HTTP: the function under gunicorn (gthread) on loopback, driven by wrk.

Owns starting gunicorn with the function's environment, and one load run at a given
number of connections: ``wrk`` when installed (``make bench`` installs it on Debian),
else a small Python generator (threads, keep-alive ``http.client``) that is itself a
bottleneck on two cores, which the table says. Measures; asserts nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BODY = json.dumps({"filename": "photo.png", "size": 1234, "content_type": "image/png"})
LUA = f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "https://app.example.com"
"""


@contextmanager
def gunicorn(env: Mapping[str, str], port: int, workers: int = 2,
             threads: int = 8) -> Iterator[str]:
    """Run the function under gunicorn gthread; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(REPO / "functions" / "sign"),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--threads", str(threads),
         "--worker-class", "gthread", "--log-level", "warning", "index:app"],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                    answer.read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)
        # Warm every worker's credential cache before measuring.
        for _ in range(4 * workers):
            post_once(http.client.HTTPConnection("127.0.0.1", port, timeout=10))
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def post_once(conn: http.client.HTTPConnection) -> int:
    conn.request("POST", "/uploads", body=BODY, headers={"Content-Type": "application/json",
                                                       "Origin": "https://app.example.com"})
    answer = conn.getresponse()
    answer.read()
    return answer.status


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, connections: int, seconds: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    try:
        out = subprocess.run(
            ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds}s",
             "--latency", "-s", script.name, url + "/uploads"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "p50_ms": _ms(*p50.groups()) if p50 else float("nan"),
            "p99_ms": _ms(*p99.groups()) if p99 else float("nan"),
            "errors": float(non2xx.group(1)) if non2xx else 0.0}


def run_python(url: str, connections: int, seconds: int) -> dict[str, float]:
    port = int(url.rsplit(":", 1)[1])
    stop = time.monotonic() + seconds
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            start = time.perf_counter()
            if post_once(conn) != 200:
                errors[index] += 1
            latencies[index].append((time.perf_counter() - start) * 1000)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    flat = sorted(x for per in latencies for x in per)
    return {"rps": len(flat) / elapsed, "p50_ms": statistics.median(flat),
            "p99_ms": flat[min(len(flat) - 1, int(len(flat) * 0.99))], "errors": sum(errors)}


def load(url: str, connections: int, seconds: int) -> tuple[str, dict[str, float]]:
    """Run one load level; return the generator's name and its figures."""
    if shutil.which("wrk"):
        return "wrk", run_wrk(url, connections, seconds)
    return "python", run_python(url, connections, seconds)
