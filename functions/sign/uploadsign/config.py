"""Settings of the signing function: the one table of variables and the one reader.

:data:`VARIABLES` holds every environment variable once: name, :class:`Settings` field,
default (as a user would write it), parser/check and the README's doc line. Settings'
defaults, :meth:`Settings.from_env`'s validation, ``ENV_VARS`` (for the deploy checks) and
the README's configuration table (:func:`readme_table`, checked by a test) come from it.
``from_env`` takes a mapping (``os.environ`` in production, a dict in tests) and raises
one :class:`ConfigurationError` listing every problem at once. Nothing else in the
package reads the environment, except the ``alibabacloud_credentials`` SDK, which reads
the execution identity FC injects (``PLATFORM_ENV_VARS``). Depends on the standard
library, ``errors``, the parsers of ``configvalues`` and the pure value checks of
``objectkeys`` and ``mediatypes`` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from uploadsign.configvalues import (
    AUTH_MODES,
    Invalid,
    Parser,
    StsEndpoint,
    auth_mode,
    check,
    cross_checks,
    grant_secrets,
    integer,
    is_base_url,
    is_origin,
    is_url_prefix,
    limits_url,
    listed,
    region,
    required,
    sts_endpoint,
    switch,
    upload_dir,
)
from uploadsign.errors import ConfigurationError
from uploadsign.mediatypes import is_mime_type
from uploadsign.objectkeys import is_key_template
from uploadsign.uploadtoken import MAX_MULTIPART_BYTES, MIN_PART_BYTES

__all__ = ["AUTH_MODES", "ENV_VARS", "VARIABLES", "Settings", "StsEndpoint", "Variable"]
MAX_OBJECT_BYTES = 5 * 1024**3  # PostObject limit
FC_FUNCTION_NAME = "FC_FUNCTION_NAME"
#: Set by FC itself; read only to warn about anonymous mode on the platform.
PLATFORM_MARKER_VARS: tuple[str, ...] = (FC_FUNCTION_NAME,)
#: Injected by FC from the execution role and read by ``alibabacloud_credentials``.
PLATFORM_ENV_VARS: tuple[str, ...] = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN"
)


@dataclass(frozen=True)
class Variable:
    """One environment variable: the field it fills, its default, its parser, its doc."""

    name: str
    field: str
    #: Raw text used when unset (``{bucket}``/``{region}`` filled in); None = required.
    default: str | None
    parse: Parser
    doc: str
    #: The README's default column when it is not the default itself in backquotes.
    shown: str = ""
    #: Secrets are taken as written (no stripping), as they were always read.
    strip: bool = True

    def default_text(self) -> str:
        """Return the README's default column."""
        return self.shown or ("required" if self.default is None else f"`{self.default}`")


