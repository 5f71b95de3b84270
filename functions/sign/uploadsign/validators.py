"""What a valid configuration value looks like: patterns and small predicates.

Pure string checks used by :mod:`uploadsign.config` while it reads the environment (and
by ``upload_request`` for the one client value with the same rule, a MIME type); kept
apart so the reader shows the order of the checks and this module their detail.
Depends on the standard library only.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
ROLE_ARN_RE = re.compile(r"^acs:ram::\d+:role/[A-Za-z0-9._@/-]+$")
SESSION_RE = re.compile(r"^[\w.@-]{2,64}$", re.ASCII)
DIR_RE = re.compile(r"^([A-Za-z0-9!_.*'()-]+/)+$")
#: RFC 6838 §4.2 restricted names, lower case: each part at most 127 characters.
_MIME_TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
MIME_RE = re.compile(rf"^{_MIME_TOKEN}/{_MIME_TOKEN}$")
_TEMPLATE_LITERAL_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")
_PLACEHOLDER_RE = re.compile(r"\{([a-z]+)\}")
KEY_PLACEHOLDERS = ("dir", "sub", "date", "id", "ext")


def is_upload_dir(value: str) -> bool:
    """Say whether ``value`` is a relative key prefix ending in ``/`` without ``..``."""
    return bool(DIR_RE.match(value)) and ".." not in value.split("/")


def is_mime_type(value: str) -> bool:
    """Say whether ``value`` is a lower-case ``type/subtype`` (each part 1..127 chars)."""
    return bool(MIME_RE.match(value))


def is_key_template(template: str) -> bool:
    """Say whether ``template`` is a safe ``OSS_KEY_TEMPLATE``.

    It must start with ``{dir}``, hold ``{id}`` once, use each placeholder at most once,
    keep ``{sub}`` as a whole segment and ``{ext}`` last, and its literal parts must be
    unable to form ``.``/``..`` segments or ``//``.
    """
    names = _PLACEHOLDER_RE.findall(template)
    # {dir} always ends with "/": keep that, so "{dir}../" shows up as a ".." segment.
    literal = _PLACEHOLDER_RE.sub("x", template.replace("{dir}", "d/", 1))
    return (
        template.startswith("{dir}")
        and names.count("id") == 1
        and all(name in KEY_PLACEHOLDERS and names.count(name) == 1 for name in names)
        and _TEMPLATE_LITERAL_RE.match(literal) is not None
        and "//" not in literal
        and not {".", ".."} & set(literal.split("/"))
        and ("{sub}" not in template or "{sub}/" in template)
        and ("{ext}" not in template or template.endswith("{ext}"))
    )


def is_base_url(value: str) -> bool:
    """Say whether ``value`` is an http(s) URL without query or fragment."""
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and not parts.query
        and not parts.fragment
    )


def is_origin(value: str) -> bool:
    """Say whether ``value`` is ``*`` or a ``scheme://host[:port]`` origin."""
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


def is_url_prefix(value: str) -> bool:
    """Say whether ``value`` is an http(s) prefix whose host is closed by a ``/``."""
    # The host must be closed by a "/" so "https://gosspublic.alicdn.com.evil/" cannot pass.
    parts = urlsplit(value)
    return is_base_url(value) and parts.path.startswith("/") and "@" not in parts.netloc
