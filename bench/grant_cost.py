"""Warm in-process cost of one ``POST /uploads`` and STS calls per 1,000 requests.

Runs the real app (real STS SDK, stubbed at the HTTP level with ``responses``, so no
network) and calls it as a WSGI server would. Prints a small table; numbers are for the
closing note, never asserted in tests.

    .venv/bin/python bench/grant_cost.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "functions" / "sign"))

os.environ.setdefault("ALIBABA_CLOUD_ACCESS_KEY_ID", "BENCH-EXEC-KEY-ID-FAKE")
os.environ.setdefault("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "bench-exec-secret-fake")
os.environ.setdefault("ALIBABA_CLOUD_SECURITY_TOKEN", "bench-exec-token-fake")
os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
os.environ.setdefault("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")

import responses  # noqa: E402
from uploadsign.factory import build_app  # noqa: E402

ENV = {
    "OSS_BUCKET": "bench-bucket",
    "OSS_REGION": "cn-hangzhou",
    "OSS_STS_ROLE_ARN": "acs:ram::1000000000000000:role/oss-uploader",
    "STS_ENDPOINT": "http://127.0.0.1:9",
    "CORS_ALLOWED_ORIGINS": "https://app.example.com",
    # Measure the grant path itself, not the per-caller limiter refusing a single client.
    "RATE_LIMIT_PER_MINUTE": "0",
}
STS_BODY = {
    "RequestId": "BENCH",
    "Credentials": {
        "AccessKeyId": "STS.BENCH-FAKE",
        "AccessKeySecret": "bench-sts-secret-fake",
        "SecurityToken": "bench-sts-token-fake",
        "Expiration": "2099-01-01T00:00:00Z",
    },
}
BODY = json.dumps({"filename": "photo.png", "size": 123456, "content_type": "image/png"}).encode()


def environ() -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/uploads",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(BODY)),
        "HTTP_ORIGIN": "https://app.example.com",
        "wsgi.input": io.BytesIO(BODY),
        "SERVER_NAME": "bench",
        "SERVER_PORT": "443",
        "wsgi.url_scheme": "https",
    }


def call(app: Any) -> None:
    status: list[str] = []
    body = b"".join(app(environ(), lambda s, h, e=None: status.append(s)))
    if not status[0].startswith("200") or not body:
        raise SystemExit(f"unexpected answer {status[0]}: {body[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    with responses.RequestsMock() as sts:
        sts.add(responses.POST, "http://127.0.0.1:9/", json=STS_BODY)
        app = build_app(ENV)
        for _ in range(1_000):
            call(app)
        sts_calls_per_1000 = len(sts.calls)
        samples = []
        for _ in range(args.calls):
            start = time.perf_counter_ns()
            call(app)
            samples.append((time.perf_counter_ns() - start) / 1000)
        total_sts_calls = len(sts.calls)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"python {sys.version.split()[0]}, {args.calls} warm POST /uploads calls in process")
    print(f"{'metric':<34}{'value':>12}")
    print(f"{'median per call (µs)':<34}{statistics.median(samples):>12.1f}")
    print(f"{'p99 per call (µs)':<34}{p99:>12.1f}")
    print(f"{'STS calls for first 1,000 requests':<34}{sts_calls_per_1000:>12}")
    print(f"{'STS calls in the whole run':<34}{total_sts_calls:>12}")


if __name__ == "__main__":
    main()
