"""A wide-area link on loopback for ``make bench``: delay and throughput caps in user space.

This machine's kernel has no ``netem``, so the link is a TCP proxy. Each byte a connection
carries waits, in each direction, for its connection's throughput cap (what one TCP stream
gets over a long, lossy path) and for the link's aggregate cap (the access link, shared by
every connection in that direction), then arrives one one-way delay (RTT / 2) later. A new
connection costs one RTT before its first byte moves (the TCP handshake). Buffers are
unbounded: the caps, not flow control, set the pace.

    link = WanLink(rtt_s=0.040, connection_bytes_per_s=8e6, link_bytes_per_s=40e6)
    proxy = link.proxy("127.0.0.1", 9000)   # listens on 127.0.0.1:proxy.port
    ...
    link.close()

Measures nothing itself; ``bench/wan_upload.py`` drives uploads through it.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from dataclasses import dataclass, field

#: Bytes read per step: 8 ms at 8 MB/s, smooth enough, and few enough steps for Python.
CHUNK = 64 * 1024


class TokenBucket:
    """A pacing meter: ``take(n)`` returns once ``n`` more bytes fit under ``rate`` B/s.

    Callers share the debt, so concurrent takers are paced together (the aggregate cap).
    Up to ``burst`` bytes (default: 25 ms at ``rate``) may pass at once after an idle
    period, so a thread woken late by a busy scheduler catches up instead of losing rate.
    """

    def __init__(self, rate: float, burst: int | None = None) -> None:
        self.rate = rate
        self.burst: int = burst if burst is not None else max(4 * CHUNK, int(rate * 0.025))
        self._tokens = float(self.burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: int) -> None:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            time.sleep(wait)


@dataclass
class WanLink:
    """The link's settings and its two aggregate meters (up: client→server, down)."""

    rtt_s: float = 0.040
    connection_bytes_per_s: float = 8e6
    link_bytes_per_s: float = 40e6
    proxies: list[WanProxy] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.up = TokenBucket(self.link_bytes_per_s)
        self.down = TokenBucket(self.link_bytes_per_s)

    def proxy(self, host: str, port: int) -> WanProxy:
        """Start a proxy to ``host:port`` on 127.0.0.1 (port 0: the kernel picks)."""
        started = WanProxy(self, (host, port))
        self.proxies.append(started)
        return started

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.close()


class WanProxy:
    """One listening socket; each accepted connection is relayed to ``target`` over the link."""

    def __init__(self, link: WanLink, target: tuple[str, int]) -> None:
        self.link = link
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, name="wan-accept", daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        time.sleep(self.link.rtt_s)  # the handshake's round trip
        try:
            server = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rate = self.link.connection_bytes_per_s
        back = threading.Thread(target=self._pump, daemon=True,
                                args=(server, client, TokenBucket(rate), self.link.down))
        back.start()
        self._pump(client, server, TokenBucket(rate), self.link.up)
        back.join()
        client.close()
        server.close()

    def _pump(self, src: socket.socket, dst: socket.socket, own: TokenBucket,
              shared: TokenBucket) -> None:
        """Carry ``src``'s bytes to ``dst``: paced by both meters, then one one-way delay later."""
        due: queue.Queue[tuple[float, bytes]] = queue.Queue()
        delay = self.link.rtt_s / 2

        def deliver() -> None:
            while True:
                at, data = due.get()
                if not data:
                    break
                pause = at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                try:
                    dst.sendall(data)
                except OSError:
                    break
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        writer = threading.Thread(target=deliver, daemon=True)
        writer.start()
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                own.take(len(data))
                shared.take(len(data))
                due.put((time.monotonic() + delay, data))
        except OSError:
            pass
        due.put((0.0, b""))
        writer.join()
        try:
            src.shutdown(socket.SHUT_RD)
        except OSError:
            pass
