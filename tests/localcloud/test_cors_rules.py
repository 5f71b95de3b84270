"""Bucket CORS evaluation as OSS applies it (reference §9)."""

from __future__ import annotations

import pytest

from localcloud.oss.cors import (
    PREFLIGHT_REJECTED_MESSAGE,
    actual_response_headers,
    make_rule,
    preflight,
)
from localcloud.oss.errors import OssError

RULES = (
    make_rule(origins=("http://localhost:*",), methods=("POST", "GET"), headers=("*",),
              expose=("ETag", "x-oss-request-id"), max_age_seconds=600),
    make_rule(origins=("https://app.example.com",), methods=("GET",), headers=("x-custom",)),
)


def test_matching_preflight_gets_every_cors_header() -> None:
    assert preflight(RULES, "http://localhost:9100", "POST", "content-type, x-a") == {
        "Access-Control-Allow-Origin": "http://localhost:9100",
        "Access-Control-Allow-Methods": "POST, GET",
        "Access-Control-Allow-Headers": "content-type, x-a",
        "Access-Control-Expose-Headers": "ETag, x-oss-request-id",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


@pytest.mark.parametrize(("origin", "method", "headers"), [
    ("http://evil.example", "POST", None),
    ("https://app.example.com", "POST", None),
    ("https://app.example.com", "GET", "x-other"),
    (None, "GET", None),
    ("http://localhost:9100", None, None),
    ("http://localhost:9100", "DELETE", None),
])
def test_unmatched_preflight_is_access_forbidden(
    origin: str | None, method: str | None, headers: str | None
) -> None:
    with pytest.raises(OssError) as info:
        preflight(RULES, origin, method, headers)
    assert (info.value.status, info.value.code, info.value.message) == (
        403, "AccessForbidden", PREFLIGHT_REJECTED_MESSAGE)


def test_actual_response_without_matching_rule_has_no_cors_headers() -> None:
    assert actual_response_headers(RULES, "http://evil.example", "POST") == {}
    assert actual_response_headers(RULES, None, "POST") == {}
    assert actual_response_headers(RULES, "http://localhost:1", "POST")[
        "Access-Control-Expose-Headers"] == "ETag, x-oss-request-id"


@pytest.mark.parametrize("kwargs", [
    {"origins": (), "methods": ("GET",)},
    {"origins": ("*",), "methods": ()},
    {"origins": ("http://*.*.com",), "methods": ("GET",)},
    {"origins": ("*",), "methods": ("PATCH",)},
])
def test_invalid_rules_are_refused(kwargs: dict[str, tuple[str, ...]]) -> None:
    with pytest.raises(OssError):
        make_rule(origins=kwargs["origins"], methods=kwargs["methods"])
