"""Settings.from_env: defaults, validation, every problem at once."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
from uploadsign import config
from uploadsign.config import ENV_VARS, Settings, StsEndpoint
from uploadsign.errors import ConfigurationError

from .support import BASE_ENV, ROLE_ARN

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_fill_everything_but_the_three_required_variables() -> None:
    settings = Settings.from_env(
        {"OSS_BUCKET": "b-1", "OSS_REGION": "cn-shanghai", "OSS_STS_ROLE_ARN": ROLE_ARN}
    )
    assert settings == Settings(
        bucket="b-1",
        region="cn-shanghai",
        host="https://b-1.oss-cn-shanghai.aliyuncs.com",
        upload_dir="uploads/",
        role_arn=ROLE_ARN,
        sts_endpoint=StsEndpoint("sts.cn-shanghai.aliyuncs.com", "https"),
    )


def test_local_cloud_values_are_accepted() -> None:
    env = {
        **BASE_ENV,
        "OSS_HOST": "http://127.0.0.1:9100/example-bucket/",
        "STS_ENDPOINT": "http://127.0.0.1:9200",
        "OSS_UPLOAD_DIR": "incoming",
        "UPLOAD_ALLOWED_CONTENT_TYPES": "image/png,image/jpeg",
        "CORS_ALLOWED_ORIGINS": "http://127.0.0.1:8080, http://localhost:8080",
        "UPLOAD_SUCCESS_ACTION_STATUS": "201",
    }
    settings = Settings.from_env(env)
    assert settings.host == "http://127.0.0.1:9100/example-bucket"
    assert settings.sts_endpoint == StsEndpoint("127.0.0.1:9200", "http")
    assert settings.upload_dir == "incoming/"
    assert settings.allowed_content_types == ("image/png", "image/jpeg")
    assert settings.cors_allowed_origins == ("http://127.0.0.1:8080", "http://localhost:8080")
    assert settings.success_action_status == "201"


def test_every_problem_is_reported_at_once() -> None:
    env = {
        "OSS_REGION": "Hangzhou!",
        "OSS_STS_ROLE_ARN": "arn:aws:iam::1:role/x",
        "OSS_HOST": "ftp://x",
        "OSS_UPLOAD_DIR": "../etc/",
        "STS_ENDPOINT": "http://h:1/path",
        "STS_DURATION_SECONDS": "abc",
        "STS_TIMEOUT_SECONDS": "0",
        "STS_ROLE_SESSION_NAME": "a b",
        "UPLOAD_EXPIRE_SECONDS": "5",
        "UPLOAD_MAX_BYTES": "-1",
        "UPLOAD_ALLOWED_CONTENT_TYPES": "image/png,not a type",
        "UPLOAD_SUCCESS_ACTION_STATUS": "302",
        "CORS_ALLOWED_ORIGINS": "https://ok.example, https://x.example/path",
    }
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env(env)
    named = {problem.split(" ", 1)[0] for problem in info.value.problems}
    assert named == {
        "OSS_BUCKET", "OSS_REGION", "OSS_STS_ROLE_ARN", "OSS_HOST", "OSS_UPLOAD_DIR",
        "STS_ENDPOINT", "STS_DURATION_SECONDS", "STS_TIMEOUT_SECONDS", "STS_ROLE_SESSION_NAME",
        "UPLOAD_EXPIRE_SECONDS", "UPLOAD_MAX_BYTES", "UPLOAD_ALLOWED_CONTENT_TYPES",
        "UPLOAD_SUCCESS_ACTION_STATUS", "CORS_ALLOWED_ORIGINS",
    }
    assert info.value.status == 500 and info.value.code == "misconfigured"


def test_refresh_margin_must_leave_room_below_the_duration() -> None:
    env = {**BASE_ENV, "STS_DURATION_SECONDS": "900", "STS_REFRESH_MARGIN_SECONDS": "900"}
    with pytest.raises(ConfigurationError, match="STS_REFRESH_MARGIN_SECONDS"):
        Settings.from_env(env)


def test_env_vars_lists_exactly_the_names_of_the_table_once() -> None:
    assert ENV_VARS == tuple(variable.name for variable in config.VARIABLES)
    assert len(ENV_VARS) == len(set(ENV_VARS))
    assert not set(ENV_VARS) & set(config.PLATFORM_MARKER_VARS)


def test_every_settings_field_but_the_platform_marker_comes_from_the_table() -> None:
    table = [variable.field for variable in config.VARIABLES]
    assert sorted(table) == sorted(f.name for f in fields(Settings) if f.name != "on_fc")


def test_the_readme_configuration_table_is_the_one_the_settings_table_writes() -> None:
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1]
    lines = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    assert "\n".join(lines) == config.readme_table()


def test_settings_repr_hides_the_jwt_secret() -> None:
    secret = "FAKE-HS256-SECRET-for-repr-test-0123456789"
    settings = Settings.from_env(
        {**BASE_ENV, "AUTH_MODE": "jwt", "AUTH_JWT_SECRET": secret}
    )
    assert settings.auth_jwt_secret == secret
    assert secret not in repr(settings)
    assert "auth_jwt_secret" not in repr(settings)


def test_allowed_content_type_with_a_part_over_127_characters_is_refused() -> None:
    # No request could carry it: grants.parse_upload_request applies the same MIME rule.
    env = {**BASE_ENV, "UPLOAD_ALLOWED_CONTENT_TYPES": "image/png,image/" + "p" * 128}
    with pytest.raises(ConfigurationError, match="UPLOAD_ALLOWED_CONTENT_TYPES"):
        Settings.from_env(env)


@pytest.mark.parametrize(
    ("value", "fix"),
    [("oss-cn-hangzhou", "cn-hangzhou"), ("oss-cn-beijing.aliyuncs.com", "cn-beijing"),
     ("oss-ap-southeast-1", "ap-southeast-1")],
)
def test_region_written_as_an_endpoint_name_is_refused_naming_the_region_id(
    value: str, fix: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        Settings.from_env({**BASE_ENV, "OSS_REGION": value})
    assert info.value.problems == [
        f"OSS_REGION is the region ID without oss-: use {fix!r}, not {value!r}"
    ]


def test_grant_secrets_are_a_list_the_first_signs_and_repr_hides_them() -> None:
    first, second = "fake-grant-secret-one-for-tests-0123456789", "fake-grant-two-" + "x" * 20
    settings = Settings.from_env({**BASE_ENV, "GRANT_SECRET": f" {first} , {second} "})
    assert settings.grant_secrets == (first.encode(), second.encode())
    assert first not in repr(settings) and second not in repr(settings)


def test_a_grant_secret_shorter_than_32_bytes_is_refused() -> None:
    env = {**BASE_ENV, "GRANT_SECRET": "fake-grant-secret-one-for-tests-0123456789,short"}
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        Settings.from_env(env)


@pytest.mark.parametrize(("value", "on"), [("", False), ("off", False), ("ON", True),
                                           ("true", True), ("0", False)])
def test_sample_route_is_off_unless_switched_on(value: str, on: bool) -> None:
    assert Settings.from_env({**BASE_ENV, "UPLOAD_SAMPLE_ROUTE": value}).sample_route is on


def test_sample_route_switch_takes_only_on_or_off() -> None:
    with pytest.raises(ConfigurationError, match="UPLOAD_SAMPLE_ROUTE must be on or off"):
        Settings.from_env({**BASE_ENV, "UPLOAD_SAMPLE_ROUTE": "maybe"})
