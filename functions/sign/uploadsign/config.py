"""Settings of the signing function: the one place that reads the environment.

:meth:`Settings.from_env` takes a mapping (``os.environ`` in production, a dict in
tests), validates every variable and raises one :class:`ConfigurationError` listing
every problem at once. Nothing else in the package reads the environment, except the
``alibabacloud_credentials`` SDK, which reads the execution identity FC injects
(``PLATFORM_ENV_VARS``).

The variables (names, defaults, meaning) are listed in :mod:`uploadsign.envvars`, what a
valid value looks like in :mod:`uploadsign.validators`; both are re-exported here, so
``ENV_VARS``, ``PLATFORM_ENV_VARS`` and every name constant stay importable from
``uploadsign.config``.

Depends on the standard library, ``envvars``, ``validators`` and ``errors`` only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from uploadsign.callback import MIN_SECRET_BYTES
from uploadsign.envvars import *  # noqa: F403 - the names are part of this module's API
from uploadsign.envvars import (
    AUTH_AUDIENCE,
    AUTH_ISSUER,
    AUTH_JWKS_URL,
    AUTH_JWT_SECRET,
    AUTH_LEEWAY_SECONDS,
    AUTH_MODE,
    AUTH_MODES,
    CALLBACK_PUBKEY_URL_PREFIXES,
    CORS_ALLOWED_ORIGINS,
    DEFAULT_KEY_TEMPLATE,
    DEFAULT_PUBKEY_URL_PREFIXES,
    FC_FUNCTION_NAME,
    GRANT_SECRET,
    MAX_OBJECT_BYTES,
    MIN_HS256_SECRET_BYTES,
    OSS_BUCKET,
    OSS_HOST,
    OSS_KEY_TEMPLATE,
    OSS_REGION,
    OSS_STS_ROLE_ARN,
    OSS_UPLOAD_DIR,
    RATE_LIMIT_PER_MINUTE,
    STS_DURATION_SECONDS,
    STS_ENDPOINT,
    STS_REFRESH_MARGIN_SECONDS,
    STS_ROLE_SESSION_NAME,
    STS_TIMEOUT_SECONDS,
    UPLOAD_ALLOWED_ACTIVE_TYPES,
    UPLOAD_ALLOWED_CONTENT_TYPES,
    UPLOAD_CALLBACK_URL,
    UPLOAD_EXPIRE_SECONDS,
    UPLOAD_MAX_BYTES,
    UPLOAD_SAMPLE_ROUTE,
    UPLOAD_SUCCESS_ACTION_STATUS,
)
from uploadsign.errors import ConfigurationError
from uploadsign.validators import (
    BUCKET_RE,
    REGION_RE,
    ROLE_ARN_RE,
    SESSION_RE,
    is_base_url,
    is_key_template,
    is_mime_type,
    is_origin,
    is_upload_dir,
    is_url_prefix,
)

_SUCCESS_STATUSES = ("200", "201", "204")
_SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


@dataclass(frozen=True)
class StsEndpoint:
    """Where AssumeRole goes: ``host[:port]`` and the scheme the SDK should use."""

    host: str
    protocol: str  # "https" or "http"


@dataclass(frozen=True)
class Settings:
    """Validated configuration.

    Its secrets, the HS256 key of ``AUTH_JWT_SECRET`` and the ``GRANT_SECRET`` keys, are
    hidden from ``repr``; the execution identity is not here at all (the SDK reads it).
    """

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
    allowed_active_types: tuple[str, ...] = ()
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
    grant_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    sample_route: bool = False
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
        bucket = self.required(OSS_BUCKET, BUCKET_RE, "a bucket name such as my-uploads")
        region = self._region()
        host = self.raw(OSS_HOST) or f"https://{bucket}.oss-{region}.aliyuncs.com"
        if not is_base_url(host):
            self.problems.append(f"{OSS_HOST} must be an http(s) URL without query or fragment")
        upload_dir = self.raw(OSS_UPLOAD_DIR) or "uploads/"
        if not upload_dir.endswith("/"):
            upload_dir += "/"
        if not is_upload_dir(upload_dir):
            self.problems.append(
                f"{OSS_UPLOAD_DIR} must be a relative prefix like uploads/ (letters, digits, -_.)"
            )
        role_arn = self.required(OSS_STS_ROLE_ARN, ROLE_ARN_RE, "acs:ram::<account>:role/<name>")
        endpoint = self._sts_endpoint(region)
        duration = self.integer(STS_DURATION_SECONDS, 3600, 900, 43200)
        margin = self.integer(STS_REFRESH_MARGIN_SECONDS, 300, 60, 43200)
        if margin >= duration - 60:
            self.problems.append(
                f"{STS_REFRESH_MARGIN_SECONDS} must be at least 60 s below {STS_DURATION_SECONDS}"
            )
        session = self.raw(STS_ROLE_SESSION_NAME) or "oss-direct-upload"
        if not SESSION_RE.match(session):
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
                is_mime_type,
                "lower-case type/subtype",
            ),
            allowed_active_types=self.listed(
                UPLOAD_ALLOWED_ACTIVE_TYPES, is_mime_type, "lower-case type/subtype"
            ),
            success_action_status=status,
            cors_allowed_origins=self.listed(
                CORS_ALLOWED_ORIGINS, is_origin, "* or scheme://host[:port] without a path"
            ),
            **self._auth(),
            key_template=self._key_template(),
            rate_limit_per_minute=self.integer(RATE_LIMIT_PER_MINUTE, 60, 0, 100000),
            **self._callback(),
            sample_route=self._switch(UPLOAD_SAMPLE_ROUTE, default=False),
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
            if jwks_url and not is_base_url(jwks_url):
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
        if not is_key_template(template):
            self.problems.append(
                f"{OSS_KEY_TEMPLATE} must start with {{dir}}, contain {{id}} once, use only "
                "{dir} {sub}/ {date} {id} {ext} (last) and letters, digits, /-_.!*'()"
            )
        return template

    def _callback(self) -> dict[str, Any]:
        url = self.raw(UPLOAD_CALLBACK_URL)
        if url and not (is_base_url(url) and "?" not in url):
            self.problems.append(f"{UPLOAD_CALLBACK_URL} must be an http(s) URL without query")
        prefixes = self.listed(
            CALLBACK_PUBKEY_URL_PREFIXES, is_url_prefix, "http(s)://host/ prefixes"
        )
        return {
            "callback_url": url,
            "callback_pubkey_url_prefixes": prefixes or DEFAULT_PUBKEY_URL_PREFIXES,
            "grant_secrets": self._grant_secrets(required=bool(url)),
        }

    def _region(self) -> str:
        value = self.raw(OSS_REGION)
        # The endpoint name (oss-cn-hangzhou[.aliyuncs.com]) is the usual slip: name the fix.
        if value.startswith("oss-"):
            region = value.removeprefix("oss-").split(".", 1)[0]
            self.problems.append(
                f"{OSS_REGION} is the region ID without oss-: use {region!r}, not {value!r}"
            )
            return region
        return self.required(OSS_REGION, REGION_RE, "a region ID such as cn-hangzhou")

    def _switch(self, name: str, *, default: bool) -> bool:
        value = self.raw(name).lower()
        if not value:
            return default
        if value not in _SWITCH:
            self.problems.append(f"{name} must be on or off")
            return default
        return _SWITCH[value]

    def _grant_secrets(self, required: bool) -> tuple[bytes, ...]:
        items = [item.strip() for item in self.env.get(GRANT_SECRET, "").split(",")]
        secrets = tuple(item.encode("utf-8") for item in items if item)
        if any(len(secret) < MIN_SECRET_BYTES for secret in secrets):
            self.problems.append(
                f"{GRANT_SECRET}: every secret must be at least {MIN_SECRET_BYTES} bytes "
                "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')"
            )
        elif required and not secrets:
            self.problems.append(
                f"{GRANT_SECRET} is required with {UPLOAD_CALLBACK_URL}: it binds each "
                "callback to its grant (32+ random bytes; not an AccessKey)"
            )
        return secrets

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
