"""Publish the upload page (``web/`` plus a generated ``config.js``) into the page bucket.

One module for every place the page is published: s.yaml's ``success-deploy`` hook and the
manual step after a ROS stack (``python -m deploy.publish_page``), and the local cloud
(``localcloud/webupload.py`` imports it, so ``make dev`` publishes exactly what a deploy
does). Owns the
file-to-object mapping (keys, per-file Content-Type, ACL), the ``config.js`` text the page
reads (``window.OSS_UPLOAD_CONFIG``, see web/README.md), the ``connect-src`` written into
the page's Content-Security-Policy (the function and the upload endpoint, nothing else) and
where the uploader's credentials come from. Works against real OSS and the local emulator
(an ``http://`` IP or ``localhost`` endpoint switches to path-style addressing). Uses
``alibabacloud-oss-v2``; never imports the signing function.

The target is the page bucket (``--web-bucket``, or the ``WEB_BUCKET`` environment
variable), the one with website hosting: never the upload bucket, whose objects must not
be served from the page's origin (README "Two origins").

Credentials: ``--credentials-json PATH`` (``{"AccessKeyId", "AccessKeySecret",
"SecurityToken"?}``, also accepted nested under ``"Credentials"`` as STS answers are), or
the environment variables ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET / _SECURITY_TOKEN.
Secrets never reach argv, output or error messages.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import mimetypes
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
ENV_TOKEN = "ALIBABA_CLOUD_SECURITY_TOKEN"
ENV_WEB_BUCKET = "WEB_BUCKET"
JSON_KEY_ID = "AccessKeyId"
JSON_KEY_SECRET = "AccessKeySecret"
JSON_TOKEN = "SecurityToken"
CONFIG_KEY = "config.js"
CONFIG_GLOBAL = "window.OSS_UPLOAD_CONFIG"
ACLS = ("private", "public-read", "default")
PUBLIC_ACLS = frozenset({"public-read", "public-read-write"})
# Not part of the page: documentation, and the config.js this script generates itself.
SKIPPED_NAMES = frozenset({"README.md", CONFIG_KEY})
# ES modules are refused unless served as JavaScript; HTML must be text/html to render.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
FALLBACK_TYPE = "application/octet-stream"


class PublishError(Exception):
    """Why the page could not be published; the message is safe to print."""


@dataclass(frozen=True)
class Credentials:
    """An AccessKey pair, optionally with an STS token; secrets stay out of repr."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class PageFile:
    """One object to publish."""

    key: str
    body: bytes = field(repr=False)
    content_type: str


def content_type_for(name: str) -> str:
    """Return the Content-Type to store a page file with."""
    suffix = Path(name).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or FALLBACK_TYPE


def function_base_url(url: str) -> str:
    """Validate the signing function's URL and return it without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PublishError(f"--function-url must be an http(s) URL, got {url!r}")
    if parts.query or parts.fragment:
        raise PublishError("--function-url must not carry a query or fragment")
    return url.strip().rstrip("/")


def config_js(
    function_url: str, max_bytes: int | None = None, allowed_types: Sequence[str] = ()
) -> bytes:
    """Render config.js: the page's one global, ``apiBase`` plus optional limit mirrors."""
    settings: dict[str, Any] = {"apiBase": function_base_url(function_url)}
    if max_bytes is not None:
        settings["maxBytes"] = max_bytes
    if allowed_types:
        settings["allowedTypes"] = list(allowed_types)
    return f"{CONFIG_GLOBAL} = {json.dumps(settings)};\n".encode()


#: The page's Content-Security-Policy ``<meta>`` (web/index.html). OSS website hosting serves only
#: the standard object headers (Content-Type, Cache-Control, Content-Disposition, ...), so the
#: policy travels in the page itself; ``frame-ancestors`` cannot (browsers ignore it in a meta).
CSP_META = re.compile(r'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(")')
CONNECT_SRC = re.compile(r"(?:^|;)\s*connect-src[^;]*")


