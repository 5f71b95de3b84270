"""``python -m localcloud`` as a user runs it: busy ports give one clear line, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("env_var", ["DEV_OSS_PORT", "DEV_STS_PORT", "DEV_FUNCTION_PORT"])
def test_busy_port_fails_with_one_clear_line_and_exit_code_2(tmp_path: Path, env_var: str) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "DEV_OSS_PORT": "0", "DEV_STS_PORT": "0", "DEV_FUNCTION_PORT": "0",
               "DEV_STATE_DIR": str(tmp_path / "state"), env_var: str(port)}
        done = subprocess.run([sys.executable, "-m", "localcloud"], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert str(port) in lines[0] and env_var in lines[0]


def test_bad_port_setting_is_reported_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DEV_OSS_PORT": "ninety", "DEV_STATE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "localcloud"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr + done.stdout
    assert done.stderr.splitlines() == [
        "localcloud: DEV_OSS_PORT='ninety' is not a port number (0-65535; 0 = any free port)"]
