"""Serve HTTP/1.1 with a fixed pool of handler threads and per-connection socket timeouts.

Owns connection scheduling for the local cloud's two HTTP shells (the OSS emulator's and
the STS stub's). One loop thread accepts connections and holds every waiting one (just
accepted, or kept alive between requests) without a thread until its request has arrived:
the head (request line and headers) and, when ``Content-Length`` announces a small body,
that body too. Only then does one of a fixed number of worker threads take the connection,
read what is left of the body with a timeout on each wait (a large upload that keeps
sending is never cut, however long it takes), answer, and hand the connection back. A
connection whose request does not arrive within the idle timeout is closed by the loop; at
``max_connections`` the loop stops accepting and new clients wait in the listen backlog.
Stalled clients therefore cost a socket each, not a thread; only a stalled large (or
chunked) body holds a worker, for one read timeout.

Knows nothing of HTTP beyond where a request head ends and how long a small body is
(:mod:`localcloud.connections` reads that much of each connection); must not depend on
either shell.
"""

from __future__ import annotations

import io
import logging
import queue
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer

from localcloud.connections import Connection, SocketReader

LOG = logging.getLogger("localcloud.serving")

_RECV_BYTES = 64 * 1024
# After an accept() failure (e.g. out of file descriptors) the listening socket stays
# readable; pausing keeps the loop from spinning on it.
_ACCEPT_PAUSE_SECONDS = 0.1
_HEAD_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                   b"Content-Length: 0\r\nConnection: close\r\n\r\n")


@dataclass(frozen=True)
class ServerLimits:
    """Threads, connections and client deadlines of one server.

    ``idle_timeout`` bounds the wait for a request head and, up to ``max_buffered_body``
    bytes, its body, counted from the accept or from the previous answer (it covers idle
    keep-alive, slow headers and small stalled bodies alike). ``read_timeout`` bounds each
    single wait for the bytes of a larger body and each write of the answer; a client that
    keeps sending or reading is never cut.
    """

    workers: int = 32
    max_connections: int = 256
    idle_timeout: float = 30.0
    read_timeout: float = 30.0
    max_head_bytes: int = 64 * 1024
    max_buffered_body: int = 64 * 1024
    backlog: int = 128

    def __post_init__(self) -> None:
        if self.workers < 1 or self.max_connections < 1 or self.backlog < 1:
            raise ValueError("workers, max_connections and backlog must be at least 1")
        if self.idle_timeout <= 0 or self.read_timeout <= 0 or self.max_head_bytes <= 0:
            raise ValueError("timeouts and max_head_bytes must be positive")
        if self.max_buffered_body < 0:
            raise ValueError("max_buffered_body must not be negative")


class PooledRequestHandler(BaseHTTPRequestHandler):
    """A request handler for :class:`PooledHTTPServer`: one request per turn on a worker."""

    server: PooledHTTPServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self._reader = SocketReader(self.connection, self.server.pending_prefix())
        self._buffered = io.BufferedReader(self._reader, _RECV_BYTES)
        self.rfile = self._buffered
        #: Bytes read beyond this request (a pipelined next one), for the loop to keep.
        self.leftover = b""

    def handle(self) -> None:
        # One request, then the connection goes back to the loop: waiting for the next
        # request must not hold a worker.
        self.close_connection = True
        self.handle_one_request()
        if not self.close_connection:
            self._reader.probing = True
            self.leftover = self._buffered.peek(1)


