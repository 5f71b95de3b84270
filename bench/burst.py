"""A burst of browsers against the two instance models (README, "Instance model").

N clients ask for a grant at the same moment (``POST /uploads``), against the local cloud's
STS stub on loopback:

- ``builtin``: FC's built-in runtime serves one request per instance, so the burst starts
  one fresh process per request; each imports ``index`` and answers one FC event through
  ``index.handler`` (the function staged and compiled as ``deploy/package.py`` ships it);
- ``custom``: FC's custom runtime with instance concurrency C starts one gunicorn (the
  function's ``gunicorn.conf.py``: one gevent worker) per C requests; a request waits for
  its instance to answer ``/healthz``, as FC holds it until the instance listens.

Per model: cold starts (processes started), AssumeRole calls the stub received, and the
time to grant (burst start to answer, p50/p99). Everything shares this machine's cores,
so a second measurement runs ONE instance alone, as FC gives each instance its own CPU:
its launch-to-last-answer time is what the cost model (GB-seconds) multiplies by the
memory s.yaml gives that model. Peak RSS per instance comes from the same runs.
Measures; asserts nothing.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from deploy.package import compile_bytecode, stage_code
from deploy.syaml import model_props
from deploy.vendor import REPO_ROOT
from localcloud.ports import free_port
from tests.support.loopback import (
    ORIGIN,
    UPLOAD_BODY,
    execution_identity,
    function_env,
    loopback_sts,
)

SOURCE = REPO_ROOT / "functions" / "sign"
BODY = json.dumps(UPLOAD_BODY)
#: One FC 3.0 HTTP-trigger event for POST /uploads (function-compute-and-deploy.md §1.2).
EVENT = json.dumps({
    "version": "v1", "rawPath": "/uploads", "body": BODY, "isBase64Encoded": False,
    "headers": {"Content-Type": "application/json", "Origin": ORIGIN},
    "queryParameters": {},
    "requestContext": {"http": {"method": "POST", "path": "/uploads", "protocol": "HTTP/1.1",
                                "sourceIp": "203.0.113.7"}},
})
#: The built-in model's instance: a fresh interpreter answering one event, then exiting.
CHILD = r"""
import sys
sys.path[:0] = [sys.argv[1]]
import index
answer = index.handler(sys.argv[2].encode(), None)
# VmHWM belongs to this process's own memory map; ru_maxrss would also count the parent's
# peak, which Linux carries across fork and exec.
with open("/proc/self/status") as status:
    peak_kib = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
sys.stdout.write(f"{answer['statusCode']} {peak_kib}")
"""


@dataclass
class Burst:
    """One model's burst: when each grant was answered, and what it cost."""

    grants_ms: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    cold_starts: int = 0
    sts_calls: int = 0
    #: Per instance: launch to its last answer (ms); peak RSS (MiB).
    instance_ms: list[float] = field(default_factory=list)
    peak_rss_mib: float = 0.0

    def percentile(self, share: float) -> float:
        ordered = sorted(self.grants_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def _since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


@contextmanager
def _staged() -> Iterator[Path]:
    """The function as deploy/package.py ships it: a copy with unchecked-hash .pyc."""
    with tempfile.TemporaryDirectory(prefix="burst-") as scratch:
        root = Path(scratch) / "code"
        stage_code(SOURCE, root)
        if not compile_bytecode(root, sys.executable):
            raise RuntimeError("the function's sources did not compile")
        yield root


def builtin_burst(env: Mapping[str, str], clients: int) -> Burst:
    """``clients`` fresh single-request processes started at once."""
    burst = Burst(cold_starts=clients)
    full_env = {**os.environ, **env, "PYTHONDONTWRITEBYTECODE": "1"}
    with _staged() as root:
        start = time.perf_counter()

        def one(_: int) -> tuple[int, float, float, float]:
            launched = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", CHILD, str(root), EVENT], env=full_env,
                                  capture_output=True, text=True, check=False)
            status, peak_kib = (done.stdout.split() + ["0", "0"])[:2]
            return (int(status), (time.perf_counter() - launched) * 1000, _since(start),
                    int(peak_kib) / 1024)

        with ThreadPoolExecutor(clients) as pool:
            for status, lifetime, answered, peak_mib in pool.map(one, range(clients)):
                burst.statuses.append(status)
                burst.instance_ms.append(lifetime)
                burst.grants_ms.append(answered)
                burst.peak_rss_mib = max(burst.peak_rss_mib, peak_mib)
    return burst


def _post(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/uploads", body=BODY,
                     headers={"Content-Type": "application/json", "Origin": ORIGIN})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def _listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline and proc.poll() is None:
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.005)
        finally:
            probe.close()
    raise RuntimeError("a gunicorn instance never answered /healthz")


def _peak_rss_mib(pid: int) -> float:
    """VmHWM of a process and its children (gunicorn's master and worker), MiB."""
    pids = [pid, *subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                                 check=False).stdout.split()]
    total = 0
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1])
    return total / 1024


