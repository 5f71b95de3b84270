"""scripts/run_sdk_suite.py counts pytest's junit report by file, as pytest reports it.

pytest puts a class's tear-down error in the entry of the class's last test when that
test passed or was skipped, and in an entry of its own after a failure; a failure whose
error is the local cloud's 501 NotImplemented is counted apart.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_sdk_suite.py"
NOT_IMPLEMENTED = ("Error returned by Service. Http Status Code: 501. "
                   "Error Code: NotImplemented.")
TEARDOWN = "failed on teardown with &quot;OperationError: ListBuckets&quot;"


@pytest.fixture(scope="module")
def runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_sdk_suite", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("run_sdk_suite", module)
    spec.loader.exec_module(module)
    return module


def case(cls: str, name: str, inner: str = "") -> str:
    return (f'<testcase classname="tests.integration.{cls}" name="{name}" time="0">'
            f"{inner}</testcase>")


JUNIT = "".join([
    '<?xml version="1.0"?><testsuites><testsuite name="pytest">',
    case("test_a.T", "test_ok"),
    case("test_a.T", "test_bad", '<failure message="AssertionError: 1 != 2">x</failure>'),
    case("test_a.T", "test_501", f'<failure message="OperationError">{NOT_IMPLEMENTED}'
                                 "</failure>"),
    case("test_a.T", "test_last_passed", f'<error message="{TEARDOWN}">tb</error>'),
    case("aio.test_b.U", "test_skipped", '<skipped message="no"/>'
                                         f'<error message="{TEARDOWN}">tb</error>'),
    case("aio.test_b.U", "test_failed_then_teardown", '<failure message="boom">x</failure>'),
    case("aio.test_b.U", "test_failed_then_teardown", f'<error message="{TEARDOWN}">tb</error>'),
    case("aio.test_b.U", "test_setup", '<error message="failed on setup with &quot;x&quot;">'
                                       "tb</error>"),
    "</testsuite></testsuites>",
])


def test_outcomes_follow_pytests_junit_quirks(runner: ModuleType, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(JUNIT)

    results = runner.outcomes_by_test(report)

    assert {node.rsplit("::", 1)[1]: (file, outcome, teardown)
            for node, (file, outcome, teardown) in results.items()} == {
        "test_ok": ("tests/integration/test_a.py", "passed", False),
        "test_bad": ("tests/integration/test_a.py", "failed", False),
        "test_501": ("tests/integration/test_a.py", "501", False),
        "test_last_passed": ("tests/integration/test_a.py", "passed", True),
        "test_skipped": ("tests/integration/aio/test_b.py", "skipped", True),
        "test_failed_then_teardown": ("tests/integration/aio/test_b.py", "failed", True),
        "test_setup": ("tests/integration/aio/test_b.py", "error", False),
    }
    table = runner.summary(results, ["tests/integration/test_a.py",
                                     "tests/integration/aio/test_b.py",
                                     "tests/integration/test_none.py"])
    assert [line.split() for line in table[:5]] == [
        ["file", "passed", "failed", "501", "error", "skipped", "teardown"],
        ["tests/integration/test_a.py", "2", "1", "1", "0", "0", "1"],
        ["tests/integration/aio/test_b.py", "0", "1", "0", "1", "1", "2"],
        ["tests/integration/test_none.py", "0", "0", "0", "0", "0", "0"],
        ["total", "2", "2", "1", "1", "1", "3"],
    ]


def test_the_suite_gets_the_admin_identity_and_no_other_oss_test_setting(
    runner: ModuleType,
) -> None:
    endpoints = {"admin_identity": {"access_key_id": "AK", "access_key_secret": "SK"},
                 "oss_url": "http://127.0.0.1:9", "region": "cn-hangzhou"}
    env = runner.suite_env(endpoints, {"PATH": "/bin", "OSS_TEST_RAM_ROLE_ARN": "x"})
    assert env == {"PATH": "/bin", "OSS_TEST_ACCESS_KEY_ID": "AK",
                   "OSS_TEST_ACCESS_KEY_SECRET": "SK",
                   "OSS_TEST_ENDPOINT": "http://127.0.0.1:9",
                   "OSS_TEST_REGION": "cn-hangzhou"}
