"""Settings of the signing function: the one place that reads the environment.

:meth:`Settings.from_env` takes a mapping (``os.environ`` in production, a dict in
tests), validates every variable and raises one :class:`ConfigurationError` listing
every problem at once. Nothing else in the package reads the environment, except the
``alibabacloud_credentials`` SDK, which reads the execution identity FC injects
(``PLATFORM_ENV_VARS``).

Variables (name, default, meaning); the README table is written from this list:

- ``OSS_BUCKET`` (required): bucket that receives uploads; pinned in every policy.
- ``OSS_REGION`` (required): region ID without ``oss-``, e.g. ``cn-hangzhou``; part of
  the credential scope.
- ``OSS_HOST`` (``https://{bucket}.oss-{region}.aliyuncs.com``): URL the browser POSTs
  the form to; path-style (``http://127.0.0.1:PORT/{bucket}``) or virtual-host.
- ``OSS_UPLOAD_DIR`` (``uploads/``): key prefix of every upload; also the scope of the
  STS session policy. A missing trailing ``/`` is added.
- ``OSS_STS_ROLE_ARN`` (required): upload role assumed with STS,
  ``acs:ram::<account>:role/<name>``.
- ``STS_ENDPOINT`` (``sts.{region}.aliyuncs.com``): STS host, ``https://host`` or
  ``http://127.0.0.1:PORT`` for a local stub.
- ``STS_DURATION_SECONDS`` (``3600``): lifetime asked for the assumed credentials,
  900..43200 and at most the role's MaxSessionDuration.
- ``STS_TIMEOUT_SECONDS`` (``5``): connect and read timeout of one AssumeRole call, 1..60.
- ``STS_REFRESH_MARGIN_SECONDS`` (``300``): refresh the cached credentials this long
  before they expire; at least 60 and 60 below ``STS_DURATION_SECONDS``.
- ``STS_ROLE_SESSION_NAME`` (``oss-direct-upload``): role session name, 2..64 of
  ``[A-Za-z0-9_.@-]``; appears in ActionTrail.
- ``UPLOAD_EXPIRE_SECONDS`` (``600``): lifetime of a signed policy, 10..86400; always
  capped by the expiry of the credentials that sign it.
- ``UPLOAD_MAX_BYTES`` (``10485760``): largest file accepted, 1..5 GiB.
- ``UPLOAD_ALLOWED_CONTENT_TYPES`` (empty = any): comma list of exact lower-case MIME
  types, e.g. ``image/png,image/jpeg``.
- ``UPLOAD_SUCCESS_ACTION_STATUS`` (``200``): status OSS answers a successful POST with:
  ``200`` (empty body), ``201`` (XML body) or ``204``.
- ``CORS_ALLOWED_ORIGINS`` (empty = no CORS headers): comma list of page origins such as
  ``https://app.example.com``; ``*`` only when set literally. With ``AUTH_MODE=none`` it
  is also the list of origins that may get a grant at all.
- ``AUTH_MODE`` (``none``): ``none`` = anonymous grants for allowed origins only;
  ``jwt`` = ``Authorization: Bearer <JWT>`` required on the grant routes.
- ``AUTH_JWT_SECRET`` (jwt mode, HS256): shared secret, at least 32 bytes; never logged.
- ``AUTH_JWKS_URL`` (jwt mode, RS256/ES256): http(s) URL of the issuer's JWKS; exactly one
  of it and ``AUTH_JWT_SECRET`` must be set.
- ``AUTH_ISSUER`` / ``AUTH_AUDIENCE`` (empty = not checked): required ``iss`` / ``aud``.
- ``AUTH_LEEWAY_SECONDS`` (``30``): clock skew tolerated on ``exp``/``nbf``, 0..300.
- ``OSS_KEY_TEMPLATE`` (``{dir}{date}/{id}{ext}``): object key of ``POST /uploads``;
  placeholders ``{dir}`` (first), ``{sub}`` (jwt mode; must be followed by ``/``),
  ``{date}`` (``YYYY/MM/DD``), ``{id}`` (required, 32 hex), ``{ext}`` (``.png`` or empty).
- ``RATE_LIMIT_PER_MINUTE`` (``60``): grants per caller per minute on one instance
  (token bucket, bursts up to the same number); ``0`` turns it off.
- ``UPLOAD_CALLBACK_URL`` (empty = no callback): http(s) URL without query that OSS
  calls after storing an upload, normally this function's ``/callback``.
- ``CALLBACK_PUBKEY_URL_PREFIXES`` (the two ``gosspublic.alicdn.com`` prefixes): comma
  list of URL prefixes the callback's public key may be fetched from.

``FC_FUNCTION_NAME`` is read only to know the function runs on FC (for a start-up
warning); it is set by the platform, not by the user.

Depends on the standard library and ``errors`` only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from uploadsign.errors import ConfigurationError

OSS_BUCKET = "OSS_BUCKET"
OSS_REGION = "OSS_REGION"
OSS_HOST = "OSS_HOST"
OSS_UPLOAD_DIR = "OSS_UPLOAD_DIR"
OSS_STS_ROLE_ARN = "OSS_STS_ROLE_ARN"
STS_ENDPOINT = "STS_ENDPOINT"
STS_DURATION_SECONDS = "STS_DURATION_SECONDS"
STS_TIMEOUT_SECONDS = "STS_TIMEOUT_SECONDS"
STS_REFRESH_MARGIN_SECONDS = "STS_REFRESH_MARGIN_SECONDS"
STS_ROLE_SESSION_NAME = "STS_ROLE_SESSION_NAME"
UPLOAD_EXPIRE_SECONDS = "UPLOAD_EXPIRE_SECONDS"
UPLOAD_MAX_BYTES = "UPLOAD_MAX_BYTES"
UPLOAD_ALLOWED_CONTENT_TYPES = "UPLOAD_ALLOWED_CONTENT_TYPES"
UPLOAD_SUCCESS_ACTION_STATUS = "UPLOAD_SUCCESS_ACTION_STATUS"
CORS_ALLOWED_ORIGINS = "CORS_ALLOWED_ORIGINS"
AUTH_MODE = "AUTH_MODE"
AUTH_JWT_SECRET = "AUTH_JWT_SECRET"
AUTH_JWKS_URL = "AUTH_JWKS_URL"
AUTH_ISSUER = "AUTH_ISSUER"
AUTH_AUDIENCE = "AUTH_AUDIENCE"
AUTH_LEEWAY_SECONDS = "AUTH_LEEWAY_SECONDS"
OSS_KEY_TEMPLATE = "OSS_KEY_TEMPLATE"
RATE_LIMIT_PER_MINUTE = "RATE_LIMIT_PER_MINUTE"
UPLOAD_CALLBACK_URL = "UPLOAD_CALLBACK_URL"
CALLBACK_PUBKEY_URL_PREFIXES = "CALLBACK_PUBKEY_URL_PREFIXES"
FC_FUNCTION_NAME = "FC_FUNCTION_NAME"

#: Every variable this module reads; deploy checks compare it with s.yaml/template.yml.
ENV_VARS: tuple[str, ...] = (
    OSS_BUCKET,
    OSS_REGION,
    OSS_HOST,
    OSS_UPLOAD_DIR,
    OSS_STS_ROLE_ARN,
    STS_ENDPOINT,
    STS_DURATION_SECONDS,
    STS_TIMEOUT_SECONDS,
    STS_REFRESH_MARGIN_SECONDS,
    STS_ROLE_SESSION_NAME,
    UPLOAD_EXPIRE_SECONDS,
    UPLOAD_MAX_BYTES,
    UPLOAD_ALLOWED_CONTENT_TYPES,
    UPLOAD_SUCCESS_ACTION_STATUS,
    CORS_ALLOWED_ORIGINS,
    AUTH_MODE,
    AUTH_JWT_SECRET,
    AUTH_JWKS_URL,
    AUTH_ISSUER,
    AUTH_AUDIENCE,
    AUTH_LEEWAY_SECONDS,
    OSS_KEY_TEMPLATE,
    RATE_LIMIT_PER_MINUTE,
    UPLOAD_CALLBACK_URL,
    CALLBACK_PUBKEY_URL_PREFIXES,
)
#: Set by FC itself; read only to warn about anonymous mode on the platform.
PLATFORM_MARKER_VARS: tuple[str, ...] = (FC_FUNCTION_NAME,)
#: Injected by FC from the execution role and read by ``alibabacloud_credentials``.
PLATFORM_ENV_VARS: tuple[str, ...] = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
)

MAX_OBJECT_BYTES = 5 * 1024**3  # PostObject limit
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
_ROLE_ARN_RE = re.compile(r"^acs:ram::\d+:role/[A-Za-z0-9._@/-]+$")
_SESSION_RE = re.compile(r"^[\w.@-]{2,64}$", re.ASCII)
_DIR_RE = re.compile(r"^([A-Za-z0-9!_.*'()-]+/)+$")
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_SUCCESS_STATUSES = ("200", "201", "204")
AUTH_MODES = ("none", "jwt")
DEFAULT_KEY_TEMPLATE = "{dir}{date}/{id}{ext}"
#: Where OSS publishes its callback public keys (oss-postobject.md §10.3).
DEFAULT_PUBKEY_URL_PREFIXES = ("http://gosspublic.alicdn.com/", "https://gosspublic.alicdn.com/")
MIN_HS256_SECRET_BYTES = 32  # RFC 7518 §3.2: at least the hash output size
_TEMPLATE_LITERAL_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
_PLACEHOLDER_RE = re.compile(r"\{([a-z]+)\}")
_PLACEHOLDERS = ("dir", "sub", "date", "id", "ext")


@dataclass(frozen=True)
class StsEndpoint:
    """Where AssumeRole goes: ``host[:port]`` and the scheme the SDK should use."""

    host: str
    protocol: str  # "https" or "http"


@dataclass(frozen=True)
class Settings:
    """Validated configuration; holds no secret (the execution identity stays in the SDK)."""

    bucket: str
    region: str
    host: str
    upload_dir: str
    role_arn: str
    sts_endpoint: StsEndpoint
    sts_duration_seconds: int = 3600
    sts_timeout_seconds: int = 5
    sts_refresh_margin_seconds: int = 300
    sts_role_session_name: str = "oss-direct-upload"
    upload_expire_seconds: int = 600
    upload_max_bytes: int = 10 * 1024 * 1024
    allowed_content_types: tuple[str, ...] = ()
    success_action_status: str = "200"
    cors_allowed_origins: tuple[str, ...] = ()
    auth_mode: str = "none"
    auth_jwt_secret: str = field(default="", repr=False)
    auth_jwks_url: str = ""
    auth_issuer: str = ""
    auth_audience: str = ""
    auth_leeway_seconds: int = 30
    key_template: str = DEFAULT_KEY_TEMPLATE
    rate_limit_per_minute: int = 60
    callback_url: str = ""
    callback_pubkey_url_prefixes: tuple[str, ...] = DEFAULT_PUBKEY_URL_PREFIXES
    on_fc: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from ``env``; raise one error listing every problem."""
        return _Reader(env).settings()