def custom_burst(env: Mapping[str, str], clients: int, per_instance: int) -> Burst:
    """One gunicorn per ``per_instance`` requests, all started with the burst."""
    instances = -(-clients // per_instance)
    burst = Burst(cold_starts=instances)
    full_env = {**os.environ, **env}
    ports = [free_port("127.0.0.1") for _ in range(instances)]
    ready = [threading.Event() for _ in range(instances)]
    last = [0.0] * instances
    procs: list[subprocess.Popen[bytes]] = []
    lock = threading.Lock()
    try:
        start = time.perf_counter()
        for port in ports:
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
                 "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
                cwd=SOURCE, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))

        def watch(index: int) -> None:
            _listening(ports[index], procs[index], time.monotonic() + 60)
            ready[index].set()

        def one(client: int) -> tuple[int, float]:
            index = client // per_instance
            ready[index].wait(60)
            status = _post(ports[index])
            answered = _since(start)
            with lock:
                last[index] = max(last[index], answered)
            return status, answered

        with ThreadPoolExecutor(instances) as watchers, ThreadPoolExecutor(clients) as pool:
            waiting = [watchers.submit(watch, i) for i in range(instances)]
            for status, answered in pool.map(one, range(clients)):
                burst.statuses.append(status)
                burst.grants_ms.append(answered)
            for future in waiting:
                future.result()
        burst.instance_ms = last
        burst.peak_rss_mib = max(_peak_rss_mib(proc.pid) for proc in procs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    return burst


def measured(run: Callable[[Mapping[str, str]], Burst], identity: Mapping[str, str]) -> Burst:
    """Run one burst against a fresh STS stub; count the AssumeRole calls it received.

    The function gets s.yaml's STS timeout (the tests' loopback settings use 1 s).
    """
    with loopback_sts(identity=execution_identity(identity)) as sts:
        env = {**function_env(sts.url), **identity,
               "STS_TIMEOUT_SECONDS": str(_vars()["stsTimeoutSeconds"])}
        burst = run(env)
        burst.sts_calls = sts.stub.assume_role_calls
    return burst


def _syaml() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "s.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _vars() -> dict[str, Any]:
    return _syaml()["vars"]  # type: ignore[no-any-return]


def _model(model: str) -> dict[str, Any]:
    """s.yaml's signer props with instance model ``model`` merged in."""
    return model_props(_syaml(), "signer", model)


def memory_gb(model: str) -> float:
    """The memory s.yaml gives ``model``'s instances, in GB (FC bills GB = 1024 MB)."""
    return float(_model(model)["memorySize"]) / 1024


def per_instance() -> int:
    """s.yaml's instance concurrency for the custom model."""
    return int(_model("custom")["instanceConcurrency"])


Row = tuple[str, str, str, str]


def rows(identity: Mapping[str, str], clients: int) -> list[Row]:
    """The burst rows of ``make bench`` (row 8)."""
    concurrency = per_instance()
    bursts = {
        "builtin": measured(lambda env: builtin_burst(env, clients), identity),
        "custom": measured(lambda env: custom_burst(env, clients, concurrency), identity),
    }
    alone = {
        "builtin": measured(lambda env: builtin_burst(env, 1), identity),
        "custom": measured(lambda env: custom_burst(env, concurrency, concurrency), identity),
    }
    label = {"builtin": "builtin: 1 fresh process per request",
             "custom": f"custom: 1 gunicorn per {concurrency} requests"}
    out: list[Row] = []
    for model, burst in bursts.items():
        failed = Counter(s for s in burst.statuses if s != 200)
        refused = "".join(f"; {n} × {s or 'no answer'}" for s, n in sorted(failed.items()))
        out.append((
            f"8 burst {clients} clients, {label[model]}",
            f"cold starts {burst.cold_starts}, STS calls {burst.sts_calls}, time to grant "
            f"p50 {burst.percentile(0.5):,.0f} ms, p99 {burst.percentile(0.99):,.0f} ms "
            f"({burst.statuses.count(200)}/{clients} granted{refused}; all on "
            f"{os.cpu_count()} cores)", "report", ""))
    gb_seconds: dict[str, float] = {}
    for model, one in alone.items():
        instances = bursts[model].cold_starts
        span = statistics.median(one.instance_ms) if model == "builtin" else max(one.instance_ms)
        gb_seconds[model] = instances * memory_gb(model) * span / 1000
        out.append((
            f"8 one instance alone, {label[model]}",
            f"launch to last grant {span:,.0f} ms; grants p50 {one.percentile(0.5):,.0f} ms, "
            f"p99 {one.percentile(0.99):,.0f} ms; peak RSS {one.peak_rss_mib:.0f} MiB; "
            f"per burst {instances} × {memory_gb(model):.3f} GB × {span / 1000:.3f} s = "
            f"{gb_seconds[model]:.2f} GB-s", "report", ""))
    out.append((
        f"8 burst cost, GB-seconds ({clients} clients)",
        f"builtin {gb_seconds['builtin']:.2f} vs custom {gb_seconds['custom']:.2f} "
        f"({gb_seconds['builtin'] / gb_seconds['custom']:.1f}×)", "custom lower",
        "yes" if gb_seconds["custom"] < gb_seconds["builtin"] else "NO"))
    return out
