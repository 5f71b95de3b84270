"""Two origins: the page's website origin never serves an upload (README "Two origins").

The page lives in its own bucket with website hosting; the upload bucket is private and
has no website. Whatever an uploader manages to store, even HTML made public-read, must
not be served from the page's origin, where it could read the page's storage.
"""

from __future__ import annotations

from collections.abc import Iterator

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.stack import LocalCloud
from tests.e2e.forms import multipart, post_json, request

#: An upload stored the worst way an uploader could hope for.
HOSTILE_HTML = b"<!doctype html><script>fetch('/x?'+document.cookie)</script>uploaded"
#: Keys an admin plants in the upload bucket: under the upload dir, and where the page's
#: own documents live (an index at the root and of the upload dir).
PLANTED_KEYS = ("uploads/2026/01/01/planted.html", "index.html", "uploads/index.html")


@pytest.fixture(scope="module")
def planted(local_cloud: LocalCloud, oss_admin: oss.Client) -> Iterator[tuple[str, ...]]:
    """HTML objects in the upload bucket, public-read with text/html, put by the admin."""
    for key in PLANTED_KEYS:
        oss_admin.put_object(oss.PutObjectRequest(
            bucket=local_cloud.bucket, key=key, body=HOSTILE_HTML,
            content_type="text/html; charset=utf-8", acl="public-read",
        ))
    yield PLANTED_KEYS


@pytest.fixture(scope="module")
def uploaded_key(local_cloud: LocalCloud) -> str:
    """An HTML file stored through a real grant, as a browser would store it."""
    status, grant = post_json(
        f"{local_cloud.function_url}/uploads",
        {"filename": "page.html", "size": len(HOSTILE_HTML), "content_type": "text/html"},
        origin=local_cloud.website_origin,
    )
    assert status == 200, grant
    body, ctype = multipart(grant["fields"], "page.html", HOSTILE_HTML, "text/html")
    status, _, answer = request("POST", grant["url"], body,
                                {"Content-Type": ctype, "Origin": local_cloud.website_origin})
    assert status == 200, answer  # the grant pins success_action_status 200
    return str(grant["key"])


def website(cloud: LocalCloud, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    return request(method, f"{cloud.website_origin}{path}",
                   headers={"Host": cloud.website_origin.split("//", 1)[1]})


def website_paths(cloud: LocalCloud, keys: tuple[str, ...]) -> list[str]:
    """Every way a website URL could name an upload: the key, path-style, directories.

    ``/index.html`` is left out: on the website it is the page itself (checked below).
    """
    paths = [f"/{cloud.bucket}", f"/{cloud.bucket}/", "/uploads/", f"/{cloud.bucket}/uploads/"]
    for key in keys:
        paths.append(f"/{cloud.bucket}/{key}")
        if key != "index.html":
            paths.append(f"/{key}")
    return paths


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_website_origin_never_serves_an_upload_even_public_html(
    local_cloud: LocalCloud, planted: tuple[str, ...], uploaded_key: str, method: str
) -> None:
    for path in website_paths(local_cloud, (*planted, uploaded_key)):
        status, _, body = website(local_cloud, method, path)
        assert status == 404, (path, status)
        assert HOSTILE_HTML not in body


def test_the_planted_upload_is_public_on_the_bucket_endpoint_so_the_check_above_means_something(
    local_cloud: LocalCloud, planted: tuple[str, ...]
) -> None:
    # Reachable anonymously through the API endpoint (another origin), as on OSS.
    status, _, body = request("GET", f"{local_cloud.post_url}/{planted[0]}")
    assert (status, body) == (200, HOSTILE_HTML)


@pytest.mark.parametrize("path", ["/", "/index.html"])
def test_page_is_served_from_the_page_bucket_not_the_upload_bucket(
    local_cloud: LocalCloud, oss_admin: oss.Client, planted: tuple[str, ...], path: str
) -> None:
    page = oss_admin.get_object(oss.GetObjectRequest(bucket=local_cloud.web_bucket,
                                                     key="index.html")).body.read()
    status, headers, body = website(local_cloud, "GET", path)
    assert (status, body) == (200, page)
    assert headers["content-type"].startswith("text/html")
    assert HOSTILE_HTML not in body
    assert oss_admin.is_object_exist(local_cloud.bucket, "config.js") is False


@pytest.mark.parametrize("path_suffix", ["", "/"])
def test_upload_bucket_root_without_query_is_not_website_content(
    local_cloud: LocalCloud, planted: tuple[str, ...], path_suffix: str
) -> None:
    for method in ("GET", "HEAD"):
        status, headers, body = request(method, local_cloud.post_url + path_suffix)
        assert status >= 400, (method, status)
        assert HOSTILE_HTML not in body
        assert not headers.get("content-type", "").startswith("text/html")


def test_upload_bucket_virtual_host_root_is_not_website_content(
    local_cloud: LocalCloud, planted: tuple[str, ...]
) -> None:
    host = f"{local_cloud.bucket}.localhost:{local_cloud.emulator.port}"
    status, headers, body = request("GET", f"{local_cloud.oss_url}/", headers={"Host": host})
    assert status >= 400
    assert HOSTILE_HTML not in body
    assert not headers.get("content-type", "").startswith("text/html")


def test_only_the_page_bucket_has_website_hosting(local_cloud: LocalCloud) -> None:
    buckets = local_cloud.emulator.buckets
    upload, page = buckets.require(local_cloud.bucket), buckets.require(local_cloud.web_bucket)
    assert upload.index_document is None and upload.error_document is None
    assert page.index_document == "index.html"
    assert (upload.acl, page.acl) == ("private", "private")
    assert local_cloud.emulator.app.website_bucket == local_cloud.web_bucket
    assert local_cloud.web_bucket != local_cloud.bucket
