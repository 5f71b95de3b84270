"""Streaming ``multipart/form-data`` reader for PostObject bodies.

Owns the wire format only: finding boundaries across read edges, part headers
(``Content-Disposition`` name/filename, ``Content-Type``), truncation and the raw-body
MD5 used for ``Content-MD5``. It never holds more than about two read chunks, so
memory stays flat whatever the file size. What the fields *mean* (order, limits
on values, which part is the file) is decided by :mod:`localcloud.oss.postobject`.
Must not depend on signatures, policies or storage.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote

from localcloud.oss.postobject import errors

CHUNK_SIZE = 1024 * 1024
_HEADER_SLACK = 16 * 1024  # room for Content-Disposition syntax and Content-Type lines
_MAX_EPILOGUE = 1024 * 1024  # bytes tolerated after the closing boundary
_BOUNDARY_RE = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$")  # RFC 2046 bchars


@dataclass(frozen=True)
class PartHeaders:
    """What a part declares about itself."""

    name: str
    filename: str | None
    content_type: str | None


def boundary_from_content_type(content_type: str | None) -> bytes:
    """Return the boundary of a ``multipart/form-data`` Content-Type, else refuse."""
    if not content_type:
        raise errors.not_multipart()
    media, params = _split_params(content_type)
    if media.lower() != "multipart/form-data":
        raise errors.not_multipart()
    boundary = params.get("boundary")
    if boundary is None or not _BOUNDARY_RE.match(boundary) or boundary.endswith(" "):
        raise errors.not_multipart()
    return boundary.encode("ascii")


def _split_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``type; a=1; b="x;y"`` into the first token and lower-cased parameters."""
    items: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    params: dict[str, str] = {}
    for item in items[1:]:
        key, sep, val = item.partition("=")
        if sep:
            params[key.strip().lower()] = val.strip()
    return items[0].strip(), params


def _parse_headers(block: bytes) -> PartHeaders:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("latin-1")
    disposition: str | None = None
    content_type: str | None = None
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            raise errors.malformed()
        lname = name.strip().lower()
        if lname == "content-disposition":
            disposition = value.strip()
        elif lname == "content-type":
            content_type = value.strip()
    if disposition is None:
        raise errors.malformed()
    kind, params = _split_params(disposition)
    if kind.lower() != "form-data" or "name" not in params:
        raise errors.malformed()
    filename = params.get("filename")
    extended = params.get("filename*")
    if extended is not None and "''" in extended:
        charset, _, encoded = extended.partition("''")
        try:
            filename = unquote(encoded, encoding=charset or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError) as exc:
            raise errors.malformed() from exc
    return PartHeaders(name=params["name"], filename=filename, content_type=content_type)


class MultipartReader:
    """Pull parts from a raw body, reading at most ``content_length`` bytes.

    Call :meth:`next_part` to get the next part's headers (``None`` after the closing
    boundary), then consume its body with :meth:`iter_body` before asking for the
    next one. A body that ends early is MalformedPOSTRequest, never a hang.
    """

    def __init__(
        self,
        stream: BinaryIO,
        boundary: bytes,
        content_length: int | None,
        *,
        max_name_bytes: int,
        compute_md5: bool = False,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._stream = stream
        self._remaining = content_length
        self._delim = b"\r\n--" + boundary
        # The first boundary has no preceding CRLF; pretend it had one.
        self._buf = bytearray(b"\r\n")
        self._eof = False
        self._done = False
        self._in_body = False
        self._max_name = max_name_bytes
        self._chunk = chunk_size
        self._md5 = hashlib.md5() if compute_md5 else None
        self.bytes_read = 0
        self._skip_preamble()

    # -- raw input -------------------------------------------------------------
    def _fill(self) -> bool:
        """Read one more chunk into the buffer; False when the body has ended."""
        if self._eof:
            return False
        want = self._chunk
        if self._remaining is not None:
            want = min(want, self._remaining)
            if want == 0:
                self._eof = True
                return False
        data = self._stream.read(want)
        if not data:
            self._eof = True
            return False
        if self._remaining is not None:
            self._remaining -= len(data)
        self.bytes_read += len(data)
        if self._md5 is not None:
            self._md5.update(data)
        self._buf += data
        return True

    def _need(self, count: int) -> None:
        while len(self._buf) < count:
            if not self._fill():
                raise errors.malformed(ec="0006-00000107")

    def _skip_preamble(self) -> None:
        while True:
            index = self._buf.find(self._delim)
            if index >= 0:
                del self._buf[: index + len(self._delim)]
                return
            if len(self._buf) > _MAX_EPILOGUE:
                raise errors.malformed()
            if not self._fill():
                raise errors.malformed()

    # -- parts -----------------------------------------------------------------
    def next_part(self) -> PartHeaders | None:
        """Read the headers of the next part, or return None at the closing boundary."""
        if self._in_body:
            for _ in self.iter_body():
                pass
        if self._done:
            return None
        self._need(2)
        if self._buf[:2] == b"--":
            self._done = True
            return None
        # Transport padding (spaces/tabs) may follow a boundary before its CRLF.
        while True:
            self._need(1)
            if self._buf[0] not in b" \t":
                break
            del self._buf[0]
        self._need(2)
        if self._buf[:2] != b"\r\n":
            raise errors.malformed()
        limit = self._max_name + _HEADER_SLACK
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._buf) > limit:
                raise errors.field_name_too_long()
            if not self._fill():
                raise errors.malformed(ec="0006-00000107")
        if end > limit:
            raise errors.field_name_too_long()
        block = bytes(self._buf[2:end])
        del self._buf[: end + 4]
        if not block:
            raise errors.malformed()
        headers = _parse_headers(block)
        if len(headers.name.encode("utf-8")) > self._max_name:
            raise errors.field_name_too_long()
        self._in_body = True
        return headers

    def iter_body(self) -> Iterator[bytes]:
        """Yield the current part's bytes in chunks until its closing boundary."""
        if not self._in_body:
            return
        keep = len(self._delim) - 1
        while True:
            index = self._buf.find(self._delim)
            if index >= 0:
                if index:
                    yield bytes(self._buf[:index])
                del self._buf[: index + len(self._delim)]
                self._in_body = False
                return
            if len(self._buf) > keep:
                cut = len(self._buf) - keep
                chunk = bytes(self._buf[:cut])
                del self._buf[:cut]
                yield chunk
            if not self._fill():
                raise errors.malformed(ec="0006-00000107")

    def finish(self) -> None:
        """Consume everything after the closing boundary (bounded) and stop."""
        if not self._done:
            while self.next_part() is not None:
                pass
        total = len(self._buf)
        self._buf.clear()
        while self._fill():
            total += len(self._buf)
            self._buf.clear()
            if total > _MAX_EPILOGUE:
                raise errors.malformed()

    def body_md5(self) -> bytes:
        """Return the MD5 of every byte read so far (call after :meth:`finish`)."""
        if self._md5 is None:
            raise ValueError("MD5 not requested")
        return self._md5.digest()
