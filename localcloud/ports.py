"""Port checks for the local stack: a busy port is a clear message, never a traceback.

Owns deciding whether something listens on a port, picking a free one, and the
:class:`PortInUse` error naming the variable to change. Sockets only; no servers of its own.

"Busy" means a listener, nothing less. A connection closed a moment ago (the stack's own,
after Ctrl-C) leaves its port in TIME_WAIT for up to a minute; a plain ``bind`` probe fails
on that although a server that sets ``SO_REUSEADDR`` (gunicorn, ``http.server``) binds it
at once. So the probe sets ``SO_REUSEADDR``, which Linux and the BSDs still refuse while a
socket listens, and a refused probe is confirmed by connecting: only a port that accepts a
connection is reported as taken.
"""

from __future__ import annotations

import errno
import socket

#: Seconds a confirming connect may take; a listener on loopback answers in microseconds,
#: one whose backlog is full not at all (still a listener: counted as busy).
CONNECT_TIMEOUT = 0.5


class PortInUse(RuntimeError):
    """A port the stack needs is taken; the message names it and the variable to change.

    ``lingering``: nothing listens, but the bind failed anyway (connections closed a moment
    ago, left by a server that did not set ``SO_REUSEADDR``); the kernel frees the port
    within a minute.
    """

    def __init__(self, port: int, env_var: str, what: str, *, lingering: bool = False) -> None:
        if lingering:
            message = (f"localcloud: port {port} for the {what} is still held by connections "
                       "closed a moment ago (nothing listens; free within a minute); wait, "
                       f"or set {env_var} to another port (0 = any free port).")
        else:
            message = (f"localcloud: port {port} for the {what} is already in use; set "
                       f"{env_var} to another port (0 = any free port) or stop the other "
                       "instance.")
        super().__init__(message)
        self.port = port
        self.env_var = env_var
        self.what = what
        self.lingering = lingering


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _connect_host(host: str) -> str:
    """Where to connect to reach a listener on ``host`` (a wildcard means this machine)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


def _accepts_connections(host: str, port: int) -> bool:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.settimeout(CONNECT_TIMEOUT)
        try:
            probe.connect((_connect_host(host), port))
        except TimeoutError:
            return True  # a listener with a full backlog
        except OSError:
            return False
    return True


def port_free(host: str, port: int) -> bool:
    """Tell whether nothing listens on ``host:port`` (closed connections do not count)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return False
            # Bound without SO_REUSEADDR, or TIME_WAIT left by such a listener: only a
            # listener answers a connect.
            return not _accepts_connections(host, port)
    return True


def free_port(host: str) -> int:
    """Return a port that was free a moment ago (bound, then released)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def require_free(host: str, wanted: list[tuple[int, str, str]]) -> None:
    """Raise PortInUse for the first ``(port, env var, what)`` something listens on.

    Port 0 (any free port) is never checked.
    """
    for port, env_var, what in wanted:
        if port and not port_free(host, port):
            raise PortInUse(port, env_var, what)
