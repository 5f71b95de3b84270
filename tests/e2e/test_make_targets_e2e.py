"""The Makefile as a user meets it: ``make`` and ``make help`` list every target, one line
each, and ``make bench`` leaves tracked files alone unless asked to record.

Only dry runs (``make -n``): nothing is built or measured here.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def phony_targets() -> list[str]:
    """The targets the Makefile declares .PHONY: every command a user can type."""
    for line in (REPO / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith(".PHONY:"):
            return line.split(":", 1)[1].split()
    raise AssertionError("no .PHONY line in the Makefile")


def make(*args: str) -> str:
    done = subprocess.run(["make", "--no-print-directory", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


@pytest.mark.parametrize("args", [(), ("help",)], ids=["make", "make-help"])
def test_help_lists_every_target_with_one_line(args: tuple[str, ...]) -> None:
    lines = make(*args).splitlines()
    listed = [line.split()[1] for line in lines]
    assert sorted(listed) == sorted(phony_targets())
    assert {"dev", "test", "help", "bench", "bench-record"} <= set(listed)
    assert all(line.startswith("  make ") and len(line.split()) > 2 for line in lines)


def last_bench_command(*args: str) -> str:
    return [line for line in make("-n", *args).splitlines() if "bench/run.py" in line][-1]


def test_bench_writes_its_results_outside_tracked_files() -> None:
    assert last_bench_command("bench").endswith("bench/run.py --out build/bench/RESULTS.md")


@pytest.mark.parametrize("args", [("bench-record",), ("bench", "BENCH_RECORD=1")],
                         ids=["bench-record", "BENCH_RECORD=1"])
def test_recording_the_bench_updates_bench_results(args: tuple[str, ...]) -> None:
    assert last_bench_command(*args).endswith("bench/run.py --out bench/RESULTS.md")
