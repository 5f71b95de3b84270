"""Test keys and a loopback file server for the callback and JWKS tests (made at run time)."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.liveserver import QuietHandler, serving


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def oss_sign(key: rsa.RSAPrivateKey, path: str, query: str, body: bytes) -> str:
    """Sign like OSS does (independent of the code under test): MD5withRSA, Base64."""
    message = (path + (f"?{query}" if query else "") + "\n").encode() + body
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.MD5())).decode()


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class FileServer:
    """Serve a dict of path → bytes on 127.0.0.1:0; count the GETs per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.redirects: dict[str, str] = {}
        self.hits: dict[str, int] = {}
        self.delay = 0.0
        self.url = ""
        #: Set when the server stops: a delayed answer is then dropped, not written late.
        self.closing = threading.Event()
        files, hits, owner = self.files, self.hits, self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                hits[self.path] = hits.get(self.path, 0) + 1
                if owner.delay and owner.closing.wait(owner.delay):
                    return
                if self.path in owner.redirects:
                    self.send_response(302)
                    self.send_header("Location", owner.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.handler = Handler


@contextmanager
def file_server() -> Iterator[FileServer]:
    """Serve a fresh :class:`FileServer` on loopback until the block ends."""
    served = FileServer()
    with serving(served.handler) as live:
        served.url = live.url
        try:
            yield served
        finally:
            served.closing.set()
