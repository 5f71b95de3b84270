"""Deliver an upload callback to the application server, as OSS does after storing.

Owns the HTTP side of the callback: trying each ``callbackUrl`` in order (5 s timeout),
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
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 5.0
MAX_URLS = 5
MAX_ANSWER_BYTES = 3 * 1024 * 1024
CANNOT_CONNECT = "Error status : -1. OSS can not connect to your callbackUrl, please check it."
NOT_JSON = "Response body is not valid json format."


@dataclass(frozen=True)
class CallbackAnswer:
    """The application's successful answer (its JSON body), or why it failed."""

    body: bytes | None
    failure: str | None = None


def post_callback(
    *,
    urls: list[str],
    host: str | None,
    body: bytes,
    body_type: str,
    pub_key_url: str,
    sign: Callable[[str, str, bytes], str],
) -> CallbackAnswer:
    """Send the callback to each URL until one answers 200 with JSON.

    ``sign`` is called as ``sign(path, query, body) -> str`` and returns the Base64
    RSA signature for the ``authorization`` header.
    """
    failure = CANNOT_CONNECT
    for url in urls[:MAX_URLS]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            failure = CANNOT_CONNECT
            continue
        path = parts.path or "/"
        query = f"?{parts.query}" if parts.query else ""
        signature = sign(unquote(path), query, body)
        headers = {
            "Host": host or parts.netloc,
            "Content-Type": body_type,
            "Content-Length": str(len(body)),
            "authorization": str(signature),
            "x-oss-pub-key-url": base64.b64encode(pub_key_url.encode("utf-8")).decode("ascii"),
            "User-Agent": "aliyun-oss-callback",
        }
        conn_type = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        try:
            conn = conn_type(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
            try:
                conn.request("POST", path + query, body=body, headers=headers)
                answer = conn.getresponse()
                data = answer.read(MAX_ANSWER_BYTES + 1)
            finally:
                conn.close()
        except (OSError, http.client.HTTPException):
            failure = CANNOT_CONNECT
            continue
        if answer.status != 200:
            failure = f"Error status : {answer.status}."
            continue
        if len(data) > MAX_ANSWER_BYTES:
            failure = "Error status : 400.User server return too long content-length value"
            continue
        try:
            json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            failure = NOT_JSON
            continue
        return CallbackAnswer(body=data)
    return CallbackAnswer(body=None, failure=failure)
