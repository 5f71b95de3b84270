"""Run the Node.js clients of ``tests/node/`` (ali-oss) from pytest.

``make test`` installs them (``tests/node/ensure-node.sh``: Node.js, then ``npm ci``). A
machine without ``node`` or without the installed packages fails these tests with one line
saying what to run; they are never skipped, so CI cannot pass without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "tests" / "node"
NODE_MODULES = NODE_DIR / "node_modules"


def node_executable() -> str:
    """Return the path of ``node`` and check ali-oss is installed; fail the test otherwise."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the ali-oss tests need Node.js 18 or newer "
                    "(`make test` installs it with tests/node/ensure-node.sh)", pytrace=False)
    if not (NODE_MODULES / "ali-oss" / "package.json").is_file():
        pytest.fail("tests/node/node_modules is missing: run `make node-deps` "
                    "(npm ci in tests/node)", pytrace=False)
    return node


def run_node(script: Path, *args: str, cwd: Path | None = None,
             env: Mapping[str, str] | None = None,
             timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``node script args...`` and return the finished process (output as text)."""
    return subprocess.run(
        [node_executable(), str(script), *args],
        cwd=str(cwd or REPO), env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout, check=False,
    )
