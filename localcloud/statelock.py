"""One running local cloud per state directory: an advisory lock naming its owner.

Owns ``<state dir>/localcloud.lock``: held with ``flock`` for the stack's lifetime (the
kernel drops it when the process ends, however it ends, so a crash leaves no stale lock)
and holding the owner's pid, ports and page URL as JSON so a second instance can say which
one is in its way. Two stacks on one state directory would share objects, bucket settings
and ``endpoints.json`` and overwrite each other's; on other ports they need their own
directory. POSIX only (``fcntl``), like the rest of the stack's process handling.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

LOCK_FILE = "localcloud.lock"


class StateDirInUse(RuntimeError):
    """Another running stack holds the state directory; the message names it and the way out."""

    def __init__(self, state_dir: Path, owner: dict[str, Any], env_var: str,
                 suggestion: str) -> None:
        ports = owner.get("ports") or {}
        facts = [f"pid {owner.get('pid', '?')}"]
        if ports:
            facts.append(", ".join(f"{name} {port}" for name, port in ports.items()))
        if owner.get("page_url"):
            facts.append(f"page {owner['page_url']}")
        super().__init__(
            f"localcloud: state dir {state_dir} is in use by another local cloud "
            f"({'; '.join(facts)}); stop it, or give this one its own state dir: "
            f"{env_var}={suggestion}"
        )
        self.state_dir = state_dir
        self.owner = owner


class StateLock:
    """The held lock on one state directory; :meth:`release` (or process exit) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, state_dir: Path, *, env_var: str, suggestion: str) -> StateLock:
        """Take the state directory's lock or raise StateDirInUse naming its holder."""
        path = state_dir / LOCK_FILE
        # Never unlinked: a process that opened the old file would lock a different inode.
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(fd)
            os.close(fd)
            raise StateDirInUse(state_dir, owner, env_var, suggestion) from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, fd)
        lock.record({})
        return lock

    def record(self, facts: dict[str, Any]) -> None:
        """Write this process's pid and ``facts`` (ports, page URL) for a second instance."""
        if self._fd is None:
            return
        data = json.dumps({"pid": os.getpid(), **facts}).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        """Empty the file and drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the flock


def _read_owner(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 64 * 1024, 0)
        owner = json.loads(raw) if raw else {}
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}
