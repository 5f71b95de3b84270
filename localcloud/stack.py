"""The whole product on one machine: OSS emulator, STS stub and the signing function.

Owns start-up order and wiring: the identities and grant secret of :mod:`devidentity`
(persisted in ``endpoints.json``) registered with the emulator and the STS stub, the
upload role, two buckets as deployed (the private upload bucket with CORS and no website
hosting; the page bucket with website hosting, the only bucket the website origin
serves), ``web/`` uploaded into the page bucket with a generated ``config.js``, the
function as a gunicorn subprocess with its normal environment (:mod:`functionenv`: upload
callback included, as deployed; CORS for the page's origin and ``DEV_EXTRA_ORIGINS``),
``endpoints.json`` for scripts, and the state directory's lock (one running stack per
directory). The function's process lifecycle is :mod:`localcloud.functionproc`. It never
imports the signing function.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from localcloud import config
from localcloud.devidentity import (
    RAM_USER_ARN,
    UPLOAD_PREFIX,
    UPLOAD_ROLE_ARN,
    Credentials,
    execution_policy,
    load_or_make_credentials,
    load_or_make_grant_secret,
    load_or_make_ram_user,
    local_identities,
    save_endpoints,
    upload_role_permission,
)
from localcloud.functionenv import CORS_ORIGINS_VAR, FunctionWiring, function_environment
from localcloud.functionproc import FUNCTION_DIR, REPO_ROOT, FunctionProcess
from localcloud.identity import IdentityStore
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.cors import make_rule
from localcloud.oss.emulator import Emulator
from localcloud.oss.httpmessages import HEADER_CRC64, HEADER_REQUEST_ID
from localcloud.ports import PortInUse, free_port, port_free, require_free
from localcloud.statelock import StateDirInUse, StateLock
from localcloud.sts.roles import StsSettings
from localcloud.sts.server import RunningSts
from localcloud.sts_wiring import start_sts
from localcloud.webupload import upload_web

__all__ = [
    "UPLOAD_PREFIX", "UPLOAD_ROLE_ARN", "Credentials", "FUNCTION_DIR", "LocalCloud",
    "PortInUse", "StateDirInUse", "execution_policy", "upload_role_permission",
]

ENDPOINTS_FILE = "endpoints.json"
WEB_DIR = REPO_ROOT / "web"
EXPOSED_HEADERS = ("ETag", HEADER_REQUEST_ID, HEADER_CRC64, "Content-MD5")
#: Where the function's output goes, in the state directory.
FUNCTION_LOG = "function.log"
INDEX_DOCUMENT = "index.html"


@dataclass(frozen=True)
class StartOptions:
    """What :meth:`LocalCloud.start` was asked for beyond the state directory (see there)."""

    host: str
    oss_port: int
    sts_port: int
    function_port: int
    bucket: str
    web_bucket: str
    start_function: bool
    function_env_overrides: Mapping[str, str]
    cors_origins: tuple[str, ...] | None
    sts_settings: StsSettings | None
    publish_web: bool
    inherited_env: Mapping[str, str]
    extra_origins: tuple[str, ...]
    cancel: threading.Event | None
    callback_origins: tuple[str, ...] | None


@dataclass
class LocalCloud:
    """A running stack; use :meth:`start`, then :meth:`stop` (or a ``with`` block)."""

    state_dir: Path
    #: Receives the uploads: private, CORS for the page, no website hosting.
    bucket: str
    #: Holds the page: website hosting on, public-read page objects.
    web_bucket: str
    region: str
    emulator: Emulator
    sts: RunningSts
    identities: IdentityStore
    execution_credentials: Credentials
    admin_credentials: Credentials
    #: A RAM user's long-term AccessKey (no token) that the upload role trusts.
    ram_user_credentials: Credentials
    #: The function's GRANT_SECRET (one secret; random per state directory).
    grant_secret: str = field(repr=False)
    function_url: str | None
    #: The environment the function inherits before the stack's own settings (see function_env).
    inherited_env: Mapping[str, str] = field(default_factory=dict)
    #: Origins allowed besides the page's (DEV_EXTRA_ORIGINS): a page on a dev server.
    extra_origins: tuple[str, ...] = ()
    function: FunctionProcess | None = None
    #: The function's CORS_ALLOWED_ORIGINS as started (None: no function).
    function_cors_origins: str | None = None
    #: The function's output (``function.log`` in the state directory).
    log_path: Path | None = None
    #: The state directory's lock, held until :meth:`stop`.
    lock: StateLock | None = field(default=None, repr=False)

    @property
    def oss_url(self) -> str:
        """The emulator endpoint (path-style): ``http://127.0.0.1:<port>``."""
        return self.emulator.url

    @property
    def post_url(self) -> str:
        """Where the browser POSTs uploads: ``http://127.0.0.1:<port>/<bucket>``."""
        return f"{self.emulator.url}/{self.bucket}"

    @property
    def sts_url(self) -> str:
        """The STS stub endpoint: ``http://127.0.0.1:<port>``."""
        return self.sts.url

    @property
    def website_url(self) -> str:
        """The page's origin plus ``/`` (a different origin from the POST endpoint)."""
        return f"{self.website_origin}/"

    @property
    def website_origin(self) -> str:
        """The page's origin: the page bucket's website; it never serves the upload bucket."""
        return f"http://localhost:{self.emulator.port}"

    @property
    def page_origins(self) -> tuple[str, ...]:
        """The origins a page may be served from: the website's, then ``extra_origins``."""
        return tuple(dict.fromkeys((self.website_origin, *self.extra_origins)))

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        host: str = "127.0.0.1",
        oss_port: int = 0,
        sts_port: int = 0,
        function_port: int = 0,
        bucket: str = config.DEFAULT_BUCKET,
        web_bucket: str = config.DEFAULT_WEB_BUCKET,
        start_function: bool = True,
        function_env_overrides: Mapping[str, str] | None = None,
        cors_origins: tuple[str, ...] | None = None,
        sts_settings: StsSettings | None = None,
        publish_web: bool = True,
        inherited_env: Mapping[str, str] | None = None,
        extra_origins: tuple[str, ...] = (),
        cancel: threading.Event | None = None,
        callback_origins: tuple[str, ...] | None = None,
    ) -> LocalCloud:
        """Start every part; raise PortInUse naming the variable when something listens.

        StateDirInUse when another running stack holds ``state_dir``. ``inherited_env``
        (the CLI passes its own environment) is what the function starts from; without it
        the function sees only what the stack sets, so tests stay hermetic.
        ``web_bucket`` must differ from ``bucket``: the page's origin must never serve an
        upload (ValueError otherwise). ``cors_origins`` replaces the page's origin in the
        upload bucket's CORS rule only; ``extra_origins`` are added to the rule and to the
        function's ``CORS_ALLOWED_ORIGINS`` (one set in ``inherited_env`` is kept as is).
        ``cancel``, once set, ends a start-up still waiting for the function
        (StartCancelled). Upload callbacks reach only ``callback_origins`` (URLs whose
        scheme, host and port count; by default the function's origin); a form's
        ``callbackUrl`` anywhere else gets OSS's 203 ``CallbackFailed`` and no connection.
        """
        if web_bucket == bucket:
            raise ValueError(f"the page bucket must not be the upload bucket ({bucket!r})")
        state_dir = Path(state_dir).resolve()
        state_dir.mkdir(parents=True, exist_ok=True)
        suggestion = f"{config.DEFAULT_STATE_DIR}/{oss_port or 'other'}"
        lock = StateLock.acquire(state_dir, env_var=config.ENV_STATE_DIR, suggestion=suggestion)
        try:
            require_free(host, [
                (oss_port, config.ENV_OSS_PORT, "OSS emulator"),
                (sts_port, config.ENV_STS_PORT, "STS stub"),
                (function_port if start_function else 0, config.ENV_FUNCTION_PORT,
                 "signing function"),
            ])
            options = StartOptions(
                host=host, oss_port=oss_port, sts_port=sts_port, function_port=function_port,
                bucket=bucket, web_bucket=web_bucket, start_function=start_function,
                function_env_overrides=dict(function_env_overrides or {}),
                cors_origins=cors_origins, sts_settings=sts_settings, publish_web=publish_web,
                inherited_env=dict(inherited_env or {}), extra_origins=tuple(extra_origins),
                cancel=cancel, callback_origins=callback_origins)
            return cls._start_locked(state_dir, lock, options)
        except PortInUse as busy:
            lock.release()
            if not busy.lingering and busy.port and port_free(host, busy.port):
                raise PortInUse(busy.port, busy.env_var, busy.what, lingering=True) from busy
            raise
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _start_locked(cls, state_dir: Path, lock: StateLock, options: StartOptions) -> LocalCloud:
        o = options
        exec_c, admin_c = load_or_make_credentials(state_dir / ENDPOINTS_FILE)
        ram_c = load_or_make_ram_user(state_dir / ENDPOINTS_FILE)
        grant_secret = load_or_make_grant_secret(state_dir / ENDPOINTS_FILE)
        identities = local_identities(exec_c, admin_c, ram_c)
        host, function_port, callback_origins = o.host, o.function_port, o.callback_origins
        if o.start_function and not function_port:
            # Chosen before the emulator starts: its callbacks may reach only the function.
            function_port = free_port(host)
        if callback_origins is None:
            callback_origins = (f"http://{host}:{function_port}",) if o.start_function else ()
        try:
            emulator = Emulator.start(state_dir, lookup=identities.lookup, host=host,
                                      port=o.oss_port, website_bucket=o.web_bucket,
                                      callback_origins=callback_origins)
        except OSError as exc:
            raise PortInUse(o.oss_port, config.ENV_OSS_PORT, "OSS emulator") from exc
        try:
            sts = start_sts(identities=identities, execution_key_id=exec_c.access_key_id,
                            also_trusted=(RAM_USER_ARN,), role_arn=UPLOAD_ROLE_ARN,
                            permission=upload_role_permission(o.bucket),
                            host=host, port=o.sts_port, settings=o.sts_settings)
        except OSError as exc:
            emulator.stop()
            raise PortInUse(o.sts_port, config.ENV_STS_PORT, "STS stub") from exc
        cloud = cls(state_dir=state_dir, bucket=o.bucket, web_bucket=o.web_bucket,
                    region=config.REGION, emulator=emulator, sts=sts, identities=identities,
                    execution_credentials=exec_c, admin_credentials=admin_c,
                    ram_user_credentials=ram_c, grant_secret=grant_secret, function_url=None,
                    inherited_env=o.inherited_env)
        cloud.lock = lock
        cloud.extra_origins = o.extra_origins
        try:
            origins = tuple(dict.fromkeys((*(o.cors_origins or (cloud.website_origin,)),
                                           *cloud.extra_origins)))
            # No index document: the upload bucket has no website, so nothing a browser
            # stored is ever served as a page (a state dir from the one-bucket days had one).
            emulator.buckets.put(BucketConfig(
                name=o.bucket, acl="private",
                cors_rules=(make_rule(origins=origins, methods=("POST", "GET", "HEAD", "PUT"),
                                      headers=("*",), expose=EXPOSED_HEADERS,
                                      max_age_seconds=600),),
                index_document=None,
            ))
            # The page bucket is private too; its page objects are public-read (upload_web).
            emulator.buckets.put(BucketConfig(
                name=o.web_bucket, acl="private", index_document=INDEX_DOCUMENT,
            ))
            if o.start_function:
                cloud.function_url = f"http://{host}:{function_port}"
                cloud._start_function(host, function_port, o.function_env_overrides,
                                      cancel=o.cancel)
            if o.publish_web:
                upload_web(cloud, WEB_DIR)
            cloud.write_endpoints()
            cloud._record_owner()
        except BaseException:
            cloud.stop()
            raise
        return cloud

    @property
    def callback_pubkey_prefix(self) -> str:
        """The URL prefix the emulator serves its callback public key under."""
        key_url: str = self.emulator.app.signer.pub_key_url
        return key_url.rsplit("/", 1)[0] + "/"

    def function_env(self, overrides: Mapping[str, str]) -> dict[str, str]:
        """Return the function's environment (:func:`functionenv.function_environment`)."""
        wiring = FunctionWiring(
            bucket=self.bucket, region=self.region, post_url=self.post_url,
            sts_url=self.sts_url, function_url=self.function_url,
            callback_pubkey_prefix=self.callback_pubkey_prefix,
            page_origins=self.page_origins, grant_secret=self.grant_secret,
            execution=self.execution_credentials,
        )
        return function_environment(wiring, self.inherited_env, overrides)

    def _start_function(self, host: str, port: int, overrides: Mapping[str, str], *,
                        cancel: threading.Event | None) -> None:
        self.log_path = self.state_dir / FUNCTION_LOG
        env = self.function_env(overrides)
        self.function_cors_origins = env.get(CORS_ORIGINS_VAR, "")
        self.function = FunctionProcess.start(bind=f"{host}:{port}", env=env,
                                              log_path=self.log_path)
        self.function.wait_ready(f"{self.function_url}/healthz", cancel=cancel)

    def _record_owner(self) -> None:
        """Put this stack's ports and page URL in the lock file, for a second instance."""
        if self.lock is None:
            return
        ports = {"OSS": self.emulator.port, "STS": self.sts.port}
        if self.function_url and (function_port := urlsplit(self.function_url).port):
            ports["function"] = function_port
        self.lock.record({"ports": ports, "page_url": self.website_url})

    def endpoints(self) -> dict[str, Any]:
        """Return what endpoints.json records."""
        return {
            "oss_url": self.oss_url,
            "post_url": self.post_url,
            "website_url": self.website_url,
            "website_origin": self.website_origin,
            "sts_url": self.sts_url,
            "function_url": self.function_url,
            "bucket": self.bucket,
            "web_bucket": self.web_bucket,
            "region": self.region,
            "role_arn": UPLOAD_ROLE_ARN,
            "upload_prefix": UPLOAD_PREFIX,
            "state_dir": str(self.state_dir),
            "execution_identity": self.execution_credentials.to_json(),
            "admin_identity": self.admin_credentials.to_json(),
            "ram_user_identity": self.ram_user_credentials.to_json(),
            "ram_user_arn": RAM_USER_ARN,
            "grant_secret": self.grant_secret,
        }

    def write_endpoints(self) -> Path:
        """Write endpoints.json (owner-readable only: it holds local keys)."""
        return save_endpoints(self.state_dir / ENDPOINTS_FILE, self.endpoints())

    def stop(self) -> None:
        """Stop the function (no process of it left), the STS stub and the emulator.

        The state directory's lock is released last, once every port is closed.
        """
        try:
            if self.function is not None:
                self.function.stop()
            self.sts.stop()
            self.emulator.stop()
        finally:
            if self.lock is not None:
                self.lock.release()

    def __enter__(self) -> LocalCloud:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

