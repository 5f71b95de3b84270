"""Run a checkout of the official Python SDK's integration tests against a fresh local cloud.

The yardstick of the local cloud (issue #16): the object-level integration tests of
``aliyun/alibabacloud-oss-python-sdk-v2`` (``tests/integration/``), run unchanged with the
installed ``alibabacloud-oss-v2``. This script fetches nothing: give it a directory that
holds the suite's ``tests/`` (a clone, or ``git archive HEAD tests`` of one). It starts a
local cloud in a temporary state directory (emulator and STS stub; no function, no page),
hands the suite the admin identity through the suite's own variables
(``OSS_TEST_ACCESS_KEY_ID``/``_SECRET``, ``OSS_TEST_ENDPOINT``, ``OSS_TEST_REGION``; the
endpoint is an IP address, so the SDK addresses buckets path-style by itself), runs
pytest in a subprocess and prints pass/fail counts by file. A failure whose error is the
emulator's ``501 NotImplemented`` (an operation deliberately out of scope) is counted
apart from other failures; the exit status is 0 when there are no others.

pytest's output and the local cloud's log go to ``--log-dir`` (``build/sdk-suite``), not
to the terminal; the summary says how many WARNING-or-worse lines the log holds.

    python scripts/run_sdk_suite.py /path/to/alibabacloud-oss-python-sdk-v2
    make sdk-suite SUITE=/path/to/alibabacloud-oss-python-sdk-v2
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from localcloud.stack import ENDPOINTS_FILE, LocalCloud  # noqa: E402

#: The suite's object-level files (188 tests in the SDK at ebe9a43).
OBJECT_LEVEL_FILES = (
    "tests/integration/test_client.py",
    "tests/integration/test_object_basic.py",
    "tests/integration/test_presign.py",
    "tests/integration/test_paginator.py",
    "tests/integration/test_client_filelike.py",
    "tests/integration/test_encryption_client.py",
    "tests/integration/aio/test_object_basic_async.py",
    "tests/integration/aio/test_presign_async.py",
    "tests/integration/aio/test_paginator_async.py",
    "tests/integration/aio/test_multipart_upload_async.py",
    "tests/integration/aio/test_client_extension_async.py",
)
#: A test's own outcome, then errors in class set-up/tear-down reported against it.
OUTCOMES = ("passed", "failed", "501", "error", "skipped")
COLUMNS = (*OUTCOMES, "teardown")
#: How the SDK's ServiceError names the emulator's answer for an unserved operation.
NOT_IMPLEMENTED_MARK = "Error Code: NotImplemented"


def suite_env(endpoints: Mapping[str, object], base: Mapping[str, str]) -> dict[str, str]:
    """Return the suite's environment: ``base`` plus the admin identity and the endpoint."""
    admin = endpoints["admin_identity"]
    assert isinstance(admin, Mapping)
    env = {k: v for k, v in base.items() if not k.startswith("OSS_TEST_")}
    env.update({
        "OSS_TEST_ACCESS_KEY_ID": str(admin["access_key_id"]),
        "OSS_TEST_ACCESS_KEY_SECRET": str(admin["access_key_secret"]),
        "OSS_TEST_ENDPOINT": str(endpoints["oss_url"]),
        "OSS_TEST_REGION": str(endpoints["region"]),
    })
    return env


def _outcome(case: ET.Element) -> tuple[str | None, bool]:
    """Classify one junit ``testcase`` entry: (the test's outcome, a tear-down error).

    pytest reports an error in a class's tear-down against the class's last test, in the
    same entry when the test passed or was skipped (the outcome is then None if only the
    error is there: the test passed) and in an entry of its own after a failure. An error
    in set-up means the test never ran ("error"). A 501 failure is counted apart.
    """
    errors = " ".join(e.get("message") or "" for e in case.findall("error"))
    teardown = "failed on teardown" in errors
    failures = case.findall("failure")
    if failures:
        text = " ".join((f.get("message") or "") + (f.text or "") for f in failures)
        return ("501" if NOT_IMPLEMENTED_MARK in text else "failed"), teardown
    if errors and not teardown:
        return "error", False
    if case.find("skipped") is not None:
        return "skipped", teardown
    return (None if teardown else "passed"), teardown


def _file_of(case: ET.Element) -> str:
    """Return the test file from junit's dotted class name (``tests.integration.x.Class``)."""
    module = (case.get("classname") or "").rsplit(".", 1)[0]
    return module.replace(".", "/") + ".py"


