"""How a setting's text becomes a typed value: the parsers and value checks of the settings table.

Each parser takes the stripped text (the default when unset) and returns the typed value or
raises :class:`Invalid`, worded to follow the variable's name ("OSS_REGION is ...").
:mod:`uploadsign.config` names, per variable, which one applies. Depends on the standard
library and the pure secret-length rule of ``callback`` only. :func:`cross_checks` holds
the rules that involve more than one variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from uploadsign.callback import MIN_SECRET_BYTES

AUTH_MODES = ("none", "jwt")
MIN_HS256_SECRET_BYTES = 32  # RFC 7518 §3.2: at least the hash output size
_SWITCH = {"on": True, "true": True, "1": True, "off": False, "false": False, "0": False}


class Invalid(ValueError):
    """A value's problem, worded to follow the variable's name."""


#: A parser takes the stripped value (the default when unset) and returns the typed value
#: or raises Invalid.
Parser = Callable[[str], Any]


def check(test: Callable[[str], object], problem: str) -> Parser:
    """Accept a value passing ``test`` as it is."""

    def parse(value: str) -> str:
        if not test(value):
            raise Invalid(problem)
        return value

    return parse


def required(pattern: str, hint: str) -> Parser:
    """Accept a non-empty value matching ``pattern``."""
    regex = re.compile(pattern)

    def parse(value: str) -> str:
        if not value:
            raise Invalid(f"is required ({hint})")
        if not regex.match(value):
            raise Invalid(f"is invalid: expected {hint}")
        return value

    return parse


def integer(low: int, high: int) -> Parser:
    """Accept an integer in ``low..high``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise Invalid("must be an integer") from None
        if not low <= number <= high:
            raise Invalid(f"must be between {low} and {high}")
        return number

    return parse


def listed(test: Callable[[str], bool], hint: str) -> Parser:
    """Accept a comma list whose every entry passes ``test``."""

    def parse(value: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value.split(",") if item.strip())
        if bad := [item for item in items if not test(item)]:
            raise Invalid(f"has invalid entries {bad!r}: expected {hint}")
        return items

    return parse


def switch(value: str) -> bool:
    """Accept on/off (also true/false, 1/0)."""
    if value.lower() not in _SWITCH:
        raise Invalid("must be on or off")
    return _SWITCH[value.lower()]


def auth_mode(value: str) -> str:
    """Accept ``none`` or ``jwt`` in any case; return it in lower case."""
    if value.lower() not in AUTH_MODES:
        raise Invalid(f"must be one of {', '.join(AUTH_MODES)}")
    return value.lower()


def is_base_url(value: str) -> bool:
    """Say whether ``value`` is an http(s) URL without query or fragment."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not (
        parts.query or parts.fragment
    )


def is_origin(value: str) -> bool:
    """Say whether ``value`` is ``*`` or a ``scheme://host[:port]`` origin."""
    return value == "*" or (is_base_url(value) and urlsplit(value).path == "")


def is_url_prefix(value: str) -> bool:
    """Say whether ``value`` is an http(s) prefix whose host is closed by a ``/``."""
    # Closed by a "/" so "https://gosspublic.alicdn.com.evil/" cannot pass.
    parts = urlsplit(value)
    return is_base_url(value) and parts.path.startswith("/") and "@" not in parts.netloc


def region(value: str) -> str:
    """Accept a region ID; name the fix for the usual slip, an endpoint name."""
    if value.startswith("oss-"):
        fix = value.removeprefix("oss-").split(".", 1)[0]
        raise Invalid(f"is the region ID without oss-: use {fix!r}, not {value!r}")
    return str(_region_id(value))


_region_id = required(r"^[a-z]{2,}(-[a-z0-9]+)+$", "a region ID such as cn-hangzhou")


def upload_dir(value: str) -> str:
    """Accept a relative key prefix; add the missing trailing ``/``."""
    value = value if value.endswith("/") else value + "/"
    if not re.match(r"^([A-Za-z0-9!_.*'()-]+/)+$", value) or ".." in value.split("/"):
        raise Invalid("must be a relative prefix like uploads/ (letters, digits, -_.)")
    return value