class _Reader:
    """Collect problems while reading, so the user fixes them all in one go."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def required(self, name: str, pattern: re.Pattern[str], hint: str) -> str:
        value = self.raw(name)
        if not value:
            self.problems.append(f"{name} is required ({hint})")
        elif not pattern.match(value):
            self.problems.append(f"{name} is invalid: expected {hint}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.raw(name)
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            self.problems.append(f"{name} must be an integer")
            return default
        if not low <= number <= high:
            self.problems.append(f"{name} must be between {low} and {high}")
            return default
        return number

    def listed(self, name: str, check: Callable[[str], bool], hint: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in self.raw(name).split(",") if item.strip())
        bad = [item for item in items if not check(item)]
        if bad:
            self.problems.append(f"{name} has invalid entries {bad!r}: expected {hint}")
        return items

    def settings(self) -> Settings:
        bucket = self.required(OSS_BUCKET, _BUCKET_RE, "a bucket name such as my-uploads")
        region = self.required(OSS_REGION, _REGION_RE, "a region ID such as cn-hangzhou")
        host = self.raw(OSS_HOST) or f"https://{bucket}.oss-{region}.aliyuncs.com"
        if not _is_base_url(host):
            self.problems.append(f"{OSS_HOST} must be an http(s) URL without query or fragment")
        upload_dir = self.raw(OSS_UPLOAD_DIR) or "uploads/"
        if not upload_dir.endswith("/"):
            upload_dir += "/"
        if not _DIR_RE.match(upload_dir) or ".." in upload_dir.split("/"):
            self.problems.append(
                f"{OSS_UPLOAD_DIR} must be a relative prefix like uploads/ (letters, digits, -_.)"
            )
        role_arn = self.required(OSS_STS_ROLE_ARN, _ROLE_ARN_RE, "acs:ram::<account>:role/<name>")
        endpoint = self._sts_endpoint(region)
        duration = self.integer(STS_DURATION_SECONDS, 3600, 900, 43200)
        margin = self.integer(STS_REFRESH_MARGIN_SECONDS, 300, 60, 43200)
        if margin >= duration - 60:
            self.problems.append(
                f"{STS_REFRESH_MARGIN_SECONDS} must be at least 60 s below {STS_DURATION_SECONDS}"
            )
        session = self.raw(STS_ROLE_SESSION_NAME) or "oss-direct-upload"
        if not _SESSION_RE.match(session):
            self.problems.append(f"{STS_ROLE_SESSION_NAME} must be 2..64 of [A-Za-z0-9_.@-]")
        status = self.raw(UPLOAD_SUCCESS_ACTION_STATUS) or "200"
        if status not in _SUCCESS_STATUSES:
            self.problems.append(f"{UPLOAD_SUCCESS_ACTION_STATUS} must be one of 200, 201, 204")
        settings = Settings(
            bucket=bucket,
            region=region,
            host=host.rstrip("/"),
            upload_dir=upload_dir,
            role_arn=role_arn,
            sts_endpoint=endpoint,
            sts_duration_seconds=duration,
            sts_timeout_seconds=self.integer(STS_TIMEOUT_SECONDS, 5, 1, 60),
            sts_refresh_margin_seconds=margin,
            sts_role_session_name=session,
            upload_expire_seconds=self.integer(UPLOAD_EXPIRE_SECONDS, 600, 10, 86400),
            upload_max_bytes=self.integer(UPLOAD_MAX_BYTES, 10 * 1024 * 1024, 1, MAX_OBJECT_BYTES),
            allowed_content_types=self.listed(
                UPLOAD_ALLOWED_CONTENT_TYPES,
                lambda item: bool(_MIME_RE.match(item)),
                "lower-case type/subtype",
            ),
            success_action_status=status,
            cors_allowed_origins=self.listed(
                CORS_ALLOWED_ORIGINS, _is_origin, "* or scheme://host[:port] without a path"
            ),
            **self._auth(),
            key_template=self._key_template(),
            rate_limit_per_minute=self.integer(RATE_LIMIT_PER_MINUTE, 60, 0, 100000),
            **self._callback(),
            on_fc=bool(self.raw(FC_FUNCTION_NAME)),
        )
        if "{sub}" in settings.key_template and settings.auth_mode != "jwt":
            self.problems.append(f"{OSS_KEY_TEMPLATE} may use {{sub}} only with {AUTH_MODE}=jwt")
        if self.problems:
            raise ConfigurationError(self.problems)
        return settings

    def _auth(self) -> dict[str, Any]:
        mode = self.raw(AUTH_MODE).lower() or "none"
        if mode not in AUTH_MODES:
            self.problems.append(f"{AUTH_MODE} must be one of none, jwt")
        secret = self.env.get(AUTH_JWT_SECRET, "")
        jwks_url = self.raw(AUTH_JWKS_URL)
        if mode == "jwt":
            if bool(secret) == bool(jwks_url):
                self.problems.append(
                    f"{AUTH_MODE}=jwt needs exactly one of {AUTH_JWT_SECRET} and {AUTH_JWKS_URL}"
                )
            if secret and len(secret.encode("utf-8")) < MIN_HS256_SECRET_BYTES:
                self.problems.append(
                    f"{AUTH_JWT_SECRET} must be at least {MIN_HS256_SECRET_BYTES} bytes"
                )
            if jwks_url and not _is_base_url(jwks_url):
                self.problems.append(f"{AUTH_JWKS_URL} must be an http(s) URL")
        return {
            "auth_mode": mode,
            "auth_jwt_secret": secret,
            "auth_jwks_url": jwks_url,
            "auth_issuer": self.raw(AUTH_ISSUER),
            "auth_audience": self.raw(AUTH_AUDIENCE),
            "auth_leeway_seconds": self.integer(AUTH_LEEWAY_SECONDS, 30, 0, 300),
        }

    def _key_template(self) -> str:
        template = self.raw(OSS_KEY_TEMPLATE) or DEFAULT_KEY_TEMPLATE
        names = _PLACEHOLDER_RE.findall(template)
        # {dir} always ends with "/": keep that, so "{dir}../" shows up as a ".." segment.
        literal = _PLACEHOLDER_RE.sub("x", template.replace("{dir}", "d/", 1))
        ok = (
            template.startswith("{dir}")
            and names.count("id") == 1
            and all(name in _PLACEHOLDERS and names.count(name) == 1 for name in names)
            and _TEMPLATE_LITERAL_RE.match(literal) is not None
            and "//" not in literal
            and not {".", ".."} & set(literal.split("/"))
            and ("{sub}" not in template or "{sub}/" in template)
            and ("{ext}" not in template or template.endswith("{ext}"))
        )
        if not ok:
            self.problems.append(
                f"{OSS_KEY_TEMPLATE} must start with {{dir}}, contain {{id}} once, use only "
                "{dir} {sub}/ {date} {id} {ext} (last) and letters, digits, /-_.!*'()"
            )
        return template

    def _callback(self) -> dict[str, Any]:
        url = self.raw(UPLOAD_CALLBACK_URL)
        if url and not (_is_base_url(url) and "?" not in url):
            self.problems.append(f"{UPLOAD_CALLBACK_URL} must be an http(s) URL without query")
        prefixes = self.listed(
            CALLBACK_PUBKEY_URL_PREFIXES, _is_url_prefix, "http(s)://host/ prefixes"
        )
        return {
            "callback_url": url,
            "callback_pubkey_url_prefixes": prefixes or DEFAULT_PUBKEY_URL_PREFIXES,
        }

    def _sts_endpoint(self, region: str) -> StsEndpoint:
        value = self.raw(STS_ENDPOINT)
        if not value:
            return StsEndpoint(host=f"sts.{region}.aliyuncs.com", protocol="https")
        if "://" not in value:
            value = "https://" + value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            self.problems.append(f"{STS_ENDPOINT} must be a host or an http(s)://host[:port] URL")
        return StsEndpoint(host=parts.netloc, protocol=parts.scheme)


def _is_base_url(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not parts.query
        and not parts.fragment
    )


def _is_origin(value: str) -> bool:
    if value == "*":
        return True
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and parts.path == ""
        and not parts.query
        and not parts.fragment
    )


def _is_url_prefix(value: str) -> bool:
    # The host must be closed by a "/" so "https://gosspublic.alicdn.com.evil/" cannot pass.
    parts = urlsplit(value)
    return _is_base_url(value) and parts.path.startswith("/") and "@" not in parts.netloc
