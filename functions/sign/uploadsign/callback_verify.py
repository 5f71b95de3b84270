"""Verify that a ``POST /callback`` really comes from OSS (oss-postobject.md §10.3).

In order: Base64-decode ``x-oss-pub-key-url``; refuse unless it starts with an allowed
prefix — *before* anything is fetched, so the header cannot make the function call an
arbitrary URL; fetch the PEM key (short timeout) and cache it per URL; build
``sign_str = decoded path + "?query" (if any) + LF + body``; verify the Base64
``authorization`` with RSA PKCS#1 v1.5 over MD5. Every failure is the same 403, the
reason goes to the log only.

Depends on ``cryptography`` (imported on the first verification, not at import: most
instances never see a callback), ``httpfetch``'s ``Fetch`` type and ``errors``; the
fetcher is injected.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from uploadsign.errors import CallbackRejected, FetchError
from uploadsign.httpfetch import Fetch

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)

HEADER_AUTHORIZATION = "authorization"
HEADER_PUB_KEY_URL = "x-oss-pub-key-url"
KEY_FETCH_TIMEOUT_SECONDS = 2.0  # OSS gives the whole callback 5 s
MAX_CACHED_KEYS = 16
MAX_SIGNATURE_CHARS = 2048


def string_to_sign(decoded_path: str, query: str, body: bytes) -> bytes:
    """Build OSS's sign string: URL-decoded path, ``?query`` when present, LF, raw body.

    The path must already be decoded (WSGI ``PATH_INFO``, FC ``requestContext.http.path``);
    decoding twice would change paths containing ``%25``.
    """
    if query and not query.startswith("?"):
        query = "?" + query
    return (decoded_path + query + "\n").encode("utf-8") + body


def signature_valid(key: rsa.RSAPublicKey, message: bytes, authorization: str) -> bool:
    """Check a Base64 MD5withRSA (PKCS#1 v1.5) signature of ``message``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        signature = base64.b64decode(authorization, validate=True)
        key.verify(signature, message, padding.PKCS1v15(), hashes.MD5())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def key_url(header: str | None, prefixes: Sequence[str]) -> str:
    """Decode ``x-oss-pub-key-url`` and return it only if it is under an allowed prefix."""
    if not header:
        raise _reject("missing x-oss-pub-key-url")
    try:
        url = base64.b64decode(header, validate=True).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise _reject("x-oss-pub-key-url is not Base64 ASCII") from exc
    if not url.startswith(tuple(prefixes)) or any(c in url for c in "\r\n\t @\\"):
        raise _reject("public key URL is not under an allowed prefix")
    return url


class PublicKeyCache:
    """OSS's callback public keys by URL; fetched once each, at most a few kept."""

    def __init__(self, fetch: Fetch, *, timeout: float = KEY_FETCH_TIMEOUT_SECONDS) -> None:
        self._fetch = fetch
        self._timeout = timeout
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self.fetches = 0

    def get(self, url: str) -> rsa.RSAPublicKey:
        """Return the RSA key published at ``url`` or raise ``CallbackRejected``."""
        key = self._keys.get(url)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(url)
            if key is None:
                key = self._load(url)
                if len(self._keys) >= MAX_CACHED_KEYS:
                    self._keys.pop(next(iter(self._keys)))
                self._keys[url] = key
        return key

    def _load(self, url: str) -> rsa.RSAPublicKey:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.fetches += 1
        try:
            pem = self._fetch(url, self._timeout)
            key = serialization.load_pem_public_key(pem)
        except (FetchError, ValueError, UnsupportedAlgorithm) as exc:
            raise _reject(f"cannot load the public key ({type(exc).__name__})") from exc
        if not isinstance(key, rsa.RSAPublicKey):
            raise _reject("the public key is not RSA")
        return key


class CallbackVerifier:
    """Apply the whole §10.3 procedure to one request."""

    def __init__(self, prefixes: Sequence[str], keys: PublicKeyCache) -> None:
        self._prefixes = tuple(prefixes)
        self._keys = keys

    def verify(
        self,
        *,
        path: str,
        query: str,
        body: bytes,
        authorization: str | None,
        pub_key_url: str | None,
    ) -> None:
        """Return if OSS signed this request; raise ``CallbackRejected`` otherwise."""
        if not authorization or len(authorization) > MAX_SIGNATURE_CHARS:
            raise _reject("missing or oversized authorization")
        url = key_url(pub_key_url, self._prefixes)
        key = self._keys.get(url)
        if not signature_valid(key, string_to_sign(path, query, body), authorization):
            raise _reject("signature does not verify")


def _reject(reason: str) -> CallbackRejected:
    log.warning("callback rejected: %s", reason)
    return CallbackRejected("callback signature could not be verified")
