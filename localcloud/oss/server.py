"""The emulator's socket shell: HTTP/1.1 over a pooled server (:mod:`localcloud.serving`).

Owns turning bytes on a socket into a :class:`Request`, calling the application, and
writing its :class:`Response` back (keep-alive, ``Server``, ``Date``, request id). It
never decides anything about OSS: routing, auth and storage live in the application.
Anything the application did not anticipate becomes a generic 500 ``InternalError``
that is logged (without headers or bodies, so no secret can leak) and never a traceback
on the wire.
"""

from __future__ import annotations

import email.errors
import logging
import socket
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any, cast

from localcloud.oss import xmlbody
from localcloud.oss.bodyreaders import ChunkedReader, ClientDisconnected, LimitedReader
from localcloud.oss.errors import OssError, render_error
from localcloud.oss.httpmessages import (
    HEADER_EC,
    HEADER_REQUEST_ID,
    SERVER_NAME,
    Request,
    Response,
    bad_header_section,
    first_unsafe_header,
    header_line,
    new_request_id,
    request_headers,
    wire_target,
)
from localcloud.serving import PooledHTTPServer, PooledRequestHandler, ServerLimits

LOG = logging.getLogger("localcloud.oss")

Handler = Callable[[Request], Response]
Clock = Callable[[], datetime]

# After answering early (e.g. EntityTooLarge), the unread rest of a body is drained up
# to this much so the client can read the answer; beyond it the connection is closed.
_DRAIN_LIMIT = 4 * 1024 * 1024
_HEADER_SECTION_DEFECTS = (email.errors.HeaderDefect, email.errors.MissingHeaderBodySeparatorDefect)
_CHUNK = 64 * 1024


def utc_now() -> datetime:
    """Return the current aware UTC time (the default clock)."""
    return datetime.now(timezone.utc)