def outcomes_by_test(junit_xml: Path) -> dict[str, tuple[str, str, bool]]:
    """Return ``{node id: (file, outcome, tear-down error after it)}``."""
    result: dict[str, tuple[str, str, bool]] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        file = _file_of(case)
        node = f"{file}::{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        outcome, teardown = _outcome(case)
        _, previous, had_teardown = result.get(node, (file, "", False))
        result[node] = (file, outcome or previous or "passed", teardown or had_teardown)
    return result


def summary(results: Mapping[str, tuple[str, str, bool]], files: Iterable[str]) -> list[str]:
    """Return the table of counts by file (every requested file, even one with no test)."""
    by_file: dict[str, Counter[str]] = {file: Counter() for file in files}
    for file, outcome, teardown in results.values():
        counts = by_file.setdefault(file, Counter())
        counts[outcome] += 1
        counts["teardown"] += teardown
    width = max((len(f) for f in by_file), default=10)
    lines = [f"{'file':<{width}}  " + "  ".join(f"{o:>8}" for o in COLUMNS)]
    total: Counter[str] = Counter()
    for file, counts in by_file.items():
        total.update(counts)
        lines.append(f"{file:<{width}}  " + "  ".join(f"{counts[o]:>8}" for o in COLUMNS))
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{total[o]:>8}" for o in COLUMNS))
    lines.append("501: failed only because the local cloud answered 501 NotImplemented; "
                 "error: set-up failed; teardown: a class's tear-down failed after the test")
    return lines


def _log_problems(log_path: Path) -> int:
    """Count the local cloud's WARNING-or-worse log records (tracebacks included)."""
    if not log_path.exists():
        return 0
    text = log_path.read_text(encoding="utf-8", errors="replace")
    return sum(1 for line in text.splitlines()
               if line.startswith(("WARNING ", "ERROR ", "CRITICAL ")))


def run(suite: Path, files: Sequence[str], log_dir: Path, pytest_args: Sequence[str],
        timeout: int) -> int:
    """Start a fresh local cloud, run the suite's ``files`` against it, print the counts."""
    log_dir.mkdir(parents=True, exist_ok=True)
    cloud_log = log_dir / "localcloud.log"
    pytest_log = log_dir / "pytest.log"
    junit = log_dir / "junit.xml"
    handler = logging.FileHandler(cloud_log, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="sdk-suite-") as state:
        cloud = LocalCloud.start(Path(state), start_function=False, publish_web=False)
        try:
            endpoints = json.loads((cloud.state_dir / ENDPOINTS_FILE).read_text())
            command = [
                sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE",
                f"--junitxml={junit}", f"--rootdir={suite}", "-o", "junit_family=xunit1",
                *([f"--timeout={timeout}"] if timeout else []), *pytest_args, *files,
            ]
            with open(pytest_log, "w", encoding="utf-8") as out:
                subprocess.run(command, cwd=suite, env=suite_env(endpoints, os.environ),
                               stdout=out, stderr=subprocess.STDOUT, check=False)
        finally:
            cloud.stop()
            root.removeHandler(handler)
            handler.close()
    if not junit.exists():
        print(f"pytest wrote no report; see {pytest_log}", file=sys.stderr)
        return 2
    results = outcomes_by_test(junit)
    for line in summary(results, files):
        print(line)
    problems = _log_problems(cloud_log)
    print(f"local cloud log: {problems} WARNING-or-worse line(s) ({cloud_log}); "
          f"pytest output: {pytest_log}")
    others = sum(1 for _, outcome, teardown in results.values()
                 if outcome in ("failed", "error") or teardown)
    return 1 if others else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path,
                        help="a checkout of alibabacloud-oss-python-sdk-v2 (holds tests/)")
    parser.add_argument("files", nargs="*", default=list(OBJECT_LEVEL_FILES),
                        help="test files relative to the checkout (default: object-level)")
    parser.add_argument("--log-dir", type=Path, default=REPO_ROOT / "build" / "sdk-suite")
    parser.add_argument("--timeout", type=int, default=300,
                        help="per-test timeout in seconds (pytest-timeout; 0: none)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    args = parser.parse_args(argv)
    suite = args.suite.resolve()
    if not (suite / "tests" / "integration" / "__init__.py").is_file():
        parser.error(f"{suite} does not hold the SDK's tests/integration/")
    extra = ["-k", args.keyword] if args.keyword else []
    return run(suite, args.files, args.log_dir.resolve(), extra, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
