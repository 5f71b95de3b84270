"""The STS stub's HTTP shell: a pooled loopback server around :class:`AssumeRoleService`.

Owns sockets, request reading, JSON rendering and the performing of injected faults; every
decision about a request lives in :mod:`localcloud.sts.service`. Malformed input gets a 4xx
JSON error; anything unexpected becomes a generic 500 ``InternalError`` that is logged without
request data, never a traceback on the wire.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import localcloud.sts.errors as errors
from localcloud.identity import IdentityStore
from localcloud.serving import PooledHTTPServer, PooledRequestHandler, ServerLimits
from localcloud.sts.faults import Fault, FaultMode, FaultPlan
from localcloud.sts.roles import Role, StsSettings
from localcloud.sts.service import AssumeRoleService, StsReply, error_body, new_request_id
from localcloud.sts.signatures import StsRequest

LOG = logging.getLogger(__name__)
JSON_CONTENT_TYPE = "application/json;charset=utf-8"
MAX_BODY_BYTES = 64 * 1024


class RunningSts:
    """A started stub: its base URL and a way to stop it."""

    def __init__(self, server: PooledHTTPServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.host = str(host)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"
        self.endpoint = f"{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class StsStub:
    """AssumeRole over HTTP as STS answers it, with fault injection for reliability tests."""

    def __init__(
        self,
        identities: IdentityStore,
        roles: Mapping[str, Role],
        *,
        clock: Callable[[], datetime],
        settings: StsSettings | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        self.settings = settings or StsSettings()
        self.service = AssumeRoleService(identities, roles, self.settings)
        self.faults = faults or FaultPlan()
        self._clock = clock

    @property
    def assume_role_calls(self) -> int:
        """Requests received (each counts, whether answered, refused or faulted)."""
        return self.service.calls

    @property
    def issued(self) -> int:
        """Credentials issued."""
        return self.service.issued

    def serve(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> StsReply:
        """Answer one request without faults (the shell and in-process tests use it)."""
        parts = urlsplit(target)
        query = parse_qsl(parts.query, keep_blank_values=True)
        return self.service.handle(StsRequest(method, parts.path, query, headers, body),
                                   now=self._clock())

    def start(self, host: str = "127.0.0.1", port: int = 0,
              limits: ServerLimits | None = None) -> RunningSts:
        """Bind and serve in a background thread; ``port=0`` picks a free port.

        ``limits`` (worker threads, connections, socket timeouts) defaults to
        :class:`ServerLimits`' own defaults.
        """
        server = PooledHTTPServer((host, port), _make_handler(self), limits or ServerLimits(),
                                  name="sts-stub")
        thread = threading.Thread(target=server.serve_forever, name=server.name, daemon=True)
        thread.start()
        return RunningSts(server, thread)


def _make_handler(stub: StsStub) -> type[PooledRequestHandler]:
    class Handler(PooledRequestHandler):
        server_version = "localcloud-sts"
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
            # client's delayed ACK adds ~40 ms to every AssumeRole on loopback.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            # Query strings carry signatures and tokens: log nothing of the request.
            return

        def do_GET(self) -> None:  # noqa: N802
            self._serve()

        def do_POST(self) -> None:  # noqa: N802
            self._serve()

        def _send(self, reply: StsReply, raw: bytes | None = None) -> None:
            payload = raw if raw is not None else json.dumps(reply.body).encode("utf-8")
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", JSON_CONTENT_TYPE)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up (e.g. timed out during an injected delay): nothing to do.
                self.close_connection = True

        def _error(self, error: errors.StsError) -> StsReply:
            body = error_body(error, request_id=new_request_id(), host_id=stub.settings.host_id)
            return StsReply(error.status, body)

        def _reset(self) -> None:
            # SO_LINGER with a zero timeout makes close() send a RST: the client sees a reset.
            linger = struct.pack("ii", 1, 0)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            self.connection.close()

        def _serve(self) -> None:
            stub.service.count_call()
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY_BYTES:
                self.close_connection = True
                self._send(
                    self._error(
                        errors.StsError(
                            400, "InvalidParameter", "The request body is too large or malformed."
                        )
                    )
                )
                return
            body = self.rfile.read(length) if length else b""
            fault = stub.faults.next_fault()
            if fault is not None and self._perform(fault):
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            try:
                reply = stub.serve(self.command, self.path, headers, body)
            except Exception:  # the shell's last resort: a generic 500, logged, not leaked
                LOG.exception("STS stub failed on a request")
                reply = self._error(errors.internal_error())
            self._send(reply)

        def _perform(self, fault: Fault) -> bool:
            """Perform ``fault``; True when the request has been fully dealt with."""
            if fault.mode is FaultMode.DELAY:
                time.sleep(fault.delay_seconds)
                return False
            if fault.mode is FaultMode.CONNECTION_RESET:
                self._reset()
                return True
            if fault.mode is FaultMode.SERVER_ERROR:
                self._send(self._error(errors.internal_error(fault.status)))
            elif fault.mode is FaultMode.THROTTLE:
                self._send(self._error(errors.throttled()))
            else:
                truncated = b'{"RequestId": "' + new_request_id().encode() + b'", "Credentials": {'
                self._send(StsReply(200, {}), raw=truncated)
            return True

    return Handler