def origin_of(url: str) -> str:
    """Return ``scheme://host[:port]`` of an http(s) URL (a ``*.`` host wildcard is kept).

    Raises PublishError for anything else: a CSP source must not be left to guesswork.
    """
    parts = urlsplit(url.strip())
    host = parts.netloc.rsplit("@", 1)[-1]
    if parts.scheme not in ("http", "https") or not host or re.search(r"[\s;,'\"]", host):
        raise PublishError(f"not an http(s) URL for the page's connect-src: {url!r}")
    return f"{parts.scheme}://{host.lower()}"


def upload_endpoint(region: str) -> str:
    """The upload endpoint when none is given: any bucket on the region's public OSS endpoint.

    Wider than one bucket; pass ``--upload-url`` (the function's OSS_HOST,
    ``https://<bucket>.oss-<region>.aliyuncs.com``) for the exact one.
    """
    return f"https://*.oss-{region}.aliyuncs.com"


def with_connect_policy(
    files: Sequence[PageFile], function_url: str, upload_url: str
) -> list[PageFile]:
    """Set ``connect-src`` of every HTML page's CSP meta to the function's and the upload origin.

    The page fetches only from the signing function (grants, multipart routes) and sends
    only to the upload endpoint (PostObject, part PUTs); every other connection is refused
    by the browser. HTML files without the meta are returned unchanged; so is every other file.
    """
    sources = " ".join(dict.fromkeys((origin_of(function_base_url(function_url)),
                                      origin_of(upload_url))))

    def fill(match: re.Match[str]) -> str:
        rest = CONNECT_SRC.sub("", match[2]).strip(" ;")
        policy = f"{rest}; connect-src {sources}" if rest else f"connect-src {sources}"
        return match[1] + policy + match[3]

    out: list[PageFile] = []
    for page_file in files:
        if page_file.content_type.startswith("text/html"):
            html = CSP_META.sub(fill, page_file.body.decode("utf-8"))
            page_file = PageFile(page_file.key, html.encode("utf-8"), page_file.content_type)
        out.append(page_file)
    return out


def page_files(src: Path, prefix: str = "") -> list[PageFile]:
    """Return the files of ``src`` to publish (sorted; no dotfiles, README or config.js)."""
    if not src.is_dir():
        raise PublishError(f"--src {src} is not a directory")
    files: list[PageFile] = []
    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        relative = path.relative_to(src)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if relative.as_posix() in SKIPPED_NAMES:
            continue
        key = prefix + relative.as_posix()
        files.append(PageFile(key, path.read_bytes(), content_type_for(path.name)))
    return files


