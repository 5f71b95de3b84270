"""The upload page in headless chromium against the local cloud, across three origins.

The page comes from the emulated bucket's website origin (``localhost``), the function
from a second origin and the POST endpoint from a third (``127.0.0.1``), so every CORS
decision is the real one. Bytes are read back with the OSS SDK as the admin identity.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest
from playwright.sync_api import Page, Route

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.web.browser import PageSession, item, open_page, wait_for_state
from tests.web.conftest import StartCloud, publish_config

pytestmark = pytest.mark.browser

MIB = 1024 * 1024
TRAIL_SCRIPT = """() => {
  window.progressTrail = [];
  new MutationObserver((records) => {
    for (const r of records) window.progressTrail.push(Number(r.target.dataset.loaded));
  }).observe(document.getElementById('files'),
             {subtree: true, attributes: true, attributeFilter: ['data-loaded']});
}"""


def write_file(directory: Path, name: str, size: int) -> Path:
    """Write ``size`` random bytes to ``directory/name``."""
    path = directory / name
    with path.open("wb") as handle:
        left = size
        while left:
            chunk = os.urandom(min(left, 4 * MIB))
            handle.write(chunk)
            left -= len(chunk)
    return path


def stored_bytes(cloud: LocalCloud, key: str) -> bytes:
    """Read an object back through the SDK as the admin identity."""
    result = admin_client(cloud).get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=key))
    assert result.body is not None
    return bytes(result.body.content)


def message(page: Page, name: str) -> str:
    return page.inner_text(f"{item(page, name)} .file-msg")


def details(page: Page, name: str, part: str = "dl") -> str:
    """Open the entry's "Details" as a person would; return the text of ``part`` in it."""
    page.click(f"{item(page, name)} summary")
    return page.inner_text(f"{item(page, name)} details {part}")


def attribute(page: Page, name: str, attr: str) -> str:
    return page.get_attribute(item(page, name), attr) or ""


def focused_label(page: Page) -> str:
    return str(page.evaluate(
        "() => document.activeElement.getAttribute('aria-label') || document.activeElement.id"
    ))


