"""The emulator's request and response values, and the request-body readers.

Owns the plain data the HTTP shell hands to the application and gets back, and the two
readers that make a request body safe to stream: one bounded by ``Content-Length``, one
undoing ``Transfer-Encoding: chunked``. Both raise :class:`ClientDisconnected` when the
peer goes away early, so a half-received upload is never mistaken for a short one.
No routing, no storage.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from localcloud.oss.errors import OssError

HEADER_REQUEST_ID = "x-oss-request-id"
HEADER_EC = "x-oss-ec"
HEADER_CRC64 = "x-oss-hash-crc64ecma"
SERVER_NAME = "AliyunOSS"


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


class BodyReader(Protocol):
    """What the application may do with a request body."""

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all remaining when negative); b"" at the end."""
        ...


def new_request_id() -> str:
    """Return a request id shaped like OSS's: 24 upper-case hex digits."""
    return secrets.token_hex(12).upper()


@dataclass
class Request:
    """One HTTP request as the application sees it (headers keyed in lower case)."""

    method: str
    target: str  # raw request target: path and query, undecoded
    headers: Mapping[str, str]
    body: BodyReader
    client_ip: str
    request_id: str
    now: datetime
    content_length: int | None = None

    @property
    def raw_path(self) -> str:
        """The undecoded path."""
        return self.target.split("?", 1)[0]

    @property
    def path(self) -> str:
        """The percent-decoded path."""
        return unquote(self.raw_path)

    @property
    def query_string(self) -> str:
        """The undecoded query string, without ``?``."""
        return self.target.split("?", 1)[1] if "?" in self.target else ""

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (first value wins; bare names map to "")."""
        result: dict[str, str] = {}
        for name, value in parse_qsl(self.query_string, keep_blank_values=True):
            result.setdefault(name, value)
        return result

    def header(self, name: str, default: str = "") -> str:
        """Return a header value by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    """An answer: status, headers and either bytes or an iterable of chunks of known length."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    content_length: int | None = None

    def length(self) -> int:
        """Return the body length the shell announces (a HEAD announces the GET's)."""
        if self.content_length is not None:
            return self.content_length
        return len(self.body) if isinstance(self.body, bytes) else 0


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
