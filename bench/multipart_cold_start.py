"""Cold start of ``POST /uploads``: the first PostObject grant vs the first multipart plan.

Each run is a fresh interpreter that imports ``index`` and sends one ``POST /uploads``
through ``index.handler`` against a local cloud (STS stub and OSS emulator on loopback):
a small file (PostObject grant) or one above ``UPLOAD_MULTIPART_THRESHOLD_BYTES`` (the
function initiates the upload with ``alibabacloud-oss-v2``, imported on that first call).
``first`` is timed inside the child, from its first statement to the answer; ``warm`` is a
second identical request in the same process. The child writes no bytecode (FC's /code is
read-only). Medians of ``runs``. Measures; asserts nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from localcloud.stack import LocalCloud

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "functions" / "sign"
SMALL, LARGE = 10_000, 200 * 1024**2

CHILD = r"""
import time
t0 = time.perf_counter()
import json, sys
sys.path.insert(0, sys.argv[1])
import index
body = json.dumps({"filename": "a.bin", "size": int(sys.argv[2]), "content_type": "video/mp4"})
event = json.dumps({"body": body, "headers": {"content-type": "application/json",
                                              "origin": sys.argv[3]},
                    "requestContext": {"http": {"method": "POST", "path": "/uploads"}}}).encode()
answer = index.handler(event, None)
t1 = time.perf_counter()
index.handler(event, None)
t2 = time.perf_counter()
print(json.dumps({"mode": json.loads(answer["body"])["mode"], "first": t1 - t0,
                  "warm": t2 - t1, "oss_sdk": "alibabacloud_oss_v2" in sys.modules}))
"""


def measure(runs: int) -> dict[str, dict[str, float | bool]]:
    """Return, per mode (``post``, ``multipart``), median ms of the first and a warm request."""
    results: dict[str, list[dict[str, float | bool]]] = {}
    with tempfile.TemporaryDirectory() as state:
        with LocalCloud.start(Path(state), start_function=False, publish_web=False) as cloud:
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **cloud.function_env(
                {"UPLOAD_MAX_BYTES": str(LARGE), "UPLOAD_CALLBACK_URL": ""})}
            for size in (SMALL, LARGE) * runs:
                out = subprocess.run(
                    [sys.executable, "-c", CHILD, str(SOURCE), str(size), cloud.website_origin],
                    env=env, capture_output=True, text=True, check=True, timeout=120)
                found = json.loads(out.stdout.strip().splitlines()[-1])
                results.setdefault(str(found["mode"]), []).append(found)
    return {mode: {"first": 1000 * statistics.median(float(r["first"]) for r in rows),
                   "warm": 1000 * statistics.median(float(r["warm"]) for r in rows),
                   "oss_sdk": all(bool(r["oss_sdk"]) for r in rows)}
            for mode, rows in results.items()}


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=1))
