"""Cold start: a fresh interpreter from exec to the first signed grant, in phases.

Phases, each timed inside the child process:

- ``sdk``: importing the Alibaba SDK modules ``uploadsign.sts`` uses (from the venv, whose
  installer compiled them to ``.pyc``);
- ``ours``: importing ``index`` (the FC entry point) and what its lazy build imports
  (``uploadsign.factory``, ``wsgi.configure_logging``). Because the SDK is already loaded,
  this counts
  only modules under ``functions/sign`` plus the standard-library modules they pull
  that the SDK had not (``ours_stdlib`` lists them);
- ``first``: the first request through ``index.handler``: settings, logging set-up,
  the SDK client (``client``), one AssumeRole on loopback (``sts``) and the signing.
  ``sts_tls`` re-times, after the request, the TLS context the SDK builds on its first
  call (it does so even for an ``http`` endpoint); ``sts_warm`` is a second AssumeRole.

The interpreter's own start is the wall time of ``python -c pass``. FC's ``/code`` is
read-only, so the child never writes bytecode (``PYTHONDONTWRITEBYTECODE=1``) and runs
from a staged copy of the function: once as sources only (every import compiles), once
compiled as ``deploy/package.py`` ships it (unchecked-hash ``.pyc``). Medians of several
runs. Measures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from deploy.package import compile_bytecode, stage_code

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "functions" / "sign"

CHILD = r"""
import time
t0 = time.perf_counter()
import json, os, sys
root = sys.argv[1]
sys.path[:0] = [root]
import alibabacloud_credentials.client, alibabacloud_sts20150401.client
import alibabacloud_sts20150401.models, alibabacloud_tea_openapi.models
import alibabacloud_tea_openapi.exceptions, Tea.exceptions
t1 = time.perf_counter()
before = set(sys.modules)
import index
from uploadsign import factory, sts, wsgi
t2 = time.perf_counter()
new = set(sys.modules) - before
stdlib = sorted(m for m in new if not (getattr(sys.modules[m], "__file__", None) or "")
                .startswith(root) and m != "__main__")
timing = {}
fetchers = []
def timed_factory(settings):
    start = time.perf_counter()
    fetch = sts.build_fetcher(settings)
    timing["client"] = time.perf_counter() - start
    fetchers.append(fetch)
    def timed_fetch():
        begin = time.perf_counter()
        try:
            return fetch()
        finally:
            timing.setdefault("sts", time.perf_counter() - begin)
    return timed_fetch
def build():
    wsgi.configure_logging()
    return factory.build_app(os.environ, fetcher_factory=timed_factory)
index.app._factory = build
body = json.dumps({"filename": "a.png", "size": 10, "content_type": "image/png"})
event = json.dumps({"body": body, "headers": {"content-type": "application/json",
                                                    "origin": "https://app.example.com"},
                    "requestContext": {"http": {"method": "POST", "path": "/uploads"}}})
answer = index.handler(event.encode(), None)
t3 = time.perf_counter()
assert answer["statusCode"] == 200, answer
import ssl
begin = time.perf_counter()
ssl.create_default_context()
timing["sts_tls"] = time.perf_counter() - begin
begin = time.perf_counter()
fetchers[0]()
timing["sts_warm"] = time.perf_counter() - begin
print(json.dumps({"sdk": t1 - t0, "ours": t2 - t1, "first": t3 - t2, **timing,
                  "ours_stdlib": stdlib}))
"""


def _wall(args: list[str], env: Mapping[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - start, out


def _run(root: Path, env: Mapping[str, str], runs: int) -> dict[str, object]:
    phases: dict[str, list[float]] = {}
    stdlib: list[str] = []
    for _ in range(runs):
        wall, out = _wall([sys.executable, "-c", CHILD, str(root)], env)
        figures = json.loads(out.strip().splitlines()[-1])
        stdlib = figures.pop("ours_stdlib")
        figures["wall"] = wall
        for name, value in figures.items():
            phases.setdefault(name, []).append(value)
    result: dict[str, object] = {
        name: statistics.median(values) * 1000 for name, values in phases.items()
    }
    first, client, sts = (float(str(result[k])) for k in ("first", "client", "sts"))
    result["rest"] = first - client - sts
    # Ours: our imports plus the first request's own work (not the SDK client, not STS).
    result["our_code"] = float(str(result["ours"])) + float(str(result["rest"]))
    result["ours_stdlib"] = stdlib
    return result


def measure(env: Mapping[str, str], runs: int = 7) -> dict[str, dict[str, object]]:
    """Return median phase durations (ms) for ``source`` and ``pyc``, plus the interpreter."""
    full_env = {**os.environ, **env, "PYTHONDONTWRITEBYTECODE": "1"}
    bare = [_wall([sys.executable, "-c", "pass"], full_env)[0] for _ in range(runs)]
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        for variant in ("source", "pyc"):
            root = Path(scratch) / variant
            stage_code(SOURCE, root)  # never the source tree's own __pycache__
            if variant == "pyc" and not compile_bytecode(root, sys.executable):
                raise RuntimeError("the function's sources did not compile")
            results[variant] = _run(root, full_env, runs)
    results["interpreter"] = {"wall": statistics.median(bare) * 1000}
    return results
