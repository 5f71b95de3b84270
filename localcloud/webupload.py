"""Publish the upload page (``web/``) into the emulated bucket, as the deploy step does.

Owns the file-to-object mapping (content types, public-read ACL) and the generated
``config.js`` that tells the page where the signing function is. Uses the official
``alibabacloud-oss-v2`` SDK with the admin identity, so the emulator's object API is
exercised exactly as a real deploy would exercise OSS. Never imports the signing function.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import alibabacloud_oss_v2 as oss

    from localcloud.stack import LocalCloud

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".md": "text/markdown; charset=utf-8",
}
SKIPPED = {"README.md", "config.js"}


def config_js(function_url: str | None) -> bytes:
    """Render ``config.js`` (``window.OSS_UPLOAD_CONFIG``, see web/README.md)."""
    settings = {"apiBase": function_url or ""}
    return f"window.OSS_UPLOAD_CONFIG = {json.dumps(settings)};\n".encode()


def admin_client(cloud: LocalCloud, *, retry_max_attempts: int | None = None) -> oss.Client:
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


def upload_web(cloud: LocalCloud, web_dir: Path) -> list[str]:
    """Upload every page file plus config.js as public-read objects; return the keys."""
    import alibabacloud_oss_v2 as oss

    client = admin_client(cloud)
    uploaded: list[str] = []

    def put(key: str, body: bytes) -> None:
        content_type = CONTENT_TYPES.get(Path(key).suffix, "application/octet-stream")
        client.put_object(oss.PutObjectRequest(
            bucket=cloud.bucket, key=key, body=body, content_type=content_type,
            acl="public-read", cache_control="no-cache",
        ))
        uploaded.append(key)

    if web_dir.is_dir():
        for path in sorted(p for p in web_dir.rglob("*") if p.is_file()):
            key = path.relative_to(web_dir).as_posix()
            if key not in SKIPPED:
                put(key, path.read_bytes())
    put("config.js", config_js(cloud.function_url))
    return uploaded
