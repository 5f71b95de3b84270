"""``python -m localcloud`` runs: starting one, its process tree read from /proc, clean-up.

A run starts in a process group of its own (as a terminal's foreground job), every port 0
unless the test names one. The CLI starts gunicorn in a session of its own, so killing the
CLI's process group does not reach gunicorn: a test that gives up on a run must stop its
whole tree.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HAVE_PROC = Path("/proc/self/stat").exists()
#: Seconds a CLI gets to stop by itself before its tree is killed.
STOP_TIMEOUT = 30.0


def cli_env(state_dir: Path, **overrides: str) -> dict[str, str]:
    """The environment of a run: this one, every port 0 (any free one), ``state_dir``, then
    ``overrides`` (``DEV_*`` settings by name)."""
    return {**os.environ, "DEV_OSS_PORT": "0", "DEV_STS_PORT": "0", "DEV_FUNCTION_PORT": "0",
            "DEV_STATE_DIR": str(state_dir), **overrides}


def run_cli(env: Mapping[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end (a run that fails to start); return its exit and its output."""
    return subprocess.run([sys.executable, "-m", "localcloud"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def start_cli(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start the CLI in a process group of its own, its output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "localcloud"], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def process_table() -> dict[int, tuple[int, str, str]]:
    """Map every pid to (parent pid, state, start time) from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry.name)] = (int(fields[1]), fields[0], fields[19])
    return table


def descendants(root: int) -> dict[int, str]:
    """Return the live descendants of ``root`` as pid -> start time."""
    table = process_table()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _state, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def still_running(processes: dict[int, str]) -> list[int]:
    """Return those of ``processes`` (pid -> start time) that still run (zombies do not)."""
    table = process_table()
    return [pid for pid, started in processes.items()
            if pid in table and table[pid][2] == started and table[pid][1] != "Z"]


def stop_tree(proc: subprocess.Popen[bytes]) -> None:
    """Stop a CLI run a test gives up on: SIGTERM, then SIGKILL to it and all it started."""
    if proc.poll() is not None:
        return
    tree = descendants(proc.pid) if HAVE_PROC else {}
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT)
        return
    except subprocess.TimeoutExpired:
        pass
    tree.update(descendants(proc.pid) if HAVE_PROC else {})
    os.killpg(proc.pid, signal.SIGKILL)
    for pid in still_running(tree) if HAVE_PROC else []:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()