def tab_to(page: Page, label: str, limit: int = 15) -> None:
    """Press Tab until the element labelled ``label`` (or with that id) has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_label(page) == label:
            return
    raise AssertionError(f"Tab never reached {label!r}; stuck on {focused_label(page)!r}")


def test_small_file_uploads_and_reads_back_identical(
    shared_cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    open_page(page, shared_cloud.website_url)
    path = write_file(tmp_path, "note.txt", 1234)
    page.set_input_files("#picker", str(path))
    page.click("#start")
    wait_for_state(page, "note.txt", "done")

    key = attribute(page, "note.txt", "data-key")
    assert key.startswith("uploads/") and key.endswith(".txt")
    assert stored_bytes(shared_cloud, key) == path.read_bytes()
    assert int(attribute(page, "note.txt", "data-progress-events")) >= 1
    shown = details(page, "note.txt")
    assert key in shown and "1234 bytes" in shown
    assert "note.txt uploaded" in page.inner_text("#status")


def test_50_mb_file_uploads_with_advancing_progress(
    shared_cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    open_page(page, shared_cloud.website_url)
    page.evaluate(TRAIL_SCRIPT)
    path = write_file(tmp_path, "big.bin", 50 * MIB)
    page.set_input_files("#picker", str(path))
    page.click("#start")
    wait_for_state(page, "big.bin", "done", timeout_ms=180_000)

    trail = page.evaluate("() => window.progressTrail")
    assert len(trail) >= 2, trail
    assert trail == sorted(trail) and trail[0] < trail[-1], trail
    assert trail[-1] >= 50 * MIB  # the multipart body is the file plus the form fields
    key = attribute(page, "big.bin", "data-key")
    digest = hashlib.sha256(stored_bytes(shared_cloud, key)).hexdigest()
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "size", "expected"),
    [
        ("photo.png", 100, 'type "image/png" are not accepted'),
        ("notes.txt", 4096, "the largest allowed is 1.0 kB"),
    ],
    ids=["disallowed-type", "oversized"],
)
def test_file_breaking_a_limit_is_stopped_before_any_request(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path,
    name: str, size: int, expected: str,
) -> None:
    env = {"UPLOAD_MAX_BYTES": "1024", "UPLOAD_ALLOWED_CONTENT_TYPES": "text/plain"}
    cloud = start_cloud(env)
    publish_config(cloud, maxBytes=1024, allowedTypes=["text/plain"])
    page = browser.page
    open_page(page, cloud.website_url)
    page.set_input_files("#picker", str(write_file(tmp_path, name, size)))
    wait_for_state(page, name, "rejected")

    assert expected in message(page, name)
    assert page.is_disabled("#start")
    page.wait_for_timeout(300)  # room for a request the page must not send
    assert browser.requests_to(f"{cloud.function_url}/uploads") == []
    assert browser.requests_to(cloud.oss_url) == []


def test_limits_advertised_on_healthz_alone_stop_a_file_before_any_request(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    cloud = start_cloud({"UPLOAD_MAX_BYTES": "2048", "UPLOAD_ALLOWED_CONTENT_TYPES": "text/plain"})
    page = browser.page
    open_page(page, cloud.website_url)  # config.js as the stack writes it: apiBase only
    assert page.inner_text("#limits") == "Files up to 2.0 kB each; types: text/plain."
    page.set_input_files("#picker", str(write_file(tmp_path, "wide.txt", 4096)))
    wait_for_state(page, "wide.txt", "rejected")

    assert "the largest allowed is 2.0 kB" in message(page, "wide.txt")
    assert browser.requests_to(f"{cloud.function_url}/uploads") == []


def test_expired_grant_is_renewed_once_and_the_upload_succeeds(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    lifetime = 10  # the function's minimum UPLOAD_EXPIRE_SECONDS
    cloud = start_cloud({"UPLOAD_EXPIRE_SECONDS": str(lifetime)})
    page = browser.page
    grants_held: list[str] = []

    def hold_first_grant(route: Route) -> None:
        # The real grant, handed over only after it has really expired.
        response = route.fetch()
        if not grants_held:
            grants_held.append(response.json()["key"])
            time.sleep(lifetime + 1.5)
        route.fulfill(response=response)

    page.route(f"{cloud.function_url}/uploads", hold_first_grant)
    open_page(page, cloud.website_url)
    path = write_file(tmp_path, "late.txt", 2000)
    page.set_input_files("#picker", str(path))
    page.click("#start")
    wait_for_state(page, "late.txt", "done", timeout_ms=60_000)

    assert attribute(page, "late.txt", "data-renewals") == "1"
    assert len(browser.requests_to(f"{cloud.function_url}/uploads", "POST")) == 2
    key = attribute(page, "late.txt", "data-key")
    assert key != grants_held[0]
    assert stored_bytes(cloud, key) == path.read_bytes()


def test_existing_key_yields_the_overwrite_message_and_keeps_the_stored_object(
    shared_cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    original = b"already here"

    def occupy_key(route: Route) -> None:
        # Someone stores an object under the granted key before the browser's POST lands.
        response = route.fetch()
        admin_client(shared_cloud).put_object(oss.PutObjectRequest(
            bucket=shared_cloud.bucket, key=response.json()["key"], body=original))
        route.fulfill(response=response)

    page.route(f"{shared_cloud.function_url}/uploads", occupy_key)
    open_page(page, shared_cloud.website_url)
    page.set_input_files("#picker", str(write_file(tmp_path, "clash.txt", 500)))
    page.click("#start")
    wait_for_state(page, "clash.txt", "error")

    assert attribute(page, "clash.txt", "data-error-code") == "FileAlreadyExists"
    assert "already stored under the key" in message(page, "clash.txt")
    assert "overwriting is not allowed" in message(page, "clash.txt")
    assert page.is_visible(f"{item(page, 'clash.txt')} button:has-text('Retry')")
    assert stored_bytes(shared_cloud, attribute(page, "clash.txt", "data-key")) == original


def test_bucket_without_cors_rule_for_the_page_shows_the_cors_hint(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    cloud = start_cloud(cors_origins=("https://some-other-site.example",))
    page = browser.page
    open_page(page, cloud.website_url)
    page.set_input_files("#picker", str(write_file(tmp_path, "blocked.txt", 300)))
    page.click("#start")
    wait_for_state(page, "blocked.txt", "error")

    assert attribute(page, "blocked.txt", "data-error-code") == "network_or_cors"
    text = message(page, "blocked.txt")
    assert "CORS rule" in text and cloud.website_origin in text and "POST" in text
    assert cloud.website_origin in page.inner_text("#status")


def test_keyboard_only_upload_with_cancel_and_retry(
    shared_cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    held: list[Route] = []

    def hold_first_grant(route: Route) -> None:
        if not held:
            held.append(route)  # never answered: the upload waits until cancelled
        else:
            route.continue_()

    page.route(f"{shared_cloud.function_url}/uploads", hold_first_grant)
    open_page(page, shared_cloud.website_url)
    path = write_file(tmp_path, "typed.txt", 3000)

    tab_to(page, "picker")
    page.set_input_files("#picker", str(path))  # the OS picker itself is not scriptable
    tab_to(page, "start")
    page.keyboard.press("Enter")
    page.wait_for_selector(f'{item(page, "typed.txt")}[data-state="signing"]')

    tab_to(page, "Cancel typed.txt")
    page.keyboard.press("Space")
    wait_for_state(page, "typed.txt", "cancelled")
    assert focused_label(page) == "Retry typed.txt"  # focus stays on the entry

    page.keyboard.press("Enter")
    wait_for_state(page, "typed.txt", "done")
    key = attribute(page, "typed.txt", "data-key")
    assert stored_bytes(shared_cloud, key) == path.read_bytes()


def test_several_files_upload_three_at_a_time_on_a_phone_sized_screen(
    shared_cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    page.set_viewport_size({"width": 375, "height": 740})
    held: list[Route] = []
    holding = [True]

    def hold_while_asked(route: Route) -> None:
        if holding[0]:
            held.append(route)
        else:
            route.continue_()

    page.route(f"{shared_cloud.function_url}/uploads", hold_while_asked)
    open_page(page, shared_cloud.website_url)
    paths = [write_file(tmp_path, f"part-{n}.txt", 700 + n) for n in range(5)]
    page.set_input_files("#picker", [str(p) for p in paths])
    page.click("#start")
    page.wait_for_function("() => document.querySelectorAll('li[data-state=signing]').length === 3")
    page.wait_for_timeout(300)  # room for a fourth grant request the queue must not send
    states = page.eval_on_selector_all("li.file", "els => els.map(e => e.dataset.state)")
    assert sorted(states) == ["queued", "queued", "signing", "signing", "signing"]
    assert len(held) == 3

    holding[0] = False
    for route in held:
        route.continue_()
    for path in paths:
        wait_for_state(page, path.name, "done")
        key = attribute(page, path.name, "data-key")
        assert stored_bytes(shared_cloud, key) == path.read_bytes()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # Compact rows: five finished files and the summary fit in about one phone screen.
    rows = page.eval_on_selector_all("li.file", "els => els.map(e => e.offsetHeight)")
    assert max(rows) <= 120, rows
    assert page.evaluate("() => document.documentElement.scrollHeight") <= 1000
    assert page.inner_text("#summary-text") == "5 of 5 uploaded"


def test_dropped_file_uploads(shared_cloud: LocalCloud, browser: PageSession) -> None:
    page = browser.page
    open_page(page, shared_cloud.website_url)
    page.evaluate("""() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped bytes\\n'], 'dropped.txt', {type: 'text/plain'}));
      const zone = document.getElementById('drop');
      zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true}));
      zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true}));
    }""")
    page.click("#start")
    wait_for_state(page, "dropped.txt", "done")
    key = attribute(page, "dropped.txt", "data-key")
    assert stored_bytes(shared_cloud, key) == b"dropped bytes\n"


def test_unconfigured_page_accepts_no_dropped_file(
    start_cloud: StartCloud, browser: PageSession
) -> None:
    cloud = start_cloud()
    publish_config(cloud, apiBase="")  # as a deploy that forgot the function URL
    page = browser.page
    page.goto(cloud.website_url)
    page.wait_for_function("() => document.querySelector('#picker').disabled")
    page.evaluate("""() => {
      const data = new DataTransfer();
      data.items.add(new File(['dropped bytes\\n'], 'dropped.txt', {type: 'text/plain'}));
      document.getElementById('drop').dispatchEvent(
        new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
    }""")

    assert page.inner_text("#limits").startswith("This page is not configured")
    assert page.locator("#files li").count() == 0
    assert page.is_disabled("#start")


@pytest.mark.parametrize(
    ("env", "name", "size", "code", "expected"),
    [
        ({"UPLOAD_ALLOWED_CONTENT_TYPES": "text/plain"}, "photo.png", 100,
         "unsupported_content_type", "This file type is not accepted by this site"),
        ({"UPLOAD_MAX_BYTES": "1024"}, "long.txt", 4096,
         "too_large", "This file is too large for this site"),
    ],
    ids=["type", "size"],
)
def test_function_refusal_is_shown_when_the_page_does_not_know_the_limits(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path,
    env: dict[str, str], name: str, size: int, code: str, expected: str,
) -> None:
    cloud = start_cloud(env)  # config.js as the stack writes it: apiBase only
    page = browser.page

    def health_without_limits(route: Route) -> None:
        # Synthetic: a function that does not advertise its limits, so only it can refuse.
        route.fulfill(status=200, body='{"status": "ok"}', headers={
            "Content-Type": "application/json",
            "Access-Control-Allow-Origin": cloud.website_origin})

    page.route(f"{cloud.function_url}/healthz", health_without_limits)
    open_page(page, cloud.website_url)
    page.set_input_files("#picker", str(write_file(tmp_path, name, size)))
    page.click("#start")
    wait_for_state(page, name, "rejected")  # no Retry: the same file would be refused again

    assert attribute(page, name, "data-error-code") == code
    assert not page.is_visible(f"{item(page, name)} button")
    assert expected in message(page, name)
    assert browser.requests_to(cloud.oss_url, "POST") == []


OSS_ERROR_WORDING = [
    # (status, Code, Message, expected words, renew automatically, retry pointless)
    (403, "AccessDenied", "Invalid according to Policy: Policy expired.",
     "permission expired", True, False),
    (403, "AccessDenied", 'Invalid according to Policy: Policy Condition failed: ["eq"]',
     "refused the upload under the permission", False, False),
    (400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.",
     "larger than storage accepts", False, True),
    (400, "EntityTooSmall", "Your proposed upload smaller than the minimum allowed size.",
     "smaller than storage accepts", False, True),
    (409, "FileAlreadyExists", "The object you specified already exists.",
     "overwriting is not allowed", False, False),
    (403, "SignatureDoesNotMatch", "The request signature we calculated does not match.",
     "rejected the upload signature", False, False),
    (403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist in our records.",
     "temporary upload credentials were not accepted", False, False),
    (403, "SecurityTokenExpired", "The security token you provided has expired.",
     "temporary upload credentials have expired", False, False),
    (500, "InternalError", "We encountered an internal error.",
     "Storage refused the upload (InternalError)", False, False),
]


def test_every_oss_error_code_gets_its_own_human_message(
    shared_cloud: LocalCloud, browser: PageSession
) -> None:
    page = browser.page
    open_page(page, shared_cloud.website_url)
    rows = [list(row[:3]) for row in OSS_ERROR_WORDING]
    answers = page.evaluate("""async (rows) => {
      const m = await import('./js/errors.js');
      return rows.map(([status, code, text]) => {
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\\n<Error>\\n  <Code>${code}</Code>\\n` +
          `  <Message>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message>\\n` +
          `  <RequestId>0123456789ABCDEF01234567</RequestId>\\n</Error>\\n`;
        const f = m.ossFailure(status, m.parseOssError(xml));
        return [f.code, f.message, f.expiredPolicy, f.final];
      });
    }""", rows)
    for (_, code, _, words, renew, final), (got_code, text, expired, got_final) in zip(
        OSS_ERROR_WORDING, answers, strict=True
    ):
        assert (got_code, expired, got_final) == (code, renew, final), text
        assert words in text, (code, text)
        # OSS's own message only where the page has no sentence of its own for the code.
        assert ('Storage said: "' in text) == (code == "InternalError"), text
