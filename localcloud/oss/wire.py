"""The emulator's request and response values, what they may hold, and the body readers.

Owns the plain data the HTTP shell hands to the application and gets back; the byte rules
of those values (a request header is text decoded from the exact bytes received, a stored
header value or an object name holds no control character, a response header is written
as its exact UTF-8 bytes and can never carry CR/LF); and the two readers that make a
request body safe to stream: one bounded by ``Content-Length``, one undoing
``Transfer-Encoding: chunked``. Both raise :class:`ClientDisconnected` when the peer goes
away early, so a half-received upload is never mistaken for a short one.
No routing, no storage.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from localcloud.oss.errors import (
    OssError,
    invalid_metadata_name,
    invalid_object_name,
    invalid_stored_value,
    object_name_empty,
    object_name_leading_slash,
    object_name_not_utf8,
    object_name_too_long,
)

HEADER_REQUEST_ID = "x-oss-request-id"
HEADER_EC = "x-oss-ec"
HEADER_CRC64 = "x-oss-hash-crc64ecma"
SERVER_NAME = "AliyunOSS"
META_PREFIX = "x-oss-meta-"
MAX_KEY_BYTES = 1023
# Request headers whose values an object keeps and sends back on every GET and HEAD.
STORED_REQUEST_HEADERS = (
    "content-type", "cache-control", "content-disposition", "content-encoding",
    "content-language", "expires", "x-oss-storage-class",
)

# RFC 9110 token: what a header name may be made of.
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# EC 0011-00000004: a user-metadata name holds letters, digits and hyphens only (names
# arrive lower-cased: HTTP header names and form field names are case-insensitive).
_META_NAME_RE = re.compile(r"x-oss-meta-[0-9a-z-]+")
# C0 controls and DEL. UNCONFIRMED which of them OSS refuses in a stored value or an
# object name; the stricter reading refuses them all, HTAB included (HTTP would allow a
# tab inside a header value, but nothing a browser upload needs contains one).
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# In an object name OSS accepts the C0 controls U+0001..U+001F: the official Python SDK's
# integration tests store, read and batch-delete a key holding all of them, and the
# ListObjects reference tells clients to ask for encoding-type=url when names hold
# controls XML 1.0 cannot carry. NUL and DEL appear in no such source: refused, the
# stricter reading (UNCONFIRMED).
_NAME_REFUSED_RE = re.compile(r"[\x00\x7f]")
# What may never reach the wire inside a response header value: CR, LF, NUL and the other
# C0 controls except HTAB, and DEL (RFC 9110 field-value).
_UNSAFE_VALUE_BYTES_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


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


def bad_header_section() -> OssError:
    """Return the 400 for a header section that cannot be read line by line.

    A line that is not a header (the rest of the section would be silently lost) or an
    obsolete line folding (a value spanning CR LF). RFC 9112 lets a server refuse both;
    OSS's front end answers 400, its body is UNCONFIRMED (the chunked-framing wording's
    code is reused).
    """
    return OssError(400, "InvalidRequest", "The request header section is malformed.")


def new_request_id() -> str:
    """Return a request id shaped like OSS's: 24 upper-case hex digits."""
    return secrets.token_hex(12).upper()


