"""Publish the upload page (``web/``) into the emulated page bucket, as the deploy step does.

Owns the admin client of the emulated buckets and the call into the deploy step's
publisher (``deploy/publish_page.py``), so the page lands exactly as a deployment puts it:
in the page bucket (``LocalCloud.web_bucket``), never in the upload bucket.
Uses the official ``alibabacloud-oss-v2`` SDK, so the emulator's object API is exercised
as a real deploy exercises OSS. Never imports the signing function.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from deploy.publish_page import (
    CONFIG_KEY,
    PageFile,
    config_js,
    content_type_for,
    page_files,
    publish,
    with_connect_policy,
)

if TYPE_CHECKING:
    import alibabacloud_oss_v2 as oss

    from localcloud.devidentity import Credentials


class PageCloud(Protocol):
    """What publishing the page needs of a running local cloud (``LocalCloud`` has it all)."""

    @property
    def admin_credentials(self) -> Credentials:
        """The admin identity's AccessKey (long-lived)."""
        ...

    @property
    def region(self) -> str:
        """The region the emulated buckets live in."""
        ...

    @property
    def oss_url(self) -> str:
        """The emulator's path-style endpoint."""
        ...

    @property
    def web_bucket(self) -> str:
        """The bucket the page is served from."""
        ...

    @property
    def function_url(self) -> str | None:
        """The signing function's URL (None: no function, the page says so)."""
        ...


def admin_client(cloud: PageCloud, *, retry_max_attempts: int | None = None) -> oss.Client:
    """Return an official-SDK client for the stack's admin identity, pointed at the emulator."""
    import alibabacloud_oss_v2 as oss

    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        cloud.admin_credentials.access_key_id, cloud.admin_credentials.access_key_secret
    )
    cfg.region = cloud.region
    cfg.endpoint = cloud.oss_url
    if retry_max_attempts is not None:
        cfg.retry_max_attempts = retry_max_attempts
    return oss.Client(cfg)


def upload_web(cloud: PageCloud, web_dir: Path) -> list[str]:
    """Publish the page and its config.js into the page bucket; return the keys.

    ``deploy/publish_page.py`` is what s.yaml's success-deploy hook runs against real OSS, so
    ``make dev`` and the tests exercise the exact file list, content types, ACL,
    Content-Security-Policy (``connect-src``: the function and the emulator only) and
    ``config.js`` a deployment produces.
    """
    files = page_files(web_dir)
    if cloud.function_url:  # without a function the page says it is not configured
        # connect-src as a deployment writes it: the function and the upload endpoint only
        files = with_connect_policy(files, cloud.function_url, cloud.oss_url)
        files.append(PageFile(CONFIG_KEY, config_js(cloud.function_url),
                              content_type_for(CONFIG_KEY)))
    return publish(admin_client(cloud), cloud.web_bucket, files, "public-read", "no-cache")
