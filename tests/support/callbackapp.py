"""A scripted application server: the target of the emulator's upload callbacks.

It records every request it gets (method, target, lower-cased headers, body) and answers
each path as the test scripts it (:class:`Answer`): a status and body at once, the body
one byte at a time over ``drip_seconds``, or no answer until released. Served on loopback
through :mod:`tests.support.liveserver`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.support.liveserver import LiveServers, QuietHandler

#: Seconds a hanging answer waits for the release at most.
HANG_SECONDS = 30.0


@dataclass(frozen=True)
class Received:
    """One request the application server got; ``target`` is the path with its query."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """How the application answers a path.

    ``hang``: no answer at all until released; ``drip_seconds``: the headers at once,
    then the body a byte at a time, spread over that many seconds (cut short on release).
    """

    status: int = 200
    body: bytes = b'{"Status":"OK"}'
    content_type: str = "application/json"
    hang: bool = False
    drip_seconds: float = 0.0


@dataclass
class AppServer:
    """The running application server; ``answers`` is keyed by request path (no query)."""

    port: int = 0
    default: Answer = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        """Return the URL of ``path`` (which may carry a query) on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def targets(self) -> list[str]:
        """Return the targets (path and query) of the requests received, in order."""
        return [request.target for request in self.received]


def _handler_for(app: AppServer) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            app.received.append(Received(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            answer = app.answers.get(urlsplit(self.path).path, app.default)
            if answer.hang:
                app.release.wait(HANG_SECONDS)
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if not answer.drip_seconds:
                self.wfile.write(answer.body)
                return
            step = answer.drip_seconds / max(len(answer.body), 1)
            for byte in answer.body:  # each wait is short; only the total is long
                if app.release.wait(step):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    return Handler


def start_app_server(servers: LiveServers, default: Answer | None = None) -> AppServer:
    """Start an application server under ``servers`` (the ``live_server`` fixture)."""
    app = AppServer(default=default or Answer())
    app.port = servers.handler(_handler_for(app)).port
    return app
