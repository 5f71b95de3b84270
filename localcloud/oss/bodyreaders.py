"""The two readers that make a request body safe to stream, and the disconnect they report.

Owns reading a body bounded by ``Content-Length`` and undoing
``Transfer-Encoding: chunked`` (malformed framing is a 400). Both raise
:class:`ClientDisconnected` when the peer goes away early, so a half-received upload is
never mistaken for a short one. No routing, no storage; the HTTP shell builds them.
"""

from __future__ import annotations

from typing import Protocol

from localcloud.oss.errors import OssError


def bad_chunking() -> OssError:
    """Return the 400 for a body whose chunked framing is broken."""
    return OssError(400, "InvalidRequest", "The chunked encoding of the request body is invalid.")


class ClientDisconnected(ConnectionError):
    """The client closed the connection before sending the whole body."""


class RawStream(Protocol):
    """The buffered socket file the shell reads from."""

    def read(self, size: int = -1, /) -> bytes:
        """Read up to ``size`` bytes."""
        ...

    def readline(self, size: int = -1, /) -> bytes:
        """Read one line of at most ``size`` bytes."""
        ...


class LimitedReader:
    """Read exactly ``length`` bytes of a socket file; a short read is a disconnect."""

    def __init__(self, raw: RawStream, length: int) -> None:
        self._raw = raw
        self._remaining = length

    @property
    def remaining(self) -> int:
        """Bytes of the body not yet read."""
        return self._remaining

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes of the body."""
        if self._remaining <= 0:
            return b""
        want = self._remaining if size < 0 else min(size, self._remaining)
        try:
            data = self._raw.read(want)
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise ClientDisconnected("connection lost while reading the body") from exc
        if not data:
            raise ClientDisconnected(f"body ended {self._remaining} bytes early")
        self._remaining -= len(data)
        return data


class ChunkedReader:
    """Undo ``Transfer-Encoding: chunked``; malformed framing is a 400 OssError."""

    _MAX_LINE = 4096

    def __init__(self, raw: RawStream) -> None:
        self._raw = raw
        self._chunk_left = 0
        self._done = False

    @property
    def remaining(self) -> int:
        """Unknown for chunked bodies until the end: 0 once finished, else 1."""
        return 0 if self._done else 1

    def _line(self) -> bytes:
        try:
            line = self._raw.readline(self._MAX_LINE)
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise ClientDisconnected("connection lost while reading the body") from exc
        if not line:
            raise ClientDisconnected("chunked body ended early")
        if not line.endswith(b"\n"):
            raise bad_chunking()
        return line

    def _next_chunk(self) -> None:
        size_text = self._line().split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise bad_chunking() from exc
        if size == 0:
            while self._line() not in (b"\r\n", b"\n"):  # trailers
                pass
            self._done = True
        self._chunk_left = size

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes of the de-chunked body."""
        out = bytearray()
        while not self._done and (size < 0 or len(out) < size):
            if self._chunk_left == 0:
                self._next_chunk()
                if self._done:
                    break
            want = self._chunk_left if size < 0 else min(self._chunk_left, size - len(out))
            try:
                data = self._raw.read(want)
            except (ConnectionError, TimeoutError, OSError) as exc:
                raise ClientDisconnected("connection lost while reading the body") from exc
            if not data:
                raise ClientDisconnected("chunked body ended early")
            out += data
            self._chunk_left -= len(data)
            if self._chunk_left == 0 and self._line().strip():
                raise bad_chunking()
            if size < 0:
                continue
        return bytes(out)
