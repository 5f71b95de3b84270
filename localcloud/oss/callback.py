"""The upload callback's pure pieces: parse the ``callback`` field, fill its body, sign it.

Owns oss-postobject.md §10: the Base64 JSON callback configuration (PostObject's
``callback`` form field, CompleteMultipartUpload's ``x-oss-callback`` header:
``callbackUrl``/``callbackHost``/``callbackBody``/``callbackBodyType``/``callbackSNI``),
``${…}`` substitution (form-urlencoded or JSON), and the MD5withRSA signature OSS
puts in ``authorization`` with ``x-oss-pub-key-url``. Sending the HTTP request and
relaying the answer are :mod:`localcloud.oss.callbackclient`'s. Must not depend on sockets
or the clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from localcloud.oss.errors import OssError, callback_failed, invalid_callback

KEY_URL = "callbackUrl"
KEY_HOST = "callbackHost"
KEY_BODY = "callbackBody"
KEY_BODY_TYPE = "callbackBodyType"
KEY_SNI = "callbackSNI"
BODY_TYPE_FORM = "application/x-www-form-urlencoded"
BODY_TYPE_JSON = "application/json"
HEADER_AUTHORIZATION = "authorization"
HEADER_PUB_KEY_URL = "x-oss-pub-key-url"
MAX_URLS = 5
SYSTEM_VARIABLES = frozenset(
    {
        "bucket", "object", "etag", "size", "mimeType", "crc64", "contentMd5",
        "imageInfo.height", "imageInfo.width", "imageInfo.format",
        "vpcId", "clientIp", "reqId", "operation",
    }
)
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class CallbackSpec:
    """A validated callback request; ``urls`` is empty when ``callbackUrl`` was empty."""

    urls: tuple[str, ...]
    host: str | None
    body: str
    body_type: str
    sni: bool


def _bad(reason: str) -> OssError:
    # OSS answers every malformed callback with the same wording (§8.2); ``reason``
    # only documents, at the call site, which rule was broken.
    del reason
    return invalid_callback()


def _check_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _bad(f"bad callbackUrl {url!r}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(f"bad callbackUrl {url!r}")
    if port is not None and not 0 < port < 65536:
        raise _bad(f"bad port in {url!r}")


def _check_placeholders(body: str) -> None:
    if body.count("${") != len(_PLACEHOLDER.findall(body)):
        raise _bad("unterminated ${")
    for name in _PLACEHOLDER.findall(body):
        if name not in SYSTEM_VARIABLES and not (name.startswith("x:") and len(name) > 2):
            raise _bad(f"unknown variable ${{{name}}}")


def _parse_sni(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad("callbackSNI must be true or false")


def parse_callback(field_value: str) -> CallbackSpec:
    """Decode and validate the ``callback`` form field (400 InvalidArgument if bad)."""
    try:
        text = base64.b64decode(field_value.encode("ascii"), validate=True).decode("utf-8")
        doc = json.loads(text)
    except (binascii.Error, UnicodeError, ValueError, RecursionError) as exc:
        raise invalid_callback() from exc
    if not isinstance(doc, dict):
        raise _bad("not an object")
    raw_url = doc.get(KEY_URL)
    if not isinstance(raw_url, str):
        raise _bad("callbackUrl missing")
    urls = tuple(u.strip() for u in raw_url.split(";") if u.strip())
    if len(urls) > MAX_URLS:
        raise _bad("too many callback URLs")
    for url in urls:
        _check_url(url)
    host = doc.get(KEY_HOST)
    if host is not None and (not isinstance(host, str) or not host):
        raise _bad("bad callbackHost")
    body = doc.get(KEY_BODY)
    if not isinstance(body, str) or not body:
        raise _bad("callbackBody missing or empty")
    _check_placeholders(body)
    body_type = doc.get(KEY_BODY_TYPE, BODY_TYPE_FORM)
    if body_type not in (BODY_TYPE_FORM, BODY_TYPE_JSON):
        raise _bad("bad callbackBodyType")
    sni = _parse_sni(doc.get(KEY_SNI, False))
    return CallbackSpec(urls=urls, host=host, body=body, body_type=body_type, sni=sni)


def render_callback_body(spec: CallbackSpec, variables: Mapping[str, str]) -> bytes:
    """Substitute ``${name}`` (system variables and ``x:`` fields) into the body.

    Form bodies get URL-encoded values (the doc's ``mimeType=text%2Fplain``). JSON bodies
    get each value as a JSON string: the docs write ``{"bucket":${bucket}}`` and let OSS
    supply the quotes; a placeholder inside a string literal (``"v=${x:a}"``) gets only
    the escaped text. Unknown or absent variables become empty (as OSS does for image
    fields of non-images).
    """
    body = spec.body
    if spec.body_type == BODY_TYPE_FORM:
        rendered = _PLACEHOLDER.sub(lambda m: quote(variables.get(m.group(1), ""), safe=""), body)
        return rendered.encode("utf-8")
    out: list[str] = []
    last = 0
    in_string = False
    for match in _PLACEHOLDER.finditer(body):
        start, end = match.span()
        literal = body[last:start]
        in_string = _string_state_after(literal, in_string)
        encoded = json.dumps(variables.get(match.group(1), ""), ensure_ascii=False)
        out.append(literal)
        out.append(encoded[1:-1] if in_string else encoded)
        last = end
    out.append(body[last:])
    return "".join(out).encode("utf-8")


def _string_state_after(text: str, in_string: bool) -> bool:
    """Tell whether a JSON template is inside a string literal after ``text``."""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
    return in_string


def string_to_sign(path: str, query: str, body: bytes) -> bytes:
    """Build OSS's callback sign string: decoded path, ``?query`` if any, newline, body."""
    if query and not query.startswith("?"):
        query = "?" + query
    return (unquote(path) + query + "\n").encode("utf-8") + body


def sign_callback(private_key: rsa.RSAPrivateKey, path: str, query: str, body: bytes) -> str:
    """Return the Base64 MD5withRSA signature OSS sends in ``authorization``."""
    signature = private_key.sign(string_to_sign(path, query, body), padding.PKCS1v15(),
                                 hashes.MD5())
    return base64.b64encode(signature).decode("ascii")


def verify_callback(public_key_pem: bytes, path: str, query: str, body: bytes,
                    authorization: str) -> bool:
    """Check a callback signature the way an application server does (tests use it)."""
    key = serialization.load_pem_public_key(public_key_pem)
    if not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(base64.b64decode(authorization), string_to_sign(path, query, body),
                   padding.PKCS1v15(), hashes.MD5())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def pub_key_url_header(url: str) -> str:
    """Encode the public-key URL for ``x-oss-pub-key-url`` (Base64 of the URL)."""
    return base64.b64encode(url.encode("utf-8")).decode("ascii")


def callback_failed_error(detail: str) -> OssError:
    """Report a failed callback: 203 CallbackFailed, the object stays stored."""
    return callback_failed(detail)