_GOSS = "http://gosspublic.alicdn.com/,https://gosspublic.alicdn.com/"
_TYPE_HINT = "lower-case type/subtype"
_BUCKET = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"
_ARN = r"^acs:ram::\d+:role/[A-Za-z0-9._@/-]+$"
_TEMPLATE_PROBLEM = (
    "must start with {dir}, contain {id} once, use only "
    "{dir} {sub}/ {date} {id} {ext} (last) and letters, digits, /-_.!*'()"
)
V = Variable
#: Every variable the function reads, in the README's order.
VARIABLES: tuple[Variable, ...] = (
    V("OSS_BUCKET", "bucket", None, required(_BUCKET, "a bucket name such as my-uploads"),
      "bucket that receives uploads; pinned in every policy"),
    V("OSS_REGION", "region", None, region,
      "region ID without `oss-`, e.g. `cn-hangzhou`; part of the signing scope"),
    V("OSS_HOST", "host", "https://{bucket}.oss-{region}.aliyuncs.com",
      check(is_base_url, "must be an http(s) URL without query or fragment"),
      "URL the browser posts to; virtual-host or path-style (`http://127.0.0.1:9100/{bucket}`)"),
    V("OSS_UPLOAD_DIR", "upload_dir", "uploads/", upload_dir,
      "key prefix of every upload and scope of the STS session policy (a trailing `/` is added)"),
    V("OSS_STS_ROLE_ARN", "role_arn", None, required(_ARN, "acs:ram::<account>:role/<name>"),
      "the upload role, `acs:ram::<account>:role/<name>`"),
    V("STS_ENDPOINT", "sts_endpoint", "sts.{region}.aliyuncs.com", sts_endpoint,
      "STS host; `https://host`, or `http://127.0.0.1:PORT` for a local stub"),
    V("STS_DURATION_SECONDS", "sts_duration_seconds", "3600", integer(900, 43200),
      "lifetime asked for the assumed credentials (900…43200, at most the role's "
      "MaxSessionDuration)"),
    V("STS_TIMEOUT_SECONDS", "sts_timeout_seconds", "5", integer(1, 60),
      "connect and read timeout of one AssumeRole call (1…60)"),
    V("STS_REFRESH_MARGIN_SECONDS", "sts_refresh_margin_seconds", "300", integer(60, 43200),
      "refresh cached credentials this long before they expire"),
    V("STS_ROLE_SESSION_NAME", "sts_role_session_name", "oss-direct-upload",
      check(re.compile(r"^[\w.@-]{2,64}$", re.ASCII).match, "must be 2..64 of [A-Za-z0-9_.@-]"),
      "role session name, visible in ActionTrail"),
    V("UPLOAD_EXPIRE_SECONDS", "upload_expire_seconds", "600", integer(10, 86400),
      "lifetime of a signed policy (10…86400), capped by the credentials' expiry"),
    V("UPLOAD_MAX_BYTES", "upload_max_bytes", "10485760", integer(1, MAX_MULTIPART_BYTES),
      "largest file accepted (1 B…48.8 TiB; above `UPLOAD_MULTIPART_THRESHOLD_BYTES` a file "
      "goes multipart, which needs `GRANT_SECRET`)"),
    V("UPLOAD_MULTIPART_THRESHOLD_BYTES", "multipart_threshold_bytes", "104857600",
      integer(1, MAX_OBJECT_BYTES),
      "files up to this size get a PostObject grant, larger ones a multipart plan (1 B…5 GiB)"),
    V("UPLOAD_PART_SIZE_BYTES", "part_size_bytes", "8388608",
      integer(MIN_PART_BYTES, MAX_OBJECT_BYTES),
      "multipart part size (100 KiB…5 GiB), grown for a file that would need over 10000 parts"),
    V("UPLOAD_MULTIPART_EXPIRE_SECONDS", "multipart_expire_seconds", "86400",
      integer(600, 604800),
      "lifetime of a multipart `upload_id` (600…604800); part URLs are signed on demand"),
    V("UPLOAD_ALLOWED_CONTENT_TYPES", "allowed_content_types", "",
      listed(is_mime_type, _TYPE_HINT),
      "comma list of exact MIME types, e.g. `image/png,image/jpeg`", "empty = any"),
    V("UPLOAD_SUCCESS_ACTION_STATUS", "success_action_status", "200",
      check({"200", "201", "204"}.__contains__, "must be one of 200, 201, 204"),
      "what OSS answers a successful POST with: `200`, `201` (XML body) or `204`"),
    V("CORS_ALLOWED_ORIGINS", "cors_allowed_origins", "",
      listed(is_origin, "* or scheme://host[:port] without a path"),
      "comma list of page origins; `*` only when set literally", "empty = none"),
    V("AUTH_MODE", "auth_mode", "none", auth_mode,
      "`none` (anonymous, allowed origins only) or `jwt` (bearer tokens); see below"),
    V("AUTH_JWT_SECRET", "auth_jwt_secret", "", str,
      "HS256 secret, at least 32 bytes (jwt mode; never put it in a file)", "empty",
      strip=False),
    V("AUTH_JWKS_URL", "auth_jwks_url", "", str,
      "JWKS URL for RS256/ES256 tokens (jwt mode; exclusive with the secret)", "empty"),
    V("AUTH_ISSUER", "auth_issuer", "", str, "required `iss` claim", "empty = not checked"),
    V("AUTH_AUDIENCE", "auth_audience", "", str, "required `aud` claim", "empty = not checked"),
    V("AUTH_LEEWAY_SECONDS", "auth_leeway_seconds", "30", integer(0, 300),
      "clock skew allowed on `exp`/`nbf`"),
    V("OSS_KEY_TEMPLATE", "key_template", "{dir}{date}/{id}{ext}",
      check(is_key_template, _TEMPLATE_PROBLEM),
      "object key layout; `{sub}` (jwt mode) gives each user a prefix"),
    V("RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute", "60", integer(0, 100000),
      "grants per caller per minute: per instance in memory, exact across instances with "
      "`LIMITS_REDIS_URL`; `0` = off"),
    V("LIMITS_REDIS_URL", "limits_redis_url", "", limits_url,
      "`redis://host:6379/0` or `rediss://…` of a Redis/Tair that holds the rate limit and "
      "the quota for every instance (a password in it is never logged)", "empty = in memory"),
    V("LIMITS_REDIS_PASSWORD", "limits_redis_password", "", str,
      "password of that Redis (overrides one in the URL; never logged)", "empty", strip=False),
    V("LIMITS_REDIS_TIMEOUT_MS", "limits_redis_timeout_ms", "250", integer(10, 5000),
      "connect and command timeout of one Redis call, in ms (10…5000; no retries)"),
    V("LIMITS_FAIL_MODE", "limits_fail_mode", "closed",
      check({"closed", "open"}.__contains__, "must be closed or open"),
      "Redis unreachable: `closed` answers 503 with `Retry-After`, `open` grants and logs"),
    V("QUOTA_BYTES_PER_CALLER", "quota_bytes_per_caller", "0", integer(0, 2**53),
      "bytes one caller may store per window, reserved when granted; `0` = off; needs "
      "`LIMITS_REDIS_URL`"),
    V("QUOTA_WINDOW_SECONDS", "quota_window_seconds", "86400", integer(1, 31 * 86400),
      "how long a stored upload counts against its caller's quota"),
    V("UPLOAD_CALLBACK_URL", "callback_url", "",
      check(lambda url: not url or (is_base_url(url) and "?" not in url),
              "must be an http(s) URL without query"),
      "URL OSS calls after storing (normally `https://<function>/callback`)",
      "empty = no callback"),
    V("CALLBACK_PUBKEY_URL_PREFIXES", "callback_pubkey_url_prefixes", _GOSS,
      listed(is_url_prefix, "http(s)://host/ prefixes"),
      "where a callback's public key may be fetched from",
      "the two `gosspublic.alicdn.com` prefixes"),
    V("GRANT_SECRET", "grant_secrets", "", grant_secrets,
      "comma list of random secrets (32+ bytes each, e.g. `python3 -c 'import secrets; "
      "print(secrets.token_hex(32))'`) that sign grant tokens and multipart upload ids; the "
      "first signs, all verify, so append the old one when rotating. Not an AccessKey; never "
      "logged", "required with `UPLOAD_CALLBACK_URL` or multipart"),
    V("UPLOAD_SAMPLE_ROUTE", "sample_route", "off", switch,
      "`on` serves the sample-compatible route (see its residual risk above)"),
    V("UPLOAD_ALLOWED_ACTIVE_TYPES", "allowed_active_types", "",
      listed(is_mime_type, _TYPE_HINT),
      "script-capable types stored as themselves (still as downloads), e.g. `image/svg+xml`; "
      "others become `application/octet-stream`", "empty"),
)
del V
#: Every variable the function reads; deploy checks compare it with s.yaml/template.yml.
ENV_VARS: tuple[str, ...] = tuple(variable.name for variable in VARIABLES)
_BY_NAME = {variable.name: variable for variable in VARIABLES}
DEFAULT_KEY_TEMPLATE: str = _BY_NAME["OSS_KEY_TEMPLATE"].default or ""


