"""Which page origins the local cloud lets in: the page's own, DEV_EXTRA_ORIGINS, and an
explicit CORS_ALLOWED_ORIGINS.

A page served from a dev server (``http://localhost:5173``) calls the function and posts
to the upload bucket, so both CORS checks must name it: ``DEV_EXTRA_ORIGINS`` adds it to
the function's ``CORS_ALLOWED_ORIGINS`` and to the upload bucket's rule. A
``CORS_ALLOWED_ORIGINS`` from the environment is the function's, as is.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.config import ConfigError, Settings
from localcloud.stack import LocalCloud
from tests.e2e.forms import request

DEV_SERVER = "http://localhost:5173"
OTHER = "https://preview.example:8443"
STRANGER = "http://localhost:6666"


def preflight(url: str, origin: str) -> tuple[int, str | None]:
    """Send the browser's preflight for a cross-origin POST; return status and allowed origin."""
    status, headers, _ = request("OPTIONS", url, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    return status, headers.get("access-control-allow-origin")


@pytest.fixture(scope="module")
def with_extra_origins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud.start(tmp_path_factory.mktemp("extra"), publish_web=False,
                          extra_origins=(DEV_SERVER, OTHER)) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def with_explicit_cors(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud.start(tmp_path_factory.mktemp("explicit"), publish_web=False,
                          inherited_env={"CORS_ALLOWED_ORIGINS": OTHER},
                          extra_origins=(DEV_SERVER,)) as cloud:
        yield cloud


def test_extra_origins_are_allowed_by_the_function_and_the_upload_bucket(
    with_extra_origins: LocalCloud,
) -> None:
    cloud = with_extra_origins
    assert cloud.page_origins == (cloud.website_origin, DEV_SERVER, OTHER)
    assert cloud.function_cors_origins == f"{cloud.website_origin},{DEV_SERVER},{OTHER}"
    [rule] = cloud.emulator.buckets.require(cloud.bucket).cors_rules
    assert rule.allowed_origins == (cloud.website_origin, DEV_SERVER, OTHER)
    assert cloud.function_url is not None
    for origin in (cloud.website_origin, DEV_SERVER, OTHER):
        assert preflight(f"{cloud.function_url}/uploads", origin)[1] == origin
        assert preflight(cloud.post_url, origin) == (200, origin)


def test_an_origin_nobody_named_is_still_refused(with_extra_origins: LocalCloud) -> None:
    cloud = with_extra_origins
    assert cloud.function_url is not None
    assert preflight(f"{cloud.function_url}/uploads", STRANGER)[1] is None
    assert preflight(cloud.post_url, STRANGER)[0] == 403


def test_an_explicit_cors_allowed_origins_is_the_functions_as_is(
    with_explicit_cors: LocalCloud,
) -> None:
    cloud = with_explicit_cors
    assert cloud.function_cors_origins == OTHER
    assert cloud.function_url is not None
    assert preflight(f"{cloud.function_url}/uploads", OTHER)[1] == OTHER
    assert preflight(f"{cloud.function_url}/uploads", cloud.website_origin)[1] is None
    # The upload bucket's rule stays the page's origin plus DEV_EXTRA_ORIGINS.
    [rule] = cloud.emulator.buckets.require(cloud.bucket).cors_rules
    assert rule.allowed_origins == (cloud.website_origin, DEV_SERVER)


def test_without_extra_origins_only_the_page_origin_is_allowed(tmp_path: Path) -> None:
    with LocalCloud.start(tmp_path, start_function=False, publish_web=False) as cloud:
        assert cloud.page_origins == (cloud.website_origin,)
        assert cloud.function_env({})["CORS_ALLOWED_ORIGINS"] == cloud.website_origin
        [rule] = cloud.emulator.buckets.require(cloud.bucket).cors_rules
        assert rule.allowed_origins == (cloud.website_origin,)


def test_dev_extra_origins_is_a_comma_list_of_origins() -> None:
    settings = Settings.from_env(
        {"DEV_EXTRA_ORIGINS": f" {DEV_SERVER} ,{OTHER},, {DEV_SERVER}, http://[::1]:3000 "})
    assert settings.extra_origins == (DEV_SERVER, OTHER, "http://[::1]:3000")
    assert Settings.from_env({}).extra_origins == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://localhost:5173/", "'http://localhost:5173/' is not an origin"),
        ("localhost:5173", "'localhost:5173' is not an origin"),
        ("ftp://files.example", "'ftp://files.example' is not an origin"),
        ("https://app.example/page", "'https://app.example/page' is not an origin"),
        ("*", "'\\*' is not an origin"),
    ],
    ids=["trailing-slash", "no-scheme", "not-http", "path", "wildcard"],
)
def test_dev_extra_origins_refuses_what_is_not_an_origin(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"DEV_EXTRA_ORIGINS: {message}"):
        Settings.from_env({"DEV_EXTRA_ORIGINS": value})


def test_two_parts_on_one_port_are_refused_before_anything_starts() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"DEV_OSS_PORT": "9300", "DEV_FUNCTION_PORT": "9300",
                           "DEV_STS_PORT": "0"})
    assert str(refused.value) == ("DEV_OSS_PORT and DEV_FUNCTION_PORT are both 9300: "
                                  "each part needs its own port")
