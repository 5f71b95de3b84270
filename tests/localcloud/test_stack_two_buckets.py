"""The stack's two buckets, its settings for them, and the grant secret it keeps per state dir.

The stack runs without the function here (``start_function=False``): these are wiring
checks; the served-content checks are in tests/e2e/test_two_origins_e2e.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import config
from localcloud.devidentity import GRANT_SECRET_BYTES, upload_role_permission
from localcloud.oss.buckets import BucketConfig, BucketRegistry
from localcloud.stack import ENDPOINTS_FILE, LocalCloud


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


def start(state_dir: Path, **kwargs: Any) -> LocalCloud:
    return LocalCloud.start(state_dir, start_function=False, publish_web=False, **kwargs)


@pytest.fixture
def cloud(state_dir: Path) -> Iterator[LocalCloud]:
    stack = start(state_dir)
    try:
        yield stack
    finally:
        stack.stop()


def test_upload_bucket_is_private_with_cors_for_the_page_and_no_website(
    cloud: LocalCloud,
) -> None:
    upload = cloud.emulator.buckets.require(cloud.bucket)
    assert (upload.name, upload.acl, upload.index_document) == ("local-uploads", "private", None)
    [rule] = upload.cors_rules
    assert rule.allowed_origins == (cloud.website_origin,)
    assert sorted(rule.allowed_methods) == ["GET", "HEAD", "POST", "PUT"]


def test_page_bucket_has_website_hosting_and_is_what_the_website_host_serves(
    cloud: LocalCloud,
) -> None:
    page = cloud.emulator.buckets.require(cloud.web_bucket)
    assert (page.name, page.acl, page.index_document) == ("local-web", "private", "index.html")
    assert page.cors_rules == ()
    assert cloud.emulator.app.website_bucket == cloud.web_bucket


def test_endpoints_json_names_both_buckets_and_the_grant_secret(cloud: LocalCloud) -> None:
    saved = json.loads((cloud.state_dir / ENDPOINTS_FILE).read_text(encoding="utf-8"))
    assert (saved["bucket"], saved["web_bucket"]) == (cloud.bucket, cloud.web_bucket)
    assert (saved["website_url"], saved["website_origin"]) == (
        cloud.website_url, cloud.website_origin)
    assert saved["post_url"] == f"{cloud.oss_url}/{cloud.bucket}"
    assert saved["grant_secret"] == cloud.grant_secret


def test_grant_secret_is_random_hex_kept_per_state_dir_and_given_to_the_function(
    state_dir: Path, tmp_path: Path
) -> None:
    with start(state_dir) as first:
        secret = first.grant_secret
        assert first.function_env({})["GRANT_SECRET"] == secret
        assert first.function_env({"GRANT_SECRET": "override"})["GRANT_SECRET"] == "override"
    assert len(bytes.fromhex(secret)) == GRANT_SECRET_BYTES
    assert secret not in repr(first)
    with start(state_dir) as again:
        assert again.grant_secret == secret
    with start(tmp_path / "elsewhere") as other:
        assert other.grant_secret != secret


def test_grant_secret_from_the_shell_does_not_replace_the_state_dirs_own(
    state_dir: Path,
) -> None:
    with start(state_dir, inherited_env={"GRANT_SECRET": "from-the-deploy-shell"}) as stack:
        assert stack.function_env({})["GRANT_SECRET"] == stack.grant_secret


@pytest.mark.parametrize("saved", ["short", "zz" * GRANT_SECRET_BYTES, 42, None])
def test_unusable_saved_grant_secret_is_replaced(state_dir: Path, saved: object) -> None:
    with start(state_dir):
        pass
    path = state_dir / ENDPOINTS_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    document["grant_secret"] = saved
    path.write_text(json.dumps(document), encoding="utf-8")
    with start(state_dir) as stack:
        assert json.loads(path.read_text(encoding="utf-8"))["grant_secret"] == stack.grant_secret
        assert stack.grant_secret != saved
        assert len(bytes.fromhex(stack.grant_secret)) == GRANT_SECRET_BYTES


def test_a_state_dir_from_the_one_bucket_layout_loses_the_upload_buckets_website(
    state_dir: Path,
) -> None:
    BucketRegistry(state_dir / "buckets").put(BucketConfig(
        name=config.DEFAULT_BUCKET, acl="private", index_document="index.html"))
    with start(state_dir) as stack:
        assert stack.emulator.buckets.require(stack.bucket).index_document is None


def test_page_bucket_and_upload_bucket_must_differ(state_dir: Path) -> None:
    with pytest.raises(ValueError, match="page bucket"):
        start(state_dir, bucket="same-bucket", web_bucket="same-bucket")
    assert not state_dir.exists()


def test_settings_read_the_page_bucket_from_dev_web_bucket() -> None:
    assert config.Settings.from_env({}).web_bucket == "local-web"
    assert config.Settings.from_env({"DEV_WEB_BUCKET": " my-page "}).web_bucket == "my-page"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEV_WEB_BUCKET": "Not_A_Bucket"},
         "DEV_WEB_BUCKET='Not_A_Bucket' is not a valid OSS bucket name"),
        ({"DEV_WEB_BUCKET": "one", "DEV_BUCKET": "one"},
         "DEV_WEB_BUCKET and DEV_BUCKET must differ"),
        ({"DEV_WEB_BUCKET": "local-uploads"}, "DEV_WEB_BUCKET and DEV_BUCKET must differ"),
    ],
    ids=["invalid-name", "same-as-dev-bucket", "same-as-default-upload-bucket"],
)
def test_bad_page_bucket_setting_is_reported(env: dict[str, str], message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.Settings.from_env(env)


def test_upload_role_may_put_objects_their_acl_and_multipart_under_the_upload_dir_only() -> None:
    assert upload_role_permission("b") == {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["oss:PutObject", "oss:PutObjectAcl", "oss:ListParts",
                                      "oss:AbortMultipartUpload"],
        "Resource": ["acs:oss:*:*:b/uploads/*"],
    }]}
