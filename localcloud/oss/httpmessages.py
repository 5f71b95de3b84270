"""The emulator's request and response values, and the byte rules of their headers.

Owns the plain data the HTTP shell hands to the application and gets back: a request
header is text decoded from the exact bytes received, a response header is written as its
exact UTF-8 bytes and can never carry CR/LF; the request id and target as OSS and the
shell see them. What a stored value or an object name may hold is
:mod:`localcloud.oss.objectnames`'; body readers are :mod:`localcloud.oss.bodyreaders`'.
No routing, no storage.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from localcloud.oss.errors import OssError

HEADER_REQUEST_ID = "x-oss-request-id"
HEADER_EC = "x-oss-ec"
HEADER_CRC64 = "x-oss-hash-crc64ecma"
SERVER_NAME = "AliyunOSS"

# RFC 9110 token: what a header name may be made of.
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What may never reach the wire inside a response header value: CR, LF, NUL and the other
# C0 controls except HTAB, and DEL (RFC 9110 field-value).
_UNSAFE_VALUE_BYTES_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


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

        A key that is not UTF-8 must be refused
        (:func:`localcloud.oss.objectnames.check_object_name`), not silently
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

    def signed(self, bucket: str | None, key: str | None) -> SignedRequest:
        """Return what this request's signature covers, addressed to ``bucket``/``key``."""
        return SignedRequest(
            self.method, bucket, key,
            tuple(parse_qsl(self.query_string, keep_blank_values=True)),
            self.headers, self.query_string,
        )


def require_framed_body(request: Request) -> None:
    """Refuse a body framed neither by Content-Length nor chunked: 411 MissingContentLength.

    Every operation that reads a request body calls this before reading it: PutObject,
    AppendObject, UploadPart, PostObject, the XML bodies (``xmlbody.read_body``), and
    CompleteMultipartUpload and DeleteMultipleObjects before their own checks (reference
    §1.7, "any", S8 411). The shell leaves ``content_length`` None only for a chunked
    body. The message is S3's wording; OSS's is UNCONFIRMED.
    """
    if request.content_length is not None and not request.header("content-length"):
        raise OssError(411, "MissingContentLength", "You must provide the Content-Length header.")


@dataclass(frozen=True)
class SignedRequest:
    """What an object-API signature (V4 or V1, header or presigned URL) covers.

    ``query`` holds the decoded pairs in the order sent; ``raw_query`` the query text as
    received (None: rebuilt from ``query``), so the exact encoding a client signed can be
    honoured; ``headers`` has lower-case names.
    """

    method: str
    bucket: str | None
    key: str | None
    query: Sequence[tuple[str, str]]
    headers: Mapping[str, str]
    raw_query: str | None = None

    @property
    def params(self) -> dict[str, str]:
        """Query parameters by name (the last value of a repeated one wins)."""
        return dict(self.query)


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
