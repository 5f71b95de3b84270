"""Lifecycle of one OSS emulator: build its parts over a state directory, serve, stop.

Owns wiring only: the object store and bucket registry under ``<state_dir>/buckets``,
the callback RSA key (generated per run, never written to disk) and the origins callbacks
may reach, the application and its HTTP shell (with its thread pool and socket timeouts)
serving on a background thread (:class:`HttpServer`).
Decisions about requests live in :mod:`localcloud.oss.app`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.identity import FindPrincipal
from localcloud.oss.app import PUB_KEY_PATH, EmulatorApp
from localcloud.oss.buckets import BucketRegistry
from localcloud.oss.callbackclient import TIMEOUT_SECONDS, CallbackSigner, allowed_origins
from localcloud.oss.postobject.settings import PostSettings
from localcloud.oss.server import EMULATOR_LIMITS, Clock, Handler, OssServer, utc_now
from localcloud.oss.store import ObjectStore
from localcloud.serving import ServerLimits


class HttpServer:
    """A running HTTP server on a background thread; stop it with :meth:`stop`."""

    def __init__(self, app: Handler, *, clock: Clock = utc_now,
                 limits: ServerLimits = EMULATOR_LIMITS) -> None:
        self._app = app
        self._clock = clock
        self._limits = limits
        self._server: OssServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Bind and serve; return the bound port (OSError if the port is busy)."""
        server = OssServer((host, port), self._app, self._clock, self._limits)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name=server.name,
                                        daemon=True)
        self._thread.start()
        return int(server.server_address[1])

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_address[1])

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


@dataclass
class Emulator:
    """A running emulator; ``url`` is its path-style endpoint (``http://127.0.0.1:<port>``)."""

    app: EmulatorApp
    server: HttpServer
    host: str
    port: int

    @property
    def url(self) -> str:
        """The endpoint URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def store(self) -> ObjectStore:
        """The object store."""
        return self.app.store

    @property
    def buckets(self) -> BucketRegistry:
        """The bucket registry."""
        return self.app.buckets

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        lookup: FindPrincipal,
        host: str = "127.0.0.1",
        port: int = 0,
        post_settings: PostSettings | None = None,
        website_host: str | None = "localhost",
        website_bucket: str | None = None,
        clock: Clock = utc_now,
        callback_timeout: float = TIMEOUT_SECONDS,
        callback_origins: Iterable[str] = (),
        server_limits: ServerLimits = EMULATOR_LIMITS,
    ) -> Emulator:
        """Open the state directory, bind ``host:port`` (OSError if busy) and serve.

        Upload callbacks reach only URLs of ``callback_origins`` (URLs whose scheme, host
        and port count; ValueError for one that is not http(s)); by default none, and every
        callback fails with 203 ``CallbackFailed`` as an unreachable URL does.
        ``server_limits`` sets the worker threads, connection cap and socket timeouts.
        ``clock`` and ``callback_timeout`` exist for tests: a fixed clock makes signed
        forms deterministic, a short timeout exercises a slow callback application.
        """
        origins = allowed_origins(callback_origins)
        root = Path(state_dir) / "buckets"
        root.mkdir(parents=True, exist_ok=True)
        store = ObjectStore(root)
        buckets = BucketRegistry(root)
        for name in buckets.names():
            store.clean_spool(name)
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        signer = CallbackSigner(private_key=private_key, pub_key_url="")
        app = EmulatorApp(
            store=store,
            buckets=buckets,
            lookup=lookup,
            signer=signer,
            public_key_pem=public_pem,
            post_settings=post_settings or PostSettings(),
            website_host=website_host,
            website_bucket=website_bucket,
        )
        server = HttpServer(app, clock=clock, limits=server_limits)
        bound = server.start(host, port)
        app.endpoint_url = f"http://{host}:{bound}"
        app.signer = CallbackSigner(
            private_key=private_key,
            pub_key_url=f"http://127.0.0.1:{bound}{PUB_KEY_PATH}",
            timeout=callback_timeout,
            allowed_origins=origins,
        )
        return cls(app=app, server=server, host=host, port=bound)

    def stop(self) -> None:
        """Stop serving."""
        self.server.stop()
