"""Cold start: a fresh interpreter from exec to the first signed grant, in phases.

The child process times SDK imports, our imports (``index``, the FC entry point), and the
first request through ``index.handler``, which builds the app (SDK client set-up), calls
STS once on loopback and signs. The interpreter's own start is the wall time of
``python -c pass``. Medians of several runs. Measures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import time
t0 = time.perf_counter()
import json, os, sys
sys.path[:0] = [sys.argv[1]]
import alibabacloud_credentials.client, alibabacloud_sts20150401.client
import alibabacloud_sts20150401.models, alibabacloud_tea_openapi.models
import alibabacloud_tea_openapi.exceptions, Tea.exceptions
t1 = time.perf_counter()
import index
from uploadsign import factory, sts
t2 = time.perf_counter()
timing = {}
def timed_factory(settings):
    start = time.perf_counter()
    fetch = sts.build_fetcher(settings)
    timing["client"] = time.perf_counter() - start
    def timed_fetch():
        begin = time.perf_counter()
        try:
            return fetch()
        finally:
            timing["sts"] = time.perf_counter() - begin
    return timed_fetch
index.app._factory = lambda: factory.build_app(os.environ, fetcher_factory=timed_factory)
body = json.dumps({"filename": "a.png", "size": 10, "content_type": "image/png"})
event = json.dumps({"body": body, "headers": {"content-type": "application/json",
                                                    "origin": "https://app.example.com"},
                    "requestContext": {"http": {"method": "POST", "path": "/uploads"}}})
answer = index.handler(event.encode(), None)
t3 = time.perf_counter()
assert answer["statusCode"] == 200, answer
print(json.dumps({"sdk": t1 - t0, "ours": t2 - t1, "first": t3 - t2, **timing}))
"""


def _wall(args: list[str], env: Mapping[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, out


def measure(env: Mapping[str, str], runs: int = 7) -> dict[str, float]:
    """Return median phase durations in milliseconds."""
    full_env = {**os.environ, **env}
    bare = [_wall([sys.executable, "-c", "pass"], full_env)[0] for _ in range(runs)]
    phases: dict[str, list[float]] = {}
    for _ in range(runs):
        wall, out = _wall([sys.executable, "-c", CHILD, str(REPO / "functions" / "sign")],
                          full_env)
        figures = json.loads(out)
        figures["wall"] = wall
        for name, value in figures.items():
            phases.setdefault(name, []).append(value)
    result = {name: statistics.median(values) * 1000 for name, values in phases.items()}
    result["interpreter"] = statistics.median(bare) * 1000
    # Ours: our imports plus the first request's own work (not the SDK client, not STS).
    result["our_code"] = result["ours"] + result["first"] - result["client"] - result["sts"]
    return result
