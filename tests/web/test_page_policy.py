"""The page's Content-Security-Policy: written by deploy/publish_page.py at publish time with
the page's config, and enforced by chromium.

The policy travels in a ``<meta http-equiv>`` of index.html (OSS website hosting has no way to
add a CSP response header to an object); the publisher sets its ``connect-src`` to exactly the
signing function's origin and the upload endpoint's. Every other browser test of the page
runs under the same policy (tests/web/conftest.py publishes it), so the page is proven to
work within it; this module proves what it refuses.
"""

from __future__ import annotations

import re

import pytest

from deploy.publish_page import PageFile, PublishError, origin_of, with_connect_policy
from localcloud.stack import LocalCloud
from tests.web.browser import PageSession, open_page

FUNCTION = "https://sign-fake.cn-hangzhou.fcapp.run/"
UPLOADS = "https://fake-uploads.oss-cn-hangzhou.aliyuncs.com"
HTML = "text/html; charset=utf-8"
META = ('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        'script-src \'self\'; connect-src *; base-uri \'none\'">')


def policy_of(html: str) -> str:
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', html)
    assert found, html
    return found[1]


def test_connect_src_becomes_the_function_and_the_upload_origin_and_nothing_else() -> None:
    page = PageFile("index.html", f"<head>{META}</head>".encode(), HTML)
    [published] = with_connect_policy([page], FUNCTION, UPLOADS + "/some/path?x=1")
    assert policy_of(published.body.decode()) == (
        "default-src 'none'; script-src 'self'; base-uri 'none'; "
        f"connect-src https://sign-fake.cn-hangzhou.fcapp.run {UPLOADS}")


def test_one_origin_for_both_is_listed_once_and_other_files_are_untouched() -> None:
    files = [PageFile("index.html", META.encode(), HTML),
             PageFile("plain.html", b"<title>no policy</title>", HTML),
             PageFile("js/app.js", META.encode(), "text/javascript; charset=utf-8")]
    index, plain, script = with_connect_policy(files, "http://127.0.0.1:9000",
                                               "http://127.0.0.1:9000/bucket")
    assert policy_of(index.body.decode()).endswith("; connect-src http://127.0.0.1:9000")
    assert (plain, script) == (files[1], files[2])


@pytest.mark.parametrize("url", ["ftp://files.example", "https://", "https://a b.example",
                                 "https://x.example;script-src *", "javascript:alert(1)"])
def test_a_url_that_is_not_plain_http_or_https_is_refused(url: str) -> None:
    with pytest.raises(PublishError):
        origin_of(url)
    with pytest.raises(PublishError):
        with_connect_policy([PageFile("index.html", META.encode(), HTML)], FUNCTION, url)


def test_the_published_page_has_the_policy_and_no_inline_script(
    shared_cloud: LocalCloud, browser: PageSession
) -> None:
    page = browser.page
    open_page(page, shared_cloud.website_url)
    policy = page.get_attribute('meta[http-equiv="Content-Security-Policy"]', "content") or ""
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"].split() == [
        origin_of(shared_cloud.function_url or ""), shared_cloud.oss_url]
    assert directives["default-src"] == "'none'"
    assert page.eval_on_selector_all("script", "els => els.every(s => s.src && !s.text.trim())")


def test_the_browser_reports_and_blocks_a_connection_to_any_other_origin(
    shared_cloud: LocalCloud, browser: PageSession
) -> None:
    page = browser.page
    open_page(page, shared_cloud.website_url)
    other = "http://localhost:9/elsewhere"  # same host, other port: another origin
    outcome = page.evaluate("""async (url) => {
      const reported = new Promise((resolve) => document.addEventListener(
        'securitypolicyviolation', (e) => resolve([e.effectiveDirective, e.blockedURI]),
        {once: true}));
      const sent = await fetch(url).then(() => 'answered', (e) => e.name);
      return [sent, await reported];
    }""", other)
    assert outcome == ["TypeError", ["connect-src", other]]
    assert browser.requests_to(other) == []
    allowed = page.evaluate("(url) => fetch(url).then((r) => r.status)",
                            f"{shared_cloud.function_url}/healthz")
    assert allowed == 200
