"""Verify that a ``POST /callback`` really comes from OSS (oss-postobject.md §10.3).

In order: Base64-decode ``x-oss-pub-key-url``; refuse unless it is printable ASCII and
exactly an allowed prefix followed by a key file name OSS publishes — *before* anything
is fetched, so the header can make the function fetch only those few URLs; fetch the PEM
key (short timeout) and cache it per URL; build ``sign_str = decoded path + "?query"
(if any) + LF + body``; verify the Base64 ``authorization`` with RSA PKCS#1 v1.5 over
MD5. Every failure is the same 403, the reason goes to the log only.

Fetching is bounded so that callbacks cannot turn into outbound traffic: one fetch per
URL at a time (concurrent requests wait for it), no lock held while fetching, at most
``MAX_CONCURRENT_FETCHES`` URLs at once (more are refused, not queued), and a URL whose
key failed to load is refused without a fetch for ``FAILURE_TTL_SECONDS``.

Depends on ``cryptography`` (imported on the first verification, not at import: most
instances never see a callback), ``sts``' ``Fetch`` type and ``errors``; the
fetcher and the monotonic clock are injected.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from uploadsign.errors import CallbackRejected, FetchError
from uploadsign.sts import Fetch

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

log = logging.getLogger(__name__)

HEADER_AUTHORIZATION = "authorization"
HEADER_PUB_KEY_URL = "x-oss-pub-key-url"
KEY_FETCH_TIMEOUT_SECONDS = 2.0  # OSS gives the whole callback 5 s
MAX_CACHED_KEYS = 16
MAX_SIGNATURE_CHARS = 2048
#: The file names OSS publishes its callback key under (oss-postobject.md §10.3:
#: ``http(s)://gosspublic.alicdn.com/callback_pub_key_v1.pem``); the only files fetched
#: under an allowed prefix. A tuple, so a ``v2`` can join ``v1`` when OSS publishes one.
KEY_FILE_NAMES = ("callback_pub_key_v1.pem",)
#: How long a key URL whose fetch or parse failed is refused without fetching again.
FAILURE_TTL_SECONDS = 30.0
#: Distinct key URLs fetched at the same time; a request needing one more is refused.
MAX_CONCURRENT_FETCHES = 4
_PRINTABLE_URL = re.compile(r"[!-~]+")  # printable ASCII: no spaces, no control characters


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
    """Decode ``x-oss-pub-key-url``; return it only if it is a published key file's URL.

    That is: printable ASCII, and exactly an allowed prefix followed by one of
    ``KEY_FILE_NAMES`` (no other path, query or fragment).
    """
    if not header:
        raise _reject("missing x-oss-pub-key-url")
    try:
        url = base64.b64decode(header, validate=True).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise _reject("x-oss-pub-key-url is not Base64 ASCII") from exc
    if not _PRINTABLE_URL.fullmatch(url):
        raise _reject("public key URL has spaces or control characters")
    if not any(url.startswith(p) and url[len(p):] in KEY_FILE_NAMES for p in prefixes):
        raise _reject("public key URL is not a published key file under an allowed prefix")
    return url


class _Fetch:
    """One key fetch in progress; other requests for its URL wait for its outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.key: rsa.RSAPublicKey | None = None


class PublicKeyCache:
    """OSS's callback public keys by URL: fetched once each, failures refused for a while.

    The lock guards the three maps only, never a fetch.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        timeout: float = KEY_FETCH_TIMEOUT_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        failure_ttl: float = FAILURE_TTL_SECONDS,
        max_fetches: int = MAX_CONCURRENT_FETCHES,
    ) -> None:
        self._fetch = fetch
        self._timeout = timeout
        self._monotonic = monotonic
        self._failure_ttl = failure_ttl
        self._max_fetches = max_fetches
        self._lock = threading.Lock()
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._failed: dict[str, float] = {}  # URL -> when its load failed (monotonic)
        self._fetching: dict[str, _Fetch] = {}
        self.fetches = 0

    def get(self, url: str) -> rsa.RSAPublicKey:
        """Return the RSA key published at ``url`` or raise ``CallbackRejected``."""
        key = self._keys.get(url)
        if key is not None:
            return key
        with self._lock:
            key = self._keys.get(url)
            if key is not None:
                return key
            failed_at = self._failed.get(url)
            if failed_at is not None and self._monotonic() - failed_at < self._failure_ttl:
                raise _reject("the public key failed to load moments ago")
            pending = self._fetching.get(url)
            leading = pending is None
            if pending is None:
                if len(self._fetching) >= self._max_fetches:
                    raise _reject("too many public key fetches in flight")
                pending = self._fetching[url] = _Fetch()
                self.fetches += 1
        if not leading:
            return self._wait_for(pending)
        try:
            key = self._load(url)
        except BaseException:
            self._settle(url, pending, None)
            raise
        self._settle(url, pending, key)
        return key

    def _wait_for(self, pending: _Fetch) -> rsa.RSAPublicKey:
        # The fetch's timeout bounds its connect and its read, each: wait for both.
        pending.done.wait(2 * self._timeout)
        if pending.key is None:
            raise _reject("the public key fetch this request waited for failed")
        return pending.key

    def _settle(self, url: str, fetch: _Fetch, key: rsa.RSAPublicKey | None) -> None:
        """Record a fetch's outcome, then wake the requests waiting for it."""
        with self._lock:
            del self._fetching[url]
            now = self._monotonic()
            self._failed = {
                u: at for u, at in self._failed.items() if now - at < self._failure_ttl
            }
            if key is None:
                self._failed[url] = now
            else:
                self._failed.pop(url, None)
                if len(self._keys) >= MAX_CACHED_KEYS:
                    self._keys.pop(next(iter(self._keys)))
                self._keys[url] = key
        fetch.key = key
        fetch.done.set()

    def _load(self, url: str) -> rsa.RSAPublicKey:
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

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
