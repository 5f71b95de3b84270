"""Warm in-process cost of one ``POST /uploads`` and STS calls per 1,000 requests.

The quick form of ``make bench`` row 1, for the signing function alone: the same harness
(the STS stub on loopback, the real STS SDK, production logging into /dev/null, the rate
limiter in the path), without the baseline. Numbers are for reading, never asserted.

    .venv/bin/python bench/grant_cost.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import json
import sys

from run import NEVER_REACHED, production_logging, timed  # also sets sys.path and the identity
from uploadsign.factory import build_app

from tests.support.loopback import UPLOAD_BODY, call, function_env, loopback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    body = json.dumps(UPLOAD_BODY).encode()
    with loopback() as lb, production_logging():
        app = build_app(function_env(lb.sts_url, RATE_LIMIT_PER_MINUTE=str(NEVER_REACHED)))
        statuses = {call(app, "POST", "/uploads", body)[0] for _ in range(1_000)}
        if statuses != {200}:
            raise SystemExit(f"unexpected answers: {sorted(statuses)}")
        per_thousand = lb.stub.assume_role_calls
        warm = timed(lambda: call(app, "POST", "/uploads", body), args.calls)
        total = lb.stub.assume_role_calls
    print(f"python {sys.version.split()[0]}, {args.calls} warm POST /uploads calls in process")
    print(f"{'metric':<34}{'value':>12}")
    print(f"{'median per call (µs)':<34}{warm['median']:>12.1f}")
    print(f"{'p99 per call (µs)':<34}{warm['p99']:>12.1f}")
    print(f"{'STS calls for first 1,000 requests':<34}{per_thousand:>12}")
    print(f"{'STS calls in the whole run':<34}{total:>12}")


if __name__ == "__main__":
    main()