class _LineRecorder:
    """Hand lines to http.server's header parser and keep a copy of each, as received."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.lines: list[bytes] = []

    def readline(self, size: int = -1) -> bytes:
        line: bytes = self.raw.readline(size)
        self.lines.append(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def _line_content(line: bytes) -> bytes:
    """Return a header line without its CRLF (or bare LF) terminator."""
    if line.endswith(b"\r\n"):
        return line[:-2]
    return line[:-1] if line.endswith(b"\n") else line


class _OssRequestHandler(PooledRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    sys_version = ""
    _head_lines: list[bytes] = []
    server: OssServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus the
        # client's delayed ACK stalls small responses by ~40 ms on loopback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        # The request line may carry a presigned URL's signature and security token:
        # log the method and path only, never the query.
        method, _, rest = self.requestline.partition(" ")
        LOG.debug("%s %s %s", self.address_string(), method, rest.split("?", 1)[0].split(" ")[0])

    def parse_request(self) -> bool:
        """Parse the request line and headers, keeping the header lines' exact bytes."""
        recorder = _LineRecorder(self.rfile)
        self.rfile = cast(Any, recorder)
        try:
            return super().parse_request()
        finally:
            self.rfile = recorder.raw
            self._head_lines = recorder.lines

    def _handle_any(self) -> None:
        request_id = new_request_id()
        try:
            # A line that is not a header ends http.server's header section early and the
            # rest is silently dropped: refuse rather than act on half a request. (Other
            # defects the email parser reports concern a body it never saw.)
            # A bare CR splits a line for that parser, turning the rest into a header of
            # its own: only the raw lines show it.
            if self.headers.get_payload() or any(
                isinstance(d, _HEADER_SECTION_DEFECTS) for d in self.headers.defects
            ) or any(b"\r" in _line_content(line) for line in self._head_lines):
                raise bad_header_section()
            headers, raw_headers = request_headers(self.headers.items())
        except OssError as error:
            self._send_error(error, request_id, close=True)
            return
        reader: LimitedReader | ChunkedReader
        if "transfer-encoding" in headers and "content-length" in headers:
            # RFC 9112 §6.1 lets a server refuse both (and it must close). OSS's answer is
            # UNCONFIRMED; refusing is the stricter reading: a presigned UploadPart signs
            # Content-Length, and a chunked body of another length would pass under it.
            self._send_error(OssError(400, "InvalidRequest", "Content-Length and "
                                      "Transfer-Encoding must not both be sent."),
                             request_id, close=True)
            return
        if "chunked" in headers.get("transfer-encoding", "").lower():
            reader = ChunkedReader(self.rfile)
            length: int | None = None
        else:
            raw_length = headers.get("content-length", "0").strip() or "0"
            # Two different lengths frame the body two ways (RFC 9112 §6.3: 400, close);
            # only the last would be the one signed.
            lengths = {value.strip() for value in self.headers.get_all("content-length", [])}
            if not raw_length.isdigit() or len(lengths) > 1:
                self._send_error(OssError(400, "InvalidArgument", "Invalid Content-Length."),
                                 request_id, close=True)
                return
            length = int(raw_length)
            reader = LimitedReader(self.rfile, length)
        request = Request(
            method=self.command.upper(),
            target=wire_target(self.path),
            headers=headers,
            body=reader,
            client_ip=self.client_address[0],
            request_id=request_id,
            now=self.server.clock(),
            content_length=length,
            raw_headers=raw_headers,
        )
        try:
            response = self.server.app(request)
        except ClientDisconnected:
            LOG.info("client %s disconnected mid-request %s", request.client_ip, request_id)
            self.close_connection = True
            return
        except Exception:
            LOG.exception("unexpected error in %s %s (request %s)",
                          request.method, request.raw_path, request_id)
            response = None
        if response is None:
            self._send_internal_error(request_id)
            return
        close = not self._drain(reader)
        self._send(response, request_id, close=close)

    def _drain(self, reader: LimitedReader | ChunkedReader) -> bool:
        """Consume what the application left unread; tell whether keep-alive is safe."""
        if isinstance(reader, LimitedReader) and reader.remaining > _DRAIN_LIMIT:
            return False
        drained = 0
        try:
            while reader.remaining > 0 and drained <= _DRAIN_LIMIT:
                data = reader.read(_CHUNK)
                if not data:
                    break
                drained += len(data)
        except (ClientDisconnected, OssError):
            return False
        return reader.remaining <= 0

    def _send_error(self, error: OssError, request_id: str, *, close: bool) -> None:
        body = render_error(error, request_id=request_id, host_id=self.headers.get("Host", ""))
        headers = dict(xmlbody.XML)
        if error.ec:
            headers[HEADER_EC] = error.ec
        self._send(Response(error.status, headers, body), request_id, close=close)

    def _send_internal_error(self, request_id: str) -> None:
        """Answer the generic 500 (what went wrong is logged, never sent) and close."""
        self._send_error(
            OssError(500, "InternalError", "We encountered an internal error. Please try again."),
            request_id,
            close=True,
        )

    def send_header(self, keyword: str, value: str) -> None:
        """Buffer one header line, its value as the exact UTF-8 bytes (never Latin-1).

        http.server encodes header lines as Latin-1: a CJK value raised mid-response
        (the connection dropped) and ``é`` went out as the single byte 0xE9.
        """
        if self.request_version != "HTTP/0.9":
            if not hasattr(self, "_headers_buffer"):
                self._headers_buffer = []
            self._headers_buffer.append(header_line(keyword, value))
        if keyword.lower() == "connection":
            if value.lower() == "close":
                self.close_connection = True
            elif value.lower() == "keep-alive":
                self.close_connection = False

    def _send(self, response: Response, request_id: str, *, close: bool) -> None:
        unsafe = first_unsafe_header(response.headers)
        if unsafe is not None:
            # Nothing stored or echoed may split a response (header injection): answer a
            # logged 500 instead. The log names the header, never its value.
            LOG.error("refusing to send request %s's response: %s", request_id, unsafe)
            closer = getattr(response.body, "close", None)
            if callable(closer):
                closer()
            self._send_internal_error(request_id)
            return
        if close:
            self.close_connection = True
        try:
            self.send_response(response.status)
            self.send_header(HEADER_REQUEST_ID, request_id)
            for name, value in response.headers.items():
                if name.lower() not in ("server", "date", "content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(response.length()))
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                if isinstance(response.body, bytes):
                    self.wfile.write(response.body)
                else:
                    for chunk in response.body:
                        self.wfile.write(chunk)
            self.wfile.flush()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        finally:
            closer = getattr(response.body, "close", None)
            if callable(closer):
                closer()

    def version_string(self) -> str:
        return SERVER_NAME

    def date_time_string(self, timestamp: float | None = None) -> str:
        return formatdate(timestamp, usegmt=True)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_PATCH = _handle_any


#: The emulator's pool: uploads hold a worker while their callback waits (up to 5 s per
#: URL), so it has more workers than the STS stub.
EMULATOR_LIMITS = ServerLimits(workers=64)


class OssServer(PooledHTTPServer):
    """The emulator's pooled HTTP server: its application, clock and limits."""

    # SO_REUSEADDR on Linux lets a restart bind over connections left in TIME_WAIT (the
    # loop closes idle ones itself), yet a port another socket listens on still fails.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: Handler, clock: Clock,
                 limits: ServerLimits) -> None:
        self.app = app
        self.clock = clock
        super().__init__(address, _OssRequestHandler, limits, name="oss-http")
