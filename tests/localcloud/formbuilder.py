"""Test helpers for PostObject: multipart bodies, policies and independent signatures.

Written for the tests only, from the wire format in oss-postobject.md: it shares no
code with the emulator (nor with the project's signer), so a bug cannot hide in
both. Includes a lazily generated body that counts how much of it was read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

BOUNDARY = "----FakeFormBoundary7MA4YWxkTrZu0gW"
# The generated file content: 1 MiB of non-boundary bytes, repeated.
_BLOCK = bytes(range(256)) * 4096


@dataclass(frozen=True)
class Part:
    """One multipart part; ``filename`` makes it a file part."""

    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None


def field(name: str, value: str) -> Part:
    """A text field."""
    return Part(name, value.encode("utf-8"))


def file_part(data: bytes, filename: str = "photo.png", content_type: str | None = "image/png",
              name: str = "file") -> Part:
    """The file part."""
    return Part(name, data, filename, content_type)


def part_head(part: Part, boundary: str = BOUNDARY, *, first: bool = False) -> bytes:
    """Return the delimiter and headers that precede a part's bytes."""
    disposition = f'form-data; name="{part.name}"'
    if part.filename is not None:
        disposition += f'; filename="{part.filename}"'
    lines = [f"Content-Disposition: {disposition}"]
    if part.content_type is not None:
        lines.append(f"Content-Type: {part.content_type}")
    lead = "" if first else "\r\n"
    return (lead + f"--{boundary}\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def closing(boundary: str = BOUNDARY) -> bytes:
    """Return the closing delimiter."""
    return f"\r\n--{boundary}--\r\n".encode("ascii")


def encode(parts: Sequence[Part], boundary: str = BOUNDARY) -> bytes:
    """Encode parts as a multipart/form-data body."""
    out = bytearray()
    for index, part in enumerate(parts):
        out += part_head(part, boundary, first=index == 0)
        out += part.value
    out += closing(boundary)
    return bytes(out)


def content_type(boundary: str = BOUNDARY) -> str:
    """The request Content-Type for :func:`encode` bodies."""
    return f"multipart/form-data; boundary={boundary}"


def policy_b64(doc: Any) -> str:
    """Base64 of the compact JSON policy."""
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode("utf-8")).decode()


def hmac_v4(secret: str, date: str, region: str, string_to_sign: str) -> str:
    """Independent V4 signature chain (hand-rolled, as in the reference §3)."""
    key = ("aliyun_v4" + secret).encode()
    for msg in (date, region, "oss", "aliyun_v4_request"):
        key = hmac.new(key, msg.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def hmac_v1(secret: str, policy: str) -> str:
    """Independent V1 signature: Base64 HMAC-SHA1 over the Base64 policy."""
    digest = hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Signer:
    """Fake credentials and the region/bucket a form is signed for."""

    access_key_id: str
    secret: str
    token: str | None = None
    region: str = "cn-hangzhou"


def v4_form(
    signer: Signer,
    now: datetime,
    bucket: str,
    *,
    key: str = "uploads/photo.png",
    conditions: Iterable[Any] = (),
    extra_fields: Sequence[tuple[str, str]] = (),
    expiration: datetime | None = None,
    omit_conditions: Sequence[str] = (),
    policy_override: str | None = None,
) -> list[Part]:
    """Build the fields of a V4 form (everything but the file), signed correctly.

    ``policy_override`` replaces the Base64 policy text (still signed), to test how
    malformed policies are refused after a valid signature.
    """
    date = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{signer.access_key_id}/{now:%Y%m%d}/{signer.region}/oss/aliyun_v4_request"
    expires = expiration or now + timedelta(hours=1)
    base: list[Any] = [
        {"bucket": bucket},
        {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
        {"x-oss-credential": credential},
        {"x-oss-date": date},
    ]
    if signer.token is not None:
        base.append({"x-oss-security-token": signer.token})
    base = [c for c in base if not (isinstance(c, dict) and set(c) & set(omit_conditions))]
    doc = {
        "expiration": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [*base, *conditions],
    }
    policy = policy_b64(doc) if policy_override is None else policy_override
    parts = [
        field("key", key),
        field("policy", policy),
        field("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        field("x-oss-credential", credential),
        field("x-oss-date", date),
        field("x-oss-signature", hmac_v4(signer.secret, f"{now:%Y%m%d}", signer.region, policy)),
    ]
    if signer.token is not None:
        parts.append(field("x-oss-security-token", signer.token))
    parts.extend(field(name, value) for name, value in extra_fields)
    return parts


class LazyBody:
    """A readable that generates ``size`` file bytes between a prefix and a suffix.

    Nothing is materialised: reads are served from a small repeating block, and
    ``consumed`` counts every byte handed out so a test can prove reading stopped.
    """

    def __init__(self, prefix: bytes, size: int, suffix: bytes) -> None:
        self._prefix = prefix
        self._size = size
        self._suffix = suffix
        self.consumed = 0
        self.total = len(prefix) + size + len(suffix)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.total - self.consumed
        out = bytearray()
        while n > 0 and self.consumed < self.total:
            pos = self.consumed
            if pos < len(self._prefix):
                piece = self._prefix[pos : pos + n]
            elif pos < len(self._prefix) + self._size:
                offset = pos - len(self._prefix)
                take = min(n, self._size - offset, len(_BLOCK) - offset % len(_BLOCK))
                start = offset % len(_BLOCK)
                piece = _BLOCK[start : start + take]
            else:
                offset = pos - len(self._prefix) - self._size
                piece = self._suffix[offset : offset + n]
            out += piece
            self.consumed += len(piece)
            n -= len(piece)
        return bytes(out)


def generated_bytes(size: int) -> Iterable[bytes]:
    """Yield the same bytes :class:`LazyBody` generates, in 1 MiB chunks."""
    remaining = size
    while remaining > 0:
        piece = _BLOCK[: min(remaining, len(_BLOCK))]
        remaining -= len(piece)
        yield piece
