"""The one way the tests run a throwaway HTTP server on loopback.

A live server is a real ``http.server``-family server on 127.0.0.1, port 0, serving on a
daemon thread: either a ``BaseHTTPRequestHandler`` class (fakes of STS, a key file host, a
callback application) or a WSGI application (under werkzeug's threaded server, as the
function runs under gunicorn). Stopping it is prompt: the serve loop looks for a shutdown
request every :data:`POLL_SECONDS` instead of ``socketserver``'s default 0.5 s, and the
listening socket is closed before the thread is joined. Tests reach it through the
``live_server`` fixture of ``tests/conftest.py`` (stopped at teardown) or, where a helper
owns the lifetime, through :func:`serving`. Depends on the standard library and werkzeug.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from werkzeug.serving import make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

HOST = "127.0.0.1"
#: Seconds between the serve loop's looks for a shutdown request: the most a stop waits.
POLL_SECONDS = 0.01
#: Seconds a stop waits for the serving thread to end.
JOIN_SECONDS = 10.0


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that writes no request line to stderr (the suite reads output)."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        del format, args


class LiveServer:
    """One running server: its port and base URL; :meth:`stop` ends it (idempotent)."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.port = int(server.server_address[1])
        self.url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,),
                                        name=f"live-server-{self.port}", daemon=True)
        self._thread.start()
        self._stopped = False

    def stop(self) -> None:
        """Stop serving, close the listening socket and wait for the serving thread."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(JOIN_SECONDS)


def handler_server(handler: type[BaseHTTPRequestHandler]) -> LiveServer:
    """Serve ``handler`` (one thread a connection) on 127.0.0.1, port 0; return it running."""
    server = ThreadingHTTPServer((HOST, 0), handler)
    server.daemon_threads = True
    return LiveServer(server)


def wsgi_server(app: WSGIApplication) -> LiveServer:
    """Serve the WSGI ``app`` under werkzeug's threaded server on 127.0.0.1, port 0."""
    return LiveServer(make_server(HOST, 0, app, threaded=True))


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[LiveServer]:
    """Serve ``handler`` until the block ends, even on failure."""
    live = handler_server(handler)
    try:
        yield live
    finally:
        live.stop()


class LiveServers:
    """The ``live_server`` fixture: starts servers for one test and stops them all after it."""

    def __init__(self) -> None:
        self._running: list[LiveServer] = []

    def handler(self, handler: type[BaseHTTPRequestHandler]) -> LiveServer:
        """Serve ``handler`` until the test ends; see :func:`handler_server`."""
        self._running.append(handler_server(handler))
        return self._running[-1]

    def wsgi(self, app: WSGIApplication) -> LiveServer:
        """Serve ``app`` until the test ends; see :func:`wsgi_server`."""
        self._running.append(wsgi_server(app))
        return self._running[-1]

    def stop_all(self) -> None:
        """Stop every server this fixture started, the last started first."""
        while self._running:
            self._running.pop().stop()