def wire_target(target: str) -> str:
    """Return the request target with every non-ASCII byte percent-encoded.

    http.server decodes the request line as Latin-1; a client that sends a key's UTF-8
    bytes unescaped means those bytes, so they are put back as ``%XX`` and decoded as UTF-8
    with the rest of the path.
    """
    if target.isascii():
        return target
    try:
        raw = target.encode("latin-1")
    except UnicodeEncodeError:
        raw = target.encode("utf-8")
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def decode_header_value(raw: bytes) -> str:
    """Return a request header value as text: its UTF-8 reading, else its Latin-1 one.

    Browsers and SDKs send non-ASCII values as UTF-8. Bytes that are not UTF-8 keep their
    Latin-1 reading, which is lossless and never fails later; only the stored-value check
    needs to tell the two apart, and it reads :attr:`Request.raw_headers`.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def request_headers(
    items: Iterable[tuple[str, str]],
) -> tuple[dict[str, str], dict[str, bytes]]:
    """Turn http.server's (name, Latin-1 text) pairs into lower-cased text and exact bytes.

    The bytes are the ones received (http.server decoded them as Latin-1, which is
    reversible); trailing whitespace is not part of a field value (RFC 9110). A value
    holding CR or LF can only be an obsolete line folding and is refused.
    """
    text: dict[str, str] = {}
    raw: dict[str, bytes] = {}
    for name, value in items:
        try:
            data = value.encode("latin-1")
        except UnicodeEncodeError:
            data = value.encode("utf-8")
        data = data.rstrip(b" \t")
        if b"\r" in data or b"\n" in data:
            raise bad_header_section()
        key = name.lower()
        raw[key] = data
        text[key] = decode_header_value(data)
    return text, raw


def check_object_name(key: str) -> None:
    """Refuse an object name as OSS does: 400 InvalidObjectName, before anything is stored.

    Documented: UTF-8, 1 to 1023 bytes, not starting with ``/`` or ``\\``. NUL and DEL
    are refused as well (the stricter reading, see ``_NAME_REFUSED_RE``); the other
    control characters are names OSS accepts. A key reaches a response header only
    through :func:`header_line`, which refuses anything that would split it.
    """
    try:
        raw = key.encode("utf-8")
    except UnicodeEncodeError:
        raise object_name_not_utf8() from None
    if not raw:
        raise object_name_empty()
    if len(raw) > MAX_KEY_BYTES:
        raise object_name_too_long()
    if key[0] in "/\\":
        raise object_name_leading_slash()
    if _NAME_REFUSED_RE.search(key):
        raise invalid_object_name()


def check_metadata_name(name: str) -> None:
    """Refuse an ``x-oss-meta-*`` name that is not letters, digits and hyphens."""
    if not _META_NAME_RE.fullmatch(name):
        raise invalid_metadata_name()


def check_stored_value(name: str, value: str) -> None:
    """Refuse a value an object would keep and send back as a header, if it holds a control.

    ``name`` is the header or form field the value came from (lower case).
    """
    if _CONTROL_RE.search(value) or not _is_text(value):
        raise invalid_stored_value(name)


def check_stored_headers(request: Request) -> None:
    """Refuse a write whose stored request headers would not come back byte for byte.

    Every ``x-oss-meta-*`` name and every header an object keeps
    (:data:`STORED_REQUEST_HEADERS`, user metadata) must be UTF-8 without control
    characters; checked on the bytes received, before the body is read.
    """
    for name, value in request.headers.items():
        if name.startswith(META_PREFIX):
            check_metadata_name(name)
        elif name not in STORED_REQUEST_HEADERS:
            continue
        raw = request.raw_headers.get(name)
        if raw is not None:
            try:
                value = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise invalid_stored_value(name) from None
        check_stored_value(name, value)


class UnsafeHeader(ValueError):
    """A response header that cannot be written without breaking the message's framing."""


def header_line(name: str, value: str) -> bytes:
    """Return ``name: value`` CRLF, the value as its exact UTF-8 bytes (never Latin-1).

    Raises :class:`UnsafeHeader` for a name that is not a token or a value holding CR,
    LF, NUL or another control character (HTAB allowed): no stored or echoed value can
    ever split a response. The exception names the header, never its value.
    """
    if not _TOKEN_RE.fullmatch(name):
        raise UnsafeHeader(f"header name {name!r} is not a token")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeHeader(f"the value of {name} is not text") from None
    if _UNSAFE_VALUE_BYTES_RE.search(data):
        raise UnsafeHeader(f"the value of {name} holds a control character")
    return name.encode("ascii") + b": " + data + b"\r\n"


def first_unsafe_header(headers: Mapping[str, str]) -> str | None:
    """Return the first header :func:`header_line` would refuse, described; None if all pass."""
    for name, value in headers.items():
        try:
            header_line(name, value)
        except UnsafeHeader as exc:
            return str(exc)
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    # The header values exactly as received (``headers`` holds their text reading).
    raw_headers: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def raw_path(self) -> str:
        """The undecoded path."""
        return self.target.split("?", 1)[0]

    @property
    def path(self) -> str:
        """The percent-decoded path; bytes that are not UTF-8 become lone surrogates.

        A key that is not UTF-8 must be refused (:func:`check_object_name`), not silently
        turned into U+FFFD and stored under another name.
        """
        return unquote(self.raw_path, errors="surrogateescape")

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