def default(name: str) -> Any:
    """Return the parsed default of the variable ``name`` (a Settings field default)."""
    raw = _BY_NAME[name].default
    assert raw is not None, name
    return _BY_NAME[name].parse(raw)


def readme_table() -> str:
    """Return the README's configuration table, written from :data:`VARIABLES`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{v.name}` | {v.default_text()} | {v.doc} |" for v in VARIABLES]
    return "\n".join(rows)


@dataclass(frozen=True)
class Settings:
    """Validated configuration; every default comes from :data:`VARIABLES`.

    Its secrets, the HS256 key of ``AUTH_JWT_SECRET``, the ``GRANT_SECRET`` keys and the
    limits store's URL and password, are hidden from ``repr``; the execution identity is
    not here at all (the SDK reads it).
    """

    bucket: str
    region: str
    host: str
    upload_dir: str
    role_arn: str
    sts_endpoint: StsEndpoint
    sts_duration_seconds: int = default("STS_DURATION_SECONDS")
    sts_timeout_seconds: int = default("STS_TIMEOUT_SECONDS")
    sts_refresh_margin_seconds: int = default("STS_REFRESH_MARGIN_SECONDS")
    sts_role_session_name: str = default("STS_ROLE_SESSION_NAME")
    upload_expire_seconds: int = default("UPLOAD_EXPIRE_SECONDS")
    upload_max_bytes: int = default("UPLOAD_MAX_BYTES")
    multipart_threshold_bytes: int = default("UPLOAD_MULTIPART_THRESHOLD_BYTES")
    part_size_bytes: int = default("UPLOAD_PART_SIZE_BYTES")
    multipart_expire_seconds: int = default("UPLOAD_MULTIPART_EXPIRE_SECONDS")
    allowed_content_types: tuple[str, ...] = default("UPLOAD_ALLOWED_CONTENT_TYPES")
    allowed_active_types: tuple[str, ...] = default("UPLOAD_ALLOWED_ACTIVE_TYPES")
    success_action_status: str = default("UPLOAD_SUCCESS_ACTION_STATUS")
    cors_allowed_origins: tuple[str, ...] = default("CORS_ALLOWED_ORIGINS")
    auth_mode: str = default("AUTH_MODE")
    auth_jwt_secret: str = field(default=default("AUTH_JWT_SECRET"), repr=False)
    auth_jwks_url: str = default("AUTH_JWKS_URL")
    auth_issuer: str = default("AUTH_ISSUER")
    auth_audience: str = default("AUTH_AUDIENCE")
    auth_leeway_seconds: int = default("AUTH_LEEWAY_SECONDS")
    key_template: str = default("OSS_KEY_TEMPLATE")
    rate_limit_per_minute: int = default("RATE_LIMIT_PER_MINUTE")
    limits_redis_url: str = field(default=default("LIMITS_REDIS_URL"), repr=False)
    limits_redis_password: str = field(default=default("LIMITS_REDIS_PASSWORD"), repr=False)
    limits_redis_timeout_ms: int = default("LIMITS_REDIS_TIMEOUT_MS")
    limits_fail_mode: str = default("LIMITS_FAIL_MODE")
    quota_bytes_per_caller: int = default("QUOTA_BYTES_PER_CALLER")
    quota_window_seconds: int = default("QUOTA_WINDOW_SECONDS")
    callback_url: str = default("UPLOAD_CALLBACK_URL")
    callback_pubkey_url_prefixes: tuple[str, ...] = default("CALLBACK_PUBKEY_URL_PREFIXES")
    grant_secrets: tuple[bytes, ...] = field(default=default("GRANT_SECRET"), repr=False)
    sample_route: bool = default("UPLOAD_SAMPLE_ROUTE")
    on_fc: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from ``env``; raise one error listing every problem."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for variable in VARIABLES:
            raw = env.get(variable.name, "")
            raw = raw.strip() if variable.strip else raw
            if not raw and variable.default is not None:
                raw = variable.default.replace("{bucket}", values.get("bucket", ""))
                raw = raw.replace("{region}", values.get("region", ""))
            try:
                values[variable.field] = variable.parse(raw)
            except Invalid as exc:
                problems.append(f"{variable.name} {exc}")
        problems += cross_checks(values)
        if problems:
            raise ConfigurationError(problems)
        values["host"] = values["host"].rstrip("/")
        values["callback_pubkey_url_prefixes"] = (
            values["callback_pubkey_url_prefixes"] or default("CALLBACK_PUBKEY_URL_PREFIXES")
        )
        return cls(**values, on_fc=bool(env.get(FC_FUNCTION_NAME, "").strip()))

