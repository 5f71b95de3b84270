"""Fixtures of the browser tests: local clouds shaped per test and a fresh chromium per test.

Each test that needs different function settings (limits, policy lifetime) or a different
bucket CORS rule gets its own stack; the plain upload tests share one per module. The page
is always the one the stack published into the emulated page bucket, on its website origin
(the uploads go to the other bucket, another origin).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.web.browser import PageSession, page_session

StartCloud = Callable[..., LocalCloud]
WEB_DIR = Path(__file__).resolve().parents[2] / "web"
#: Function limits for the plain upload tests: room for the 50 MB file.
SHARED_MAX_BYTES = 64 * 1024 * 1024


def publish_file(cloud: LocalCloud, key: str, body: bytes, content_type: str) -> None:
    """Put one public-read file into the page bucket, served on the website origin."""
    admin_client(cloud).put_object(oss.PutObjectRequest(
        bucket=cloud.web_bucket, key=key, acl="public-read", cache_control="no-cache",
        content_type=content_type, body=body,
    ))


def publish_config(cloud: LocalCloud, **extra: Any) -> None:
    """Rewrite config.js in the page bucket as a deploy step would, mirroring the limits (the
    page's CSP is the stack's own: webupload publishes it as a deploy writes it)."""
    settings = {"apiBase": cloud.function_url, **extra}
    script = f"window.OSS_UPLOAD_CONFIG = {json.dumps(settings)};\n"
    publish_file(cloud, "config.js", script.encode(), "text/javascript; charset=utf-8")


@pytest.fixture
def start_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartCloud]:
    """Start stacks with test-specific settings; every one is stopped, even on failure."""
    started: list[LocalCloud] = []

    def start(env: Mapping[str, str] | None = None, **kwargs: Any) -> LocalCloud:
        cloud = LocalCloud.start(
            tmp_path_factory.mktemp("cloud"), function_env_overrides=dict(env or {}), **kwargs
        )
        started.append(cloud)
        return cloud

    yield start
    for cloud in started:
        cloud.stop()


@pytest.fixture(scope="module")
def shared_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """One stack for the tests that need only the default settings and a 64 MiB limit."""
    cloud = LocalCloud.start(
        tmp_path_factory.mktemp("shared-cloud"),
        function_env_overrides={"UPLOAD_MAX_BYTES": str(SHARED_MAX_BYTES)},
    )
    try:
        publish_config(cloud, maxBytes=SHARED_MAX_BYTES)
        yield cloud
    finally:
        cloud.stop()


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PageSession]:
    """A fresh chromium profile and page; a screenshot named after the test is always kept."""
    with page_session(tmp_path / "profile", request.node.name) as session:
        yield session
