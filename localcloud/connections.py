"""One client connection of a pooled server, as its loop and its workers see it.

Owns what the loop (:class:`localcloud.serving.PooledHTTPServer`) has read of a
connection's next request and when that is enough to hand it to a worker: the head
(request line and headers) and, when ``Content-Length`` announces a small body, that body
too; and the reader that gives the worker those bytes first, then the socket's. Knows
nothing of HTTP beyond where a request head ends and how long a small body is.
"""

from __future__ import annotations

import io
import re
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

HEAD_END = re.compile(rb"\r?\n\r?\n")
LINE_END = re.compile(rb"\r?\n")


class Connection:
    """One client connection and what the loop has read of its next request."""

    __slots__ = ("address", "buffer", "deadline", "sock", "wanted")

    def __init__(self, sock: socket.socket, address: tuple[str, int], deadline: float) -> None:
        self.sock = sock
        self.address = address
        self.buffer = bytearray()
        self.deadline = deadline
        #: Bytes of the request to hold before a worker takes it; None until the head ends.
        self.wanted: int | None = None

    def complete(self, max_body: int) -> bool:
        """Tell whether enough of the request is here to hand it to a worker."""
        if self.wanted is None:
            head = HEAD_END.search(self.buffer)
            if head is None:
                return False
            self.wanted = head.end() + small_body_length(self.buffer[:head.start()], max_body)
        return len(self.buffer) >= self.wanted


def small_body_length(head: bytes | bytearray, max_body: int) -> int:
    """Return the body length to wait for: a ``Content-Length`` up to ``max_body``, else 0.

    Only decides when a worker takes the request; the handler parses the request itself.
    A chunked body, ``Expect: 100-continue`` (the client waits for the server first) or
    anything unclear is left to the worker.
    """
    lengths: list[bytes] = []
    for line in LINE_END.split(bytes(head))[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name = name.strip().lower()
        if name in (b"transfer-encoding", b"expect"):
            return 0
        if name == b"content-length":
            lengths.append(value.strip())
    if len(lengths) != 1 or not lengths[0].isdigit() or len(lengths[0]) > 12:
        return 0
    length = int(lengths[0])
    return length if length <= max_body else 0


class SocketReader(io.RawIOBase):
    """The connection's bytes: first what the loop already read, then the socket's."""

    def __init__(self, sock: socket.socket, prefix: bytes) -> None:
        super().__init__()
        self._sock = sock
        self._prefix = memoryview(prefix)
        #: When set, a read that would wait for the socket returns None instead.
        self.probing = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int | None:
        target = memoryview(buffer).cast("B")
        if self._prefix:
            count = min(len(target), len(self._prefix))
            target[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        if self.probing:
            return None
        return self._sock.recv_into(target)
