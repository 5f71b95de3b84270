"""The OSS Signature V4 canonical forms: canonical request, string to sign, signing key.

Owns how a request is reduced to the text OSS V4 signs (``OSS4-HMAC-SHA256``): the
canonical URI, the sorted canonical query (also from the query text exactly as sent),
the signed-header rule, the string to sign and the HMAC-SHA256 key chain. Pure string
and hash functions: no HTTP, no clock, no identities, no decisions about validity.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import quote

ALGORITHM = "OSS4-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"  # x-oss-date, ISO 8601 basic
SCOPE_TERMINATOR = "aliyun_v4_request"
SECRET_PREFIX = "aliyun_v4"
PRODUCT = "oss"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
H_AUTHORIZATION = "authorization"
H_CONTENT_SHA256 = "x-oss-content-sha256"
Q_SIGNATURE = "x-oss-signature"


# Text reaching the signature is hashed as the bytes it came from: a lone surrogate stands
# for a byte that was not UTF-8 (see httpmessages.Request.path) and is turned back into that byte,
# so no input can make signing raise.
_BYTES = "surrogateescape"


def _uri_encode(value: str, *, keep_slash: bool = False) -> str:
    return quote(value, safe="/" if keep_slash else "", errors=_BYTES)


def canonical_uri(bucket: str | None, key: str | None) -> str:
    """Return ``/bucket/key`` URI-encoded as the V4 canonical URI (``/`` kept, empty parts out)."""
    uri = "/"
    if bucket:
        uri += bucket + "/"
        if key:
            uri += key
    return _uri_encode(uri, keep_slash=True)


def canonical_query(pairs: Sequence[tuple[str, str]], *, keep_slash: bool = False) -> str:
    """Return the sorted, URI-encoded query (``key`` alone when the value is empty)."""
    encoded = sorted((_uri_encode(k), _uri_encode(v, keep_slash=keep_slash)) for k, v in pairs)
    return "&".join(f"{k}={v}" if v else k for k, v in encoded)


def raw_canonical_query(raw_query: str) -> str:
    """Return the canonical query built from the query text exactly as it was sent.

    The official SDK signs its query in the encoding it sent it (``/`` unescaped in ordinary
    values, ``%2F`` in ``x-oss-credential``), so OSS must accept that form.
    """
    pairs = [item.partition("=") for item in raw_query.split("&") if item]
    kept = sorted((k, v) for k, _, v in pairs if k != Q_SIGNATURE)
    return "&".join(f"{k}={v}" if v else k for k, v in kept)


def _is_signed_header(name: str, additional: Sequence[str]) -> bool:
    return (
        name.startswith("x-oss-") or name in ("content-type", "content-md5") or name in additional
    )


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: Mapping[str, str],
    additional_headers: Sequence[str],
) -> str:
    """Assemble the V4 canonical request from its already-canonical parts."""
    signed = sorted(
        (name.lower(), value.strip())
        for name, value in headers.items()
        if name.lower() != H_AUTHORIZATION and _is_signed_header(name.lower(), additional_headers)
    )
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in signed)
    payload = headers.get(H_CONTENT_SHA256, UNSIGNED_PAYLOAD)
    return "\n".join(
        [method.upper(), uri, query, canonical_headers, ";".join(additional_headers), payload]
    )


def string_to_sign(request_time: str, scope: str, canonical: str) -> str:
    """Wrap the canonical request's SHA-256 into the V4 string to sign."""
    digest = hashlib.sha256(canonical.encode("utf-8", _BYTES)).hexdigest()
    return f"{ALGORITHM}\n{request_time}\n{scope}\n{digest}"


def signing_key(secret: str, date: str, region: str, product: str) -> bytes:
    """Derive the V4 signing key: HMAC chain over date, region, product, terminator."""
    key = (SECRET_PREFIX + secret).encode("utf-8")
    for part in (date, region, product, SCOPE_TERMINATOR):
        key = hmac.new(key, part.encode("utf-8", _BYTES), hashlib.sha256).digest()
    return key


def sign(key: bytes, text: str) -> str:
    """Return the lowercase-hex HMAC-SHA256 of ``text``."""
    return hmac.new(key, text.encode("utf-8", _BYTES), hashlib.sha256).hexdigest()
