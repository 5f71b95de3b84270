"""Deliver an upload callback to the application server, as OSS does after storing.

Owns the HTTP side of the callback: which URLs may be called at all, trying each allowed
``callbackUrl`` in order within OSS's 5 s (connecting, sending and the whole answer; shorter
only when a test asks for it), the ``authorization`` and ``x-oss-pub-key-url`` headers, and
judging the answer (200 with a JSON body = success), and the emulator's callback key and
limits (:class:`CallbackSigner`), and the answer relayed (:func:`run_callback`, for PostObject and
CompleteMultipartUpload alike). Rendering and signing the body belong to
:mod:`localcloud.oss.callback`; this module only sends. No storage.

The emulator runs next to other loopback services (the STS stub, the function, whatever
else listens on the machine), and a form chooses the URL. So only origins the stack
configured are called; any other URL fails exactly as a URL OSS cannot reach fails, and
nothing connects to it.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from localcloud.oss.callback import CallbackSpec, render_callback_body, sign_callback
from localcloud.oss.errors import callback_failed
from localcloud.oss.httpmessages import Response

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from cryptography.hazmat.primitives.asymmetric import rsa

TIMEOUT_SECONDS = 5.0
MAX_URLS = 5
MAX_ANSWER_BYTES = 3 * 1024 * 1024
CANNOT_CONNECT = "Error status : -1. OSS can not connect to your callbackUrl, please check it."
NOT_JSON = "Response body is not valid json format."
# The 203 troubleshooting page names this text for an application slower than 5 s; the
# exact punctuation is UNCONFIRMED (written like the other messages, with a full stop).
TOO_SLOW = "Cost too long time."
TOO_LONG = "Error status : 400.User server return too long content-length value"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class CallbackSigner:
    """The emulator's own RSA key for callbacks and the URL where its public half is served.

    ``timeout`` is OSS's fixed 5 s; only tests shorten it, to exercise a slow application.
    ``allowed_origins`` are the only origins callbacks may reach (none unless configured).
    """

    private_key: rsa.RSAPrivateKey = field(repr=False)
    pub_key_url: str
    timeout: float = TIMEOUT_SECONDS
    allowed_origins: frozenset[str] = frozenset()


def origin_of(url: str) -> str | None:
    """Return an http(s) URL's origin as ``scheme://host:port``, or None if it has none.

    Scheme and host are lowercased and the default port is written out, so equal origins
    compare equal as text. Names are not resolved: ``localhost`` and ``127.0.0.1`` differ.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{_DEFAULT_PORTS[scheme] if port is None else port}"


def allowed_origins(urls: Iterable[str]) -> frozenset[str]:
    """Return the origins of ``urls`` (paths ignored); ValueError names one that has none."""
    origins = set()
    for url in urls:
        origin = origin_of(url.strip())
        if origin is None:
            raise ValueError(f"not an http(s) callback target: {url!r}")
        origins.add(origin)
    return frozenset(origins)


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each wait cut to what is left before ``deadline``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        self._sock.settimeout(_time_left(self._deadline))
        return self._sock.recv_into(buffer)


class _DeadlineResponse(http.client.HTTPResponse):
    """The application's answer, read within the callback's deadline as a whole.

    A socket timeout alone bounds each wait, so an application dripping a byte at a time
    could hold the upload indefinitely; OSS gives up after 5 s in total.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__(sock, method="POST")
        self.fp.close()
        self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))


def _time_left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:  # settimeout(0) would mean "never wait", not "time is up"
        raise TimeoutError("callback deadline passed")
    return left


@dataclass(frozen=True)
class CallbackAnswer:
    """The application's successful answer (its JSON body), or why it failed."""

    body: bytes | None
    failure: str | None = None