class PooledHTTPServer(HTTPServer):
    """An HTTP server whose connections share a fixed pool of worker threads.

    ``serve_forever`` runs the loop on the calling thread and starts the workers;
    ``shutdown`` stops both and closes every connection.
    """

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[PooledRequestHandler],
        limits: ServerLimits,
        *,
        name: str,
    ) -> None:
        self.limits = limits
        self.request_queue_size = limits.backlog
        self._handler = handler
        # Made before binding: a failed bind calls server_close(), which closes these.
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._ready: queue.SimpleQueue[Connection | None] = queue.SimpleQueue()
        self._turn = threading.local()
        self._idle: dict[socket.socket, Connection] = {}  # the loop thread's own
        self._accepting = False
        self._accept_paused_until = 0.0
        self._lock = threading.Lock()
        # Guarded by _lock: connections on a worker, connections handed back, the stop.
        self._busy: set[socket.socket] = set()
        self._returned: list[Connection] = []
        self._stopping = False
        self._stop_requested = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()
        self._workers: list[threading.Thread] = []
        super().__init__(address, handler)
        self.name = f"{name}-{self.server_address[1]}"

    @property
    def open_connections(self) -> int:
        """Connections open now: waiting for a request head, queued or being served."""
        with self._lock:
            return len(self._idle) + len(self._busy) + len(self._returned)

    def pending_prefix(self) -> bytes:
        """Return what the loop read of the request this worker is about to handle."""
        prefix: bytes = getattr(self._turn, "prefix", b"")
        return prefix

    # --- the loop ---------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Accept and schedule connections until :meth:`shutdown`."""
        del poll_interval  # the loop wakes on events and deadlines, never by polling
        self._stopped.clear()
        try:
            self.socket.setblocking(False)
            self._selector.register(self._wake_r, selectors.EVENT_READ, None)
            self._workers = [
                threading.Thread(target=self._work, name=f"{self.name}-worker-{index}",
                                 daemon=True)
                for index in range(self.limits.workers)
            ]
            for worker in self._workers:
                worker.start()
            while not self._stop_requested.is_set():
                self._run_once()
        finally:
            self._close_everything()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop the loop and the workers; return once the loop has closed every connection."""
        self._stop_requested.set()
        self._wake()
        self._stopped.wait()

    def server_close(self) -> None:
        """Close the listening socket and the loop's own sockets."""
        super().server_close()
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _run_once(self) -> None:
        timeout = self._expire(time.monotonic())
        self._sync_accepting()
        for key, _ in self._selector.select(timeout):
            if key.fileobj is self.socket:
                self._accept()
            elif key.fileobj is self._wake_r:
                self._drain_wake()
            else:
                self._receive(key.data)
        self._take_returned()

    def _expire(self, now: float) -> float | None:
        """Close connections past their deadline; return the wait until the next one."""
        soonest: float | None = None
        for conn in list(self._idle.values()):
            if conn.deadline <= now:
                self._drop(conn)
            elif soonest is None or conn.deadline < soonest:
                soonest = conn.deadline
        if not self._accepting and self._accept_paused_until > now:
            resume = self._accept_paused_until
            soonest = resume if soonest is None else min(soonest, resume)
        return None if soonest is None else max(0.0, soonest - now)

    def _sync_accepting(self) -> None:
        room = (self.open_connections < self.limits.max_connections
                and time.monotonic() >= self._accept_paused_until)
        if room and not self._accepting:
            self._selector.register(self.socket, selectors.EVENT_READ, None)
        elif not room and self._accepting:
            self._selector.unregister(self.socket)
        self._accepting = room

    def _accept(self) -> None:
        while self.open_connections < self.limits.max_connections:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                LOG.warning("accept failed on %s: %s", self.name, exc)
                self._accept_paused_until = time.monotonic() + _ACCEPT_PAUSE_SECONDS
                return
            sock.setblocking(False)
            conn = Connection(sock, address, time.monotonic() + self.limits.idle_timeout)
            self._idle[sock] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _receive(self, conn: Connection) -> None:
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn)
            return
        if not data:
            self._drop(conn)
            return
        conn.buffer += data
        if conn.complete(self.limits.max_buffered_body):
            self._selector.unregister(conn.sock)
            del self._idle[conn.sock]
            self._dispatch(conn)
        elif conn.wanted is None and len(conn.buffer) > self.limits.max_head_bytes:
            try:
                conn.sock.send(_HEAD_TOO_LARGE)
            except OSError:
                pass
            self._drop(conn)

    def _dispatch(self, conn: Connection) -> None:
        with self._lock:
            self._busy.add(conn.sock)
        self._ready.put(conn)

    def _take_returned(self) -> None:
        with self._lock:
            returned, self._returned = self._returned, []
        for conn in returned:
            if conn.complete(self.limits.max_buffered_body):  # a pipelined request
                self._dispatch(conn)
                continue
            conn.sock.setblocking(False)
            self._idle[conn.sock] = conn
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _drop(self, conn: Connection) -> None:
        if self._idle.pop(conn.sock, None) is not None:
            self._selector.unregister(conn.sock)
        conn.sock.close()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass  # the pipe is full (a wake-up is pending anyway) or already closed

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except OSError:
            pass

    def _close_everything(self) -> None:
        with self._lock:
            self._stopping = True
            returned, self._returned = self._returned, []
            busy = list(self._busy)
        for conn in [*self._idle.values(), *returned]:
            self._drop(conn)
        # Workers blocked reading a body see the end of it and finish at once.
        for sock in busy:
            try:
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass
        for _ in self._workers:
            self._ready.put(None)
        if self._accepting:
            self._selector.unregister(self.socket)
            self._accepting = False
        self._selector.unregister(self._wake_r)

    # --- the workers ------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            conn = self._ready.get()
            if conn is None:
                return
            leftover = self._serve(conn)
            with self._lock:
                self._busy.discard(conn.sock)
                keep = leftover is not None and not self._stopping
                if keep:
                    conn.buffer = bytearray(leftover or b"")
                    conn.wanted = None
                    conn.deadline = time.monotonic() + self.limits.idle_timeout
                    self._returned.append(conn)
            if not keep:
                self.shutdown_request(conn.sock)
            self._wake()

    def _serve(self, conn: Connection) -> bytes | None:
        """Handle one request; return what was read beyond it, or None to close."""
        self._turn.prefix = bytes(conn.buffer)
        try:
            conn.sock.settimeout(self.limits.read_timeout)
            handler = self._handler(conn.sock, conn.address, self)
        except (ConnectionError, TimeoutError) as exc:
            LOG.debug("connection from %s lost: %s", conn.address[0], type(exc).__name__)
            return None
        except Exception:
            LOG.exception("unexpected error serving a connection on %s", self.name)
            return None
        finally:
            self._turn.prefix = b""
        return None if handler.close_connection else handler.leftover
