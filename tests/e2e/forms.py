"""Helpers for e2e tests: talk to the stack over real HTTP with only the standard library."""

from __future__ import annotations

import http.client
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from tests.localcloud.formbuilder import Part, encode, field, file_part
from tests.localcloud.formbuilder import content_type as form_content_type


def multipart(fields: Mapping[str, str], filename: str, data: bytes,
              content_type: str = "application/octet-stream") -> tuple[bytes, str]:
    """Encode a PostObject form: the given fields in order, then ``file`` last."""
    boundary = "----e2e" + secrets.token_hex(8)
    parts = [*(field(name, value) for name, value in fields.items()),
             file_part(data, filename, content_type)]
    return encode(parts, boundary), form_content_type(boundary)


def request(method: str, url: str, body: bytes | None = None,
            headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return (status, lower-cased headers, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        conn.request(method, target, body=body, headers=dict(headers or {}))
        answer = conn.getresponse()
        data = answer.read()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, data
    finally:
        conn.close()


def fetch(url: str) -> tuple[int, str, bytes]:
    """GET ``url`` as a browser's address bar does (redirects followed); return (status,
    Content-Type, body), an error status included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, refused.headers.get("Content-Type", ""), refused.read()


def post_form(url: str, parts: Sequence[Part], headers: Mapping[str, str] | None = None,
              ) -> tuple[int, dict[str, str], bytes]:
    """POST ``parts`` as a PostObject form (multipart/form-data, the form builder's boundary)
    to ``url``, with ``headers`` added; return (status, lower-cased headers, body)."""
    return request("POST", url, encode(parts),
                   {"Content-Type": form_content_type(), **(headers or {})})


def post_json(url: str, document: Any, origin: str | None = None) -> tuple[int, Any]:
    """POST JSON, return (status, decoded JSON)."""
    headers = {"Content-Type": "application/json"}
    if origin:
        headers["Origin"] = origin
    status, _, body = request("POST", url, json.dumps(document).encode(), headers)
    return status, json.loads(body)
