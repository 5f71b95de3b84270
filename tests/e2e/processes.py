"""Process trees of ``python -m localcloud`` runs, read from /proc, and their clean-up.

The CLI starts gunicorn in a session of its own, so killing the CLI's process group does
not reach gunicorn: a test that gives up on a run must stop its whole tree.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

HAVE_PROC = Path("/proc/self/stat").exists()
#: Seconds a CLI gets to stop by itself before its tree is killed.
STOP_TIMEOUT = 30.0


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