def credentials_from_json(path: Path) -> Credentials:
    """Read credentials from a JSON file (flat, or nested under ``Credentials``)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PublishError(f"cannot read credentials JSON {path}: {type(exc).__name__}") from exc
    if isinstance(document, dict) and isinstance(document.get("Credentials"), dict):
        document = document["Credentials"]
    if not isinstance(document, dict):
        raise PublishError(f"credentials JSON {path} is not an object")
    key_id, secret = document.get(JSON_KEY_ID), document.get(JSON_KEY_SECRET)
    if not (isinstance(key_id, str) and key_id and isinstance(secret, str) and secret):
        raise PublishError(f"credentials JSON {path} needs {JSON_KEY_ID} and {JSON_KEY_SECRET}")
    token = document.get(JSON_TOKEN)
    return Credentials(key_id, secret, token if isinstance(token, str) and token else None)


def credentials_from_env(env: Mapping[str, str]) -> Credentials:
    """Read credentials from the ALIBABA_CLOUD_* environment variables."""
    key_id, secret = env.get(ENV_KEY_ID, ""), env.get(ENV_KEY_SECRET, "")
    if not (key_id and secret):
        raise PublishError(
            f"no credentials: set {ENV_KEY_ID} and {ENV_KEY_SECRET} (and {ENV_TOKEN} for STS) "
            "or pass --credentials-json"
        )
    return Credentials(key_id, secret, env.get(ENV_TOKEN) or None)


def load_credentials(path: Path | None, env: Mapping[str, str]) -> Credentials:
    """Read credentials from ``--credentials-json`` when given, else from ``env``."""
    return credentials_from_json(path) if path else credentials_from_env(env)


def needs_path_style(endpoint: str | None) -> bool:
    """True for IP-literal or localhost endpoints (the emulator): no bucket subdomain."""
    if not endpoint:
        return False
    host = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}").hostname or ""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def make_client(region: str, endpoint: str | None, creds: Credentials) -> Any:
    """Build an OSS client (static credentials; path-style for the emulator)."""
    import alibabacloud_oss_v2 as oss

    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        creds.access_key_id, creds.access_key_secret, creds.security_token
    )
    cfg.region = region
    if endpoint:
        cfg.endpoint = endpoint
    if needs_path_style(endpoint):
        cfg.use_path_style = True
    return oss.Client(cfg)


#: The OSS switch a public-read page object depends on, as the OSS console names it.
BPA_SWITCH = 'OSS "Block Public Access"'


def _bpa_advice(acl: str, bucket: str) -> str:
    """The one sentence every Block Public Access refusal ends with."""
    return (f"{acl} objects are refused while {BPA_SWITCH} is on: turn it off for the page "
            f"bucket {bucket} only (bucket and account level; keep it on for the upload bucket)")


def service_error(exc: Exception) -> tuple[int, str]:
    """Return (HTTP status, OSS code) of an SDK error: 0 and the cause's class name when
    OSS did not answer."""
    cause = exc.unwrap() if hasattr(exc, "unwrap") else exc
    return (int(getattr(cause, "status_code", 0) or 0),
            str(getattr(cause, "code", "") or type(cause).__name__))


def refusal(key: str, status: object, code: str, bucket: str, acl: str | None) -> str:
    """Describe a refused PutObject in one line; name Block Public Access when it may be why.

    Since 2025-10-13 OSS turns Block Public Access on for new buckets, and while it is on
    a public-read object ACL is refused with AccessDenied. OSS's exact message for that
    case is not confirmed, so any AccessDenied on a public ACL names the switch.
    """
    line = f"PutObject {key} failed: {status} {code}"
    if code == "AccessDenied" and acl in PUBLIC_ACLS:
        line += f"; {_bpa_advice(acl, bucket)}"
    return line


def _switch_state(read: Callable[[], Any]) -> bool | None:
    """Return a Block Public Access flag read by ``read``; None when it cannot be read."""
    import alibabacloud_oss_v2 as oss

    try:
        configuration = read().public_access_block_configuration
    except oss.exceptions.OperationError:
        # No oss:Get*PublicAccessBlock permission, or an endpoint without the API
        # (the local emulator answers the account level 501): unknown, not "off".
        return None
    flag = getattr(configuration, "block_public_access", None)
    return None if flag is None else flag in (True, "true")


def blocked_levels(client: Any, bucket: str) -> list[str]:
    """Return the Block Public Access switches that are on for ``bucket``: account, bucket.

    Reads GetPublicAccessBlock (account) and GetBucketPublicAccessBlock (bucket). A level
    that cannot be read is left out; the PutObject refusal still names the switch then.
    """
    import alibabacloud_oss_v2 as oss

    states = {
        "account": _switch_state(
            lambda: client.get_public_access_block(oss.GetPublicAccessBlockRequest())),
        "bucket": _switch_state(lambda: client.get_bucket_public_access_block(
            oss.GetBucketPublicAccessBlockRequest(bucket=bucket))),
    }
    return [level for level, on in states.items() if on]


def check_public_access(client: Any, bucket: str, acl: str | None) -> None:
    """Refuse, before any object is written, a public ACL that Block Public Access forbids.

    Raises PublishError naming the switch and the level(s) found on; does nothing for a
    private or bucket-default ACL, whose objects Block Public Access does not refuse.
    """
    if acl not in PUBLIC_ACLS:
        return
    levels = blocked_levels(client, bucket)
    if levels:
        raise PublishError(f"{BPA_SWITCH} is on at {' and '.join(levels)} level; "
                           f"{_bpa_advice(acl, bucket)}")


def publish(
    client: Any, bucket: str, files: Sequence[PageFile], acl: str | None, cache_control: str
) -> list[str]:
    """Put every file; return the keys. OSS errors become PublishError (code only).

    A public ``acl`` is first checked against Block Public Access (:func:`check_public_access`),
    so a refused publish writes nothing rather than half a page.
    """
    import alibabacloud_oss_v2 as oss

    check_public_access(client, bucket, acl)
    uploaded: list[str] = []
    for page_file in files:
        request = oss.PutObjectRequest(
            bucket=bucket,
            key=page_file.key,
            body=page_file.body,
            content_type=page_file.content_type,
            cache_control=cache_control,
            acl=acl,
        )
        try:
            client.put_object(request)
        except oss.exceptions.OperationError as exc:
            status, code = service_error(exc)
            raise PublishError(refusal(page_file.key, status, code, bucket, acl)) from exc
        uploaded.append(page_file.key)
    return uploaded


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--web-bucket", default=None,
                        help=f"the page bucket (website hosting); default: ${ENV_WEB_BUCKET}. "
                        "Never the upload bucket")
    parser.add_argument("--region", required=True, help="region ID, e.g. cn-hangzhou")
    parser.add_argument("--endpoint", help="OSS endpoint; default: the region's public one")
    parser.add_argument("--src", type=Path, default=Path("web"), help="page directory")
    parser.add_argument("--function-url", required=True, help="signing function URL")
    parser.add_argument("--prefix", default="", help="key prefix for the page's objects")
    parser.add_argument("--acl", choices=ACLS, default="public-read",
                        help="object ACL; public-read lets a private bucket serve the page")
    parser.add_argument("--cache-control", default="no-cache")
    parser.add_argument("--upload-url", default=None,
                        help="where browsers send the files (the function's OSS_HOST, "
                        "https://<bucket>.oss-<region>.aliyuncs.com); the page's CSP lets it "
                        "connect only there and to --function-url. Default: any bucket of "
                        "the region's public endpoint")
    parser.add_argument("--max-bytes", type=int, help="mirror of UPLOAD_MAX_BYTES for the page")
    parser.add_argument("--allowed-types", default="",
                        help="comma list mirroring UPLOAD_ALLOWED_CONTENT_TYPES for the page")
    parser.add_argument("--credentials-json", type=Path)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 failure, with a one-line reason)."""
    args = parse_args(argv)
    env = os.environ if env is None else env
    try:
        bucket = (args.web_bucket or env.get(ENV_WEB_BUCKET, "")).strip()
        if not bucket:
            raise PublishError(f"no page bucket: pass --web-bucket or set {ENV_WEB_BUCKET}")
        creds = load_credentials(args.credentials_json, env)
        allowed = [t.strip() for t in args.allowed_types.split(",") if t.strip()]
        files = with_connect_policy(page_files(args.src, args.prefix), args.function_url,
                                    args.upload_url or upload_endpoint(args.region))
        files.append(PageFile(
            args.prefix + CONFIG_KEY,
            config_js(args.function_url, args.max_bytes, allowed),
            content_type_for(CONFIG_KEY),
        ))
        client = make_client(args.region, args.endpoint, creds)
        acl = None if args.acl == "default" else args.acl
        keys = publish(client, bucket, files, acl, args.cache_control)
    except PublishError as exc:
        print(f"publish_page: {exc}", file=sys.stderr)
        return 1
    print(f"publish_page: {len(keys)} objects to oss://{bucket}/{args.prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