def sts_endpoint(value: str) -> StsEndpoint:
    """Accept a host or an ``http(s)://host[:port]`` URL (https when no scheme)."""
    parts = urlsplit(value if "://" in value else "https://" + value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise Invalid("must be a host or an http(s)://host[:port] URL")
    return StsEndpoint(host=parts.netloc, protocol=parts.scheme)


def grant_secrets(value: str) -> tuple[bytes, ...]:
    """Accept a comma list of secrets of at least MIN_SECRET_BYTES bytes each."""
    secrets = tuple(item.strip().encode("utf-8") for item in value.split(",") if item.strip())
    if any(len(secret) < MIN_SECRET_BYTES for secret in secrets):
        raise Invalid(
            f"holds a short secret: every secret must be at least {MIN_SECRET_BYTES} bytes "
            "(e.g. python3 -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return secrets


def limits_url(value: str) -> str:
    """Accept nothing or a ``redis://``/``rediss://`` URL with a host, port and database only.

    Problems never echo the value: it may carry a password.
    """
    if not value:
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise Invalid("is not a URL") from None
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise Invalid("must be redis://host[:port][/db] or rediss://...")
    if parts.query or parts.fragment or not re.fullmatch(r"(/\d{0,5})?", parts.path):
        raise Invalid("takes no path but a database number, and no query")
    return value


@dataclass(frozen=True)
class StsEndpoint:
    """Where AssumeRole goes: ``host[:port]`` and the scheme the SDK should use."""

    host: str
    protocol: str  # "https" or "http"


def cross_checks(values: Mapping[str, Any]) -> list[str]:
    """Return the problems that involve more than one variable (only of parsed values)."""
    problems: list[str] = []
    margin, duration = values.get("sts_refresh_margin_seconds"), values.get("sts_duration_seconds")
    if margin is not None and duration is not None and margin >= duration - 60:
        problems.append(
            "STS_REFRESH_MARGIN_SECONDS must be at least 60 s below STS_DURATION_SECONDS"
        )
    secret, jwks_url = values.get("auth_jwt_secret", ""), values.get("auth_jwks_url", "")
    if values.get("auth_mode") == "jwt":
        if bool(secret) == bool(jwks_url):
            problems.append(
                "AUTH_MODE=jwt needs exactly one of AUTH_JWT_SECRET and AUTH_JWKS_URL"
            )
        if secret and len(secret.encode("utf-8")) < MIN_HS256_SECRET_BYTES:
            problems.append(f"AUTH_JWT_SECRET must be at least {MIN_HS256_SECRET_BYTES} bytes")
        if jwks_url and not is_base_url(jwks_url):
            problems.append("AUTH_JWKS_URL must be an http(s) URL")
    if "{sub}" in values.get("key_template", "") and values.get("auth_mode") != "jwt":
        problems.append("OSS_KEY_TEMPLATE may use {sub} only with AUTH_MODE=jwt")
    if values.get("callback_url") and values.get("grant_secrets") == ():
        problems.append(
            "GRANT_SECRET is required with UPLOAD_CALLBACK_URL: it binds each "
            "callback to its grant (32+ random bytes; not an AccessKey)"
        )
    max_bytes, threshold = values.get("upload_max_bytes"), values.get("multipart_threshold_bytes")
    if max_bytes and threshold and max_bytes > threshold and values.get("grant_secrets") == ():
        problems.append(
            "GRANT_SECRET is required when UPLOAD_MAX_BYTES exceeds "
            "UPLOAD_MULTIPART_THRESHOLD_BYTES: it seals multipart upload ids"
        )
    if values.get("quota_bytes_per_caller"):
        if not values.get("limits_redis_url"):
            problems.append("QUOTA_BYTES_PER_CALLER needs LIMITS_REDIS_URL: a quota kept per "
                            "instance would multiply with the instances")
        if values.get("sample_route"):
            problems.append("QUOTA_BYTES_PER_CALLER cannot bound UPLOAD_SAMPLE_ROUTE=on: its "
                            "grants name no size")
    return problems
