"""Port checks for the local stack: a busy port is a clear message, never a traceback.

Owns probing whether a port is free, picking a free one, and the :class:`PortInUse`
error naming the variable to change. Sockets only; no servers of its own.
"""

from __future__ import annotations

import socket


class PortInUse(RuntimeError):
    """A port the stack needs is taken; the message names it and the variable to change."""

    def __init__(self, port: int, env_var: str, what: str) -> None:
        super().__init__(
            f"localcloud: port {port} for the {what} is already in use; "
            f"set {env_var} to another port (0 = any free port) or stop the other instance."
        )
        self.port = port
        self.env_var = env_var


def port_free(host: str, port: int) -> bool:
    """Tell whether ``host:port`` can be bound right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """Return a port that was free a moment ago (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