def _exchange(
    url: SplitResult, headers: dict[str, str], body: bytes, timeout: float
) -> tuple[int, bytes] | str:
    """POST once to ``url`` within ``timeout``; return (status, body) or OSS's failure text.

    Connecting is separated from waiting for the answer because OSS words the two
    differently: no connection is ``Error status : -1``, a slow answer ``Cost too long time``.
    """
    deadline = time.monotonic() + timeout
    conn_type = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = conn_type(url.hostname or "", url.port, timeout=timeout)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    try:
        try:
            conn.connect()
        except (OSError, http.client.HTTPException):
            return CANNOT_CONNECT
        try:
            sock = conn.sock
            if sock is None:
                return CANNOT_CONNECT
            sock.settimeout(_time_left(deadline))  # sendall's timeout bounds the whole send
            conn.request("POST", target, body=body, headers=headers)
            answer = _DeadlineResponse(sock, deadline)
            try:
                answer.begin()
                return answer.status, answer.read(MAX_ANSWER_BYTES + 1)
            finally:
                answer.close()
        except TimeoutError:  # socket.timeout is an alias of TimeoutError since 3.10
            return TOO_SLOW
        except (OSError, http.client.HTTPException):
            return CANNOT_CONNECT
    finally:
        conn.close()


def post_callback(
    *,
    urls: list[str],
    host: str | None,
    body: bytes,
    body_type: str,
    pub_key_url: str,
    sign: Callable[[str, str, bytes], str],
    allowed: frozenset[str],
    timeout: float = TIMEOUT_SECONDS,
) -> CallbackAnswer:
    """Send the callback to each allowed URL until one answers 200 with JSON.

    ``allowed`` holds the origins that may be called (see :func:`allowed_origins`); a URL
    of any other origin fails as an unreachable one does, without connecting. ``sign`` is
    called as ``sign(path, query, body) -> str`` with the path as sent (still
    percent-encoded: the signer decodes it once) and returns the Base64 RSA signature for
    the ``authorization`` header. The failure reported is the last URL's.
    """
    failure = CANNOT_CONNECT
    for url in urls[:MAX_URLS]:
        parts = urlsplit(url)
        if origin_of(url) not in allowed or not parts.hostname:
            failure = CANNOT_CONNECT
            continue
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        signature = sign(path, query, body)
        headers = {
            "Host": host or parts.netloc,
            "Content-Type": body_type,
            "Content-Length": str(len(body)),
            "authorization": str(signature),
            "x-oss-pub-key-url": base64.b64encode(pub_key_url.encode("utf-8")).decode("ascii"),
            "User-Agent": "aliyun-oss-callback",
        }
        outcome = _exchange(parts, headers, body, timeout)
        if isinstance(outcome, str):
            failure = outcome
            continue
        status, data = outcome
        if status != 200:
            failure = f"Error status : {status}."
            continue
        if len(data) > MAX_ANSWER_BYTES:
            failure = TOO_LONG
            continue
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            failure = NOT_JSON
            continue
        return CallbackAnswer(body=data)
    return CallbackAnswer(body=None, failure=failure)


def run_callback(spec: CallbackSpec, variables: Mapping[str, str], signer: CallbackSigner,
                 headers: Mapping[str, str]) -> Response:
    """Send the callback ``spec`` describes and answer as OSS does after storing the object.

    The body is ``spec``'s template filled from ``variables``, signed with the emulator's
    key; the application's JSON is relayed with ``headers`` (200), else 203
    ``CallbackFailed`` is raised carrying them (the object stays stored).
    """
    def sign(path: str, query: str, data: bytes) -> str:
        return sign_callback(signer.private_key, path, query, data)

    answer = post_callback(
        urls=list(spec.urls),
        host=spec.host,
        body=render_callback_body(spec, variables),
        body_type=spec.body_type,
        pub_key_url=signer.pub_key_url,
        sign=sign,
        allowed=signer.allowed_origins,
        timeout=signer.timeout,
    )
    if answer.body is None:
        error = callback_failed(answer.failure or "callback failed")
        error.headers.update(headers)
        raise error
    return Response(200, {**headers, "Content-Type": "application/json"}, answer.body)
