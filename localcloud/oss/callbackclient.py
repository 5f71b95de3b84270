"""Deliver an upload callback to the application server, as OSS does after storing.

Owns the HTTP side of the callback: trying each ``callbackUrl`` in order (5 s timeout,
shorter only when a test asks for it),
the ``authorization`` and ``x-oss-pub-key-url`` headers, and judging the answer (200 with
a JSON body = success). Rendering and signing the body belong to
:mod:`localcloud.oss.callback`; this module only sends. No storage.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 5.0
MAX_URLS = 5
MAX_ANSWER_BYTES = 3 * 1024 * 1024
CANNOT_CONNECT = "Error status : -1. OSS can not connect to your callbackUrl, please check it."
NOT_JSON = "Response body is not valid json format."
# The 203 troubleshooting page names this text for an application slower than 5 s; the
# exact punctuation is UNCONFIRMED (written like the other messages, with a full stop).
TOO_SLOW = "Cost too long time."
TOO_LONG = "Error status : 400.User server return too long content-length value"


@dataclass(frozen=True)
class CallbackAnswer:
    """The application's successful answer (its JSON body), or why it failed."""

    body: bytes | None
    failure: str | None = None


def _exchange(
    scheme: str,
    hostname: str,
    port: int | None,
    target: str,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
) -> tuple[int, bytes] | str:
    """POST once; return (status, body) or the failure message OSS would report.

    Connecting is separated from waiting for the answer because OSS words the two
    differently: no connection is ``Error status : -1``, a slow answer ``Cost too long time``.
    """
    conn_type = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_type(hostname, port, timeout=timeout)
    try:
        try:
            conn.connect()
        except (OSError, http.client.HTTPException):
            return CANNOT_CONNECT
        try:
            conn.request("POST", target, body=body, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.read(MAX_ANSWER_BYTES + 1)
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
    timeout: float = TIMEOUT_SECONDS,
) -> CallbackAnswer:
    """Send the callback to each URL until one answers 200 with JSON.

    ``sign`` is called as ``sign(path, query, body) -> str`` with the path as sent (still
    percent-encoded: the signer decodes it once) and returns the Base64 RSA signature for
    the ``authorization`` header. The failure reported is the last URL's.
    """
    failure = CANNOT_CONNECT
    for url in urls[:MAX_URLS]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
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
        outcome = _exchange(parts.scheme, parts.hostname, parts.port, path + query, headers,
                            body, timeout)
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
