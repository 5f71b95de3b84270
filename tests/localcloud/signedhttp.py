"""Raw OSS requests over real HTTP, V4-signed by the official SDK's signer (or unsigned).

The SDK is used only to sign: the request line, query and headers are written exactly as
given, so a test controls what reaches the emulator byte for byte. :func:`exchange` goes
further down: request bytes as given on a bare socket, the answer parsed by hand.
"""

from __future__ import annotations

import base64
import http.client
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote
from xml.etree import ElementTree

from alibabacloud_oss_v2.credentials import StaticCredentialsProvider
from alibabacloud_oss_v2.signer import SignerV4
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from localcloud.identity import Principal

_CODE = re.compile(rb"<Code>([^<]*)</Code>")


@dataclass(frozen=True)
class Answer:
    """What came back: status, lower-cased headers, body, and the OSS error Code if any."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def code(self) -> str:
        """The error document's Code (from the body, or ``x-oss-err`` on HEAD), or ""."""
        document = self.body
        if not document and "x-oss-err" in self.headers:
            document = base64.b64decode(self.headers["x-oss-err"])
        found = _CODE.search(document)
        return found.group(1).decode() if found else ""


def error_fields(body: bytes) -> dict[str, str]:
    """Return an OSS error document's fields by element name (Code, Message, EC, ...)."""
    return {child.tag: child.text or "" for child in ElementTree.fromstring(body)}


def error_of(body: bytes) -> tuple[str, str, str | None]:
    """Return an OSS error document's Code, Message and EC (None when it has none)."""
    fields = error_fields(body)
    return fields.get("Code", ""), fields.get("Message", ""), fields.get("EC")


def query_string(query: Mapping[str, str]) -> str:
    """``a&b=1``: a valueless subresource without ``=``, values percent-encoded."""
    return "&".join(name if value == "" else f"{quote(name, safe='')}={quote(value, safe='')}"
                    for name, value in query.items())


@dataclass(frozen=True)
class Call:
    """One request to send; ``key`` "" addresses the bucket, ``bucket`` "" the service."""

    method: str
    bucket: str
    key: str = ""
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def target(self) -> str:
        """The request target, path-style."""
        path = "/"
        if self.bucket:
            path += self.bucket + "/" + quote(self.key, safe="/")
        qs = query_string(self.query)
        return path + ("?" + qs if qs else "")


def sign(call: Call, principal: Principal, host: str) -> dict[str, str]:
    """Return the call's headers plus the SDK's V4 ``Authorization`` for ``principal``."""
    headers = {"Host": host, **call.headers}
    request = HttpRequest(call.method, f"http://{host}{call.target}", headers=headers)
    context = SigningContext(
        product="oss",
        region="cn-hangzhou",
        bucket=call.bucket or None,
        key=call.key or None,
        request=request,
        credentials=StaticCredentialsProvider(
            principal.access_key_id, principal.access_key_secret, principal.security_token
        ).get_credentials(),
    )
    SignerV4().sign(context)
    return dict(request.headers)


def send(port: int, call: Call, principal: Principal | None = None) -> Answer:
    """Send ``call`` to the emulator on ``port``, signed by ``principal`` (None: anonymous)."""
    host = f"127.0.0.1:{port}"
    headers = sign(call, principal, host) if principal else {"Host": host, **call.headers}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(call.method, call.target, body=call.body or None, headers=headers)
        answer = conn.getresponse()
        body = answer.read()
        return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
    finally:
        conn.close()


def exchange(port: int, raw: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Send ``raw`` (a whole request, ``Connection: close``) to 127.0.0.1:``port`` on a bare
    socket and read to the end; return the status, the header lines as (lower-cased name,
    value) pairs in order, and the body as it came."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    pairs = [line.partition(b":") for line in lines[1:]]
    return int(lines[0].split()[1]), [(n.strip().lower(), v.strip()) for n, _, v in pairs], body


def send_framed(port: int, call: Call, principal: Principal, framing: Sequence[str],
                body: bytes) -> Answer:
    """Send ``call`` signed by ``principal`` with the body framed only by the ``framing``
    header lines given (none, ``Content-Length: n`` twice, ``Transfer-Encoding: chunked``
    …) and ``body`` written as is; ``call.body`` is ignored."""
    host = f"127.0.0.1:{port}"
    headers = sign(Call(call.method, call.bucket, call.key, call.query, call.headers), principal,
                   host)
    lines = [f"{call.method} {call.target} HTTP/1.1", *(f"{n}: {v}" for n, v in headers.items()),
             *framing, "Connection: close"]
    status, pairs, rest = exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return Answer(status, {n.decode(): v.decode() for n, v in pairs}, rest)
