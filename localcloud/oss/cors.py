"""Bucket CORS rules and their evaluation, as OSS applies them (reference §9).

Owns the rule type, first-match evaluation and the response headers a match yields.
Pure: no HTTP server, no storage, no clock. The shell decides when to call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.oss.errors import OssError, invalid_argument
from localcloud.wildcard import matches_any

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
EXPOSE_HEADERS = "Access-Control-Expose-Headers"
MAX_AGE = "Access-Control-Max-Age"
REQUEST_METHOD = "Access-Control-Request-Method"
REQUEST_HEADERS = "Access-Control-Request-Headers"

CORS_METHODS = frozenset({"GET", "PUT", "DELETE", "POST", "HEAD"})
MAX_RULES = 10

# Verbatim, typos included ("evalution", "Requet"): OSS's OptionObject error text.
PREFLIGHT_REJECTED_MESSAGE = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers "
    "are not whitelisted by the resource's CORS spec."
)


@dataclass(frozen=True)
class CorsRule:
    """One CORSRule of a bucket; patterns may hold ``*`` wildcards (origins: at most one)."""

    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the persisted JSON form."""
        return {
            "AllowedOrigin": list(self.allowed_origins),
            "AllowedMethod": list(self.allowed_methods),
            "AllowedHeader": list(self.allowed_headers),
            "ExposeHeader": list(self.expose_headers),
            "MaxAgeSeconds": self.max_age_seconds,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CorsRule:
        """Build a rule from its persisted JSON form, validating it like PutBucketCors."""
        max_age = data.get("MaxAgeSeconds")
        return make_rule(
            origins=data.get("AllowedOrigin", ()),
            methods=data.get("AllowedMethod", ()),
            headers=data.get("AllowedHeader", ()),
            expose=data.get("ExposeHeader", ()),
            max_age_seconds=int(max_age) if max_age is not None else None,
        )


def make_rule(
    *,
    origins: Iterable[str],
    methods: Iterable[str],
    headers: Iterable[str] = (),
    expose: Iterable[str] = (),
    max_age_seconds: int | None = None,
) -> CorsRule:
    """Build a validated rule (the checks PutBucketCors makes)."""
    origin_list = tuple(str(o) for o in origins)
    method_list = tuple(str(m).upper() for m in methods)
    if not origin_list:
        raise invalid_argument("AllowedOrigin is required in a CORSRule.")
    if not method_list:
        raise invalid_argument("AllowedMethod is required in a CORSRule.")
    for origin in origin_list:
        if origin.count("*") > 1:
            raise invalid_argument(f"AllowedOrigin {origin} can contain at most one '*'.")
    for method in method_list:
        if method not in CORS_METHODS:
            raise invalid_argument(f"Unsupported method {method} in AllowedMethod.")
    return CorsRule(
        allowed_origins=origin_list,
        allowed_methods=method_list,
        allowed_headers=tuple(str(h) for h in headers),
        expose_headers=tuple(str(h) for h in expose),
        max_age_seconds=max_age_seconds,
    )



def _split_headers(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def find_rule(
    rules: Sequence[CorsRule], origin: str, method: str, request_headers: Sequence[str] = ()
) -> CorsRule | None:
    """Return the first rule matching origin, method and every requested header."""
    for rule in rules:
        if not matches_any(rule.allowed_origins, origin, case_insensitive=False):
            continue
        if method.upper() not in rule.allowed_methods:
            continue
        headers_ok = all(
            matches_any(rule.allowed_headers, h, case_insensitive=True) for h in request_headers
        )
        if headers_ok:
            return rule
    return None


def _common_headers(rule: CorsRule, origin: str) -> dict[str, str]:
    # OSS echoes the request origin rather than the pattern, so a credentials-free
    # browser fetch accepts the answer for any origin the rule admits.
    headers = {
        ALLOW_ORIGIN: origin,
        ALLOW_METHODS: ", ".join(rule.allowed_methods),
        "Vary": "Origin",
    }
    if rule.expose_headers:
        headers[EXPOSE_HEADERS] = ", ".join(rule.expose_headers)
    if rule.max_age_seconds is not None:
        headers[MAX_AGE] = str(rule.max_age_seconds)
    return headers


def actual_response_headers(
    rules: Sequence[CorsRule], origin: str | None, method: str
) -> dict[str, str]:
    """Return the CORS headers for a non-preflight response (empty when nothing matches)."""
    if not origin:
        return {}
    rule = find_rule(rules, origin, method)
    if rule is None:
        return {}
    return _common_headers(rule, origin)


def preflight(
    rules: Sequence[CorsRule], origin: str | None, request_method: str | None,
    request_headers: str | None,
) -> dict[str, str]:
    """Answer an OPTIONS preflight: the headers on a match, else 403 AccessForbidden."""
    if not origin or not request_method:
        raise OssError(403, "AccessForbidden", PREFLIGHT_REJECTED_MESSAGE)
    wanted = _split_headers(request_headers or "")
    rule = find_rule(rules, origin, request_method, wanted)
    if rule is None:
        raise OssError(403, "AccessForbidden", PREFLIGHT_REJECTED_MESSAGE)
    headers = _common_headers(rule, origin)
    if wanted:
        headers[ALLOW_HEADERS] = ", ".join(wanted)
    return headers
