"""The upload page sends large files as multipart uploads through the function's routes.

Headless chromium against the local cloud with a 1 MiB multipart threshold and 256 KiB
parts, so a few-MiB file is a dozen parts. Parts are held in flight with Playwright routes
(a held PUT has not reached the emulator), which is how a test pauses, cancels or kills the
page mid-upload at a known point. Bytes are read back with the OSS SDK as the admin identity;
what is left of an upload is asked of the emulator with ListMultipartUploads.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import alibabacloud_oss_v2 as oss
import pytest
from playwright.sync_api import Page, Route

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.web.browser import PageSession, item, open_page, page_session, wait_for_state
from tests.web.conftest import StartCloud, publish_config
from tests.web.test_upload_page import (
    TRAIL_SCRIPT,
    attribute,
    details,
    focused_label,
    message,
    stored_bytes,
    write_file,
)

pytestmark = pytest.mark.browser

KIB = 1024
PART = 256 * KIB
THRESHOLD = 1024 * KIB
MULTIPART_ENV = {
    "UPLOAD_MAX_BYTES": str(64 * 1024 * KIB),
    "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(THRESHOLD),
    "UPLOAD_PART_SIZE_BYTES": str(PART),
}
#: web/js/settings.js's default number of parts in flight.
PARTS_IN_FLIGHT = 4
RESUME_KEY = "oss-upload-resume"


@dataclass
class PartGate:
    """Let the first ``allow`` part PUTs through to the emulator and hold the rest unanswered.

    ``fail`` maps a part number to how many of its PUTs are cut (connection reset) before
    one passes. Every PUT the page sends is recorded with its part number and body length;
    a cut one in ``refused`` only.
    """

    oss_url: str
    allow: int = 1 << 30
    fail: dict[int, int] = field(default_factory=dict)
    sent: list[tuple[int, int]] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    held: list[Route] = field(default_factory=list)

    def __call__(self, route: Route) -> None:
        request = route.request
        if request.method != "PUT":
            route.continue_()
            return
        number = int(parse_qs(urlsplit(request.url).query)["partNumber"][0])
        if self.fail.get(number, 0) > self.refused.count(number):
            self.refused.append(number)
            route.abort("connectionreset")
            return
        self.sent.append((number, len(request.post_data_buffer or b"")))
        if len(self.sent) <= self.allow:
            route.continue_()
        else:
            self.held.append(route)

    @classmethod
    def on(cls, page: Page, oss_url: str, **settings: Any) -> PartGate:
        """A gate routing ``page``'s requests to ``oss_url``."""
        gate = cls(oss_url, **settings)
        page.route(f"{oss_url}/**", gate)
        return gate

    def open(self) -> None:
        """Stop holding: later PUTs pass (the held ones stay held, or die with the page)."""
        self.allow = 1 << 30

    def wait_held(self, page: Page, count: int) -> None:
        """Let the page run until ``count`` PUTs are held, then 300 ms more (room for one
        the page must not send)."""
        for _ in range(100):
            if len(self.held) >= count:
                break
            page.wait_for_timeout(50)
        page.wait_for_timeout(300)

    def release(self) -> None:
        """Stop holding and let the held PUTs go on to the emulator."""
        self.open()
        for route in self.held:
            route.continue_()
        self.held.clear()


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """One stack whose function plans 256 KiB parts for files above 1 MiB (callback on)."""
    stack = LocalCloud.start(tmp_path_factory.mktemp("multipart-cloud"),
                             function_env_overrides=MULTIPART_ENV)
    try:
        publish_config(stack)
        yield stack
    finally:
        stack.stop()


def start_upload(page: Page, cloud: LocalCloud, path: Path) -> None:
    """Open the page, pick ``path`` and press Upload."""
    open_page(page, cloud.website_url)
    page.set_input_files("#picker", str(path))
    page.click("#start")


def part_count(size: int) -> int:
    return math.ceil(size / PART)


def part_bytes(size: int, number: int) -> int:
    return PART if number < part_count(size) else size - (part_count(size) - 1) * PART


def open_uploads(cloud: LocalCloud, key: str) -> list[str]:
    """Upload ids the emulator still holds for ``key`` (ListMultipartUploads)."""
    listed = admin_client(cloud).list_multipart_uploads(
        oss.ListMultipartUploadsRequest(bucket=cloud.bucket, prefix=key))
    return [u.upload_id or "" for u in listed.uploads or [] if u.key == key]


def assert_landed(cloud: LocalCloud, key: str, path: Path) -> None:
    """The object under ``key`` is ``path``'s bytes and no upload is left open for it."""
    assert stored_bytes(cloud, key) == path.read_bytes()
    assert open_uploads(cloud, key) == []


def remembered(page: Page) -> dict[str, dict[str, object]]:
    raw = page.evaluate(f"() => localStorage.getItem('{RESUME_KEY}')")
    return json.loads(raw) if raw else {}


def stored_parts(page: Page, name: str) -> int:
    return int(attribute(page, name, "data-parts-stored") or 0)


def test_large_file_goes_multipart_four_parts_at_a_time_and_lands_identical(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    size = 3 * 1024 * KIB + 12345
    gate = PartGate.on(page, cloud.oss_url, allow=0)
    open_page(page, cloud.website_url)
    page.evaluate(TRAIL_SCRIPT)
    path = write_file(tmp_path, "video.bin", size)
    page.set_input_files("#picker", str(path))
    page.click("#start")
    gate.wait_held(page, PARTS_IN_FLIGHT)  # the PUTs it opens while none finishes, and no fifth
    assert sorted(number for number, _ in gate.sent) == list(range(1, PARTS_IN_FLIGHT + 1))
    gate.release()
    wait_for_state(page, "video.bin", "done")

    key = attribute(page, "video.bin", "data-key")
    assert_landed(cloud, key, path)
    assert attribute(page, "video.bin", "data-mode") == "multipart"
    assert attribute(page, "video.bin", "data-part-count") == str(part_count(size))
    assert stored_parts(page, "video.bin") == part_count(size)
    puts = browser.requests_to(cloud.oss_url, "PUT")
    assert sorted(int(parse_qs(urlsplit(u).query)["partNumber"][0]) for u in puts) == list(
        range(1, part_count(size) + 1))
    assert browser.requests_to(cloud.oss_url, "POST") == []
    assert sum(length for _, length in gate.sent) == size  # every part once, bodies of exact size
    # All 13 URLs come in one batch; the page never signs part by part.
    signs = browser.requests_to(f"{cloud.function_url}/uploads/", "POST")
    assert len([u for u in signs if u.endswith("/parts")]) == 1
    trail = page.evaluate("() => window.progressTrail")
    assert trail == sorted(trail) and trail[-1] == size, trail
    assert remembered(page) == {}
    assert "Uploaded" in page.inner_text(f"{item(page, 'video.bin')} .file-state")


def test_file_at_the_threshold_keeps_the_single_post(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    path = write_file(tmp_path, "edge.bin", THRESHOLD)
    start_upload(page, cloud, path)
    wait_for_state(page, "edge.bin", "done")

    assert stored_bytes(cloud, attribute(page, "edge.bin", "data-key")) == path.read_bytes()
    assert attribute(page, "edge.bin", "data-mode") == ""
    assert len(browser.requests_to(cloud.oss_url, "POST")) == 1
    assert browser.requests_to(cloud.oss_url, "PUT") == []


def test_pause_stops_sending_and_resume_sends_only_the_missing_parts(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    gate = PartGate.on(page, cloud.oss_url, allow=3)
    size = 2 * 1024 * KIB + 999
    path = write_file(tmp_path, "paused.bin", size)
    start_upload(page, cloud, path)
    page.wait_for_function("() => document.querySelector('li.file').dataset.partsStored === '3'")
    page.focus("button[aria-label='Pause paused.bin']")
    page.keyboard.press("Enter")
    wait_for_state(page, "paused.bin", "paused")

    assert "Paused" in message(page, "paused.bin")
    assert focused_label(page) == "Resume paused.bin"  # the keyboard stays on the entry
    key = attribute(page, "paused.bin", "data-key")
    assert len(open_uploads(cloud, key)) == 1
    first_run = len(gate.sent)
    gate.open()
    page.keyboard.press("Enter")
    wait_for_state(page, "paused.bin", "done")

    stored = {number for number, _ in gate.sent[:3]}  # the three let through, in any order
    resent = sorted(number for number, _ in gate.sent[first_run:])
    assert resent == sorted(set(range(1, part_count(size) + 1)) - stored)
    assert attribute(page, "paused.bin", "data-resumed-parts") == "3"
    assert_landed(cloud, key, path)


def test_cancel_aborts_the_upload_and_leaves_no_parts(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    gate = PartGate.on(page, cloud.oss_url, allow=2)
    start_upload(page, cloud, write_file(tmp_path, "dropped.bin", 2 * 1024 * KIB))
    page.wait_for_function("() => document.querySelector('li.file').dataset.partsStored === '2'")
    assert len(gate.held) >= 2  # parts 3 and 4 left with 1 and 2: in flight when cancelled
    key = attribute(page, "dropped.bin", "data-key")
    assert len(open_uploads(cloud, key)) == 1
    page.click("button[aria-label='Cancel dropped.bin']")
    wait_for_state(page, "dropped.bin", "cancelled")
    page.wait_for_selector(f"{item(page, 'dropped.bin')}[data-aborted='true']")

    assert open_uploads(cloud, key) == []
    deletes = browser.requests_to(f"{cloud.function_url}/uploads/", "DELETE")
    assert len(deletes) == 1 and "/uploads/" in deletes[0]
    assert remembered(page) == {}
    assert page.is_visible("button[aria-label='Retry dropped.bin']")


def test_page_killed_mid_upload_resumes_after_reopening_with_only_the_missing_parts(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    size = 3 * 1024 * KIB + 4321
    path = write_file(tmp_path, "movie.bin", size)
    profile = tmp_path / "profile"
    with page_session(profile, "multipart-killed-first-visit") as first:
        gate = PartGate.on(first.page, cloud.oss_url, allow=5)
        start_upload(first.page, cloud, path)
        first.page.wait_for_function(
            "() => document.querySelector('li.file').dataset.partsStored === '5'")
        first.page.wait_for_timeout(200)  # the next parts are in flight, held before the emulator
        key = attribute(first.page, "movie.bin", "data-key")
        stored = {number for number, _ in gate.sent[:5]}  # the five let through, in any order
        saved = remembered(first.page)
        in_flight = len(gate.held)
        # Leaving the with-block closes the browser: the page dies with parts in flight.

    assert list(saved.values())[0]["key"] == key
    assert 1 <= in_flight <= PARTS_IN_FLIGHT
    assert len(open_uploads(cloud, key)) == 1
    missing = part_count(size) - 5
    with page_session(profile, "multipart-killed-second-visit") as second:
        gate = PartGate.on(second.page, cloud.oss_url)
        open_page(second.page, cloud.website_url)
        second.page.set_input_files("#picker", str(path))
        second.page.wait_for_selector(f"{item(second.page, 'movie.bin')}[data-resumable='5']")
        assert f"Resuming — 5 of {part_count(size)} parts already stored" in message(
            second.page, "movie.bin")
        second.page.click("#start")
        wait_for_state(second.page, "movie.bin", "done")
        assert attribute(second.page, "movie.bin", "data-key") == key
        assert remembered(second.page) == {}
        grants = second.requests_to(f"{cloud.function_url}/uploads", "POST")
        assert [u for u in grants if u.endswith("/uploads")] == []  # no new grant

    numbers = sorted(number for number, _ in gate.sent)
    assert numbers == sorted(set(range(1, part_count(size) + 1)) - stored)
    resent = sum(length for _, length in gate.sent)
    assert resent == sum(part_bytes(size, n) for n in numbers)
    assert resent <= (missing + in_flight) * PART
    assert_landed(cloud, key, path)


def test_remembered_upload_the_function_refuses_is_dropped_and_the_file_starts_afresh(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    size = 1024 * KIB + 1
    path = write_file(tmp_path, "stale.bin", size)
    os.utime(path, (1_700_000_000, 1_700_000_000))  # lastModified 1700000000000 exactly
    open_page(page, cloud.website_url)
    page.evaluate("""([size, mtime]) => localStorage.setItem('oss-upload-resume', JSON.stringify({
      [`${size}:${mtime}:stale.bin`]: {upload_id: 'not-a-sealed-token', key: 'uploads/x.bin',
        part_size: 262144, part_count: 5, expires_at: '2999-01-01T00:00:00.000Z'},
      ['1:1:gone.bin']: {upload_id: 'expired-entry', expires_at: '2001-01-01T00:00:00.000Z'},
    }))""", [size, 1_700_000_000_000])
    page.set_input_files("#picker", str(path))
    page.wait_for_function(
        "() => !(localStorage.getItem('oss-upload-resume') || '').includes('stale.bin')")

    assert attribute(page, "stale.bin", "data-resumable") == ""
    assert remembered(page) == {}  # the expired entry went too, without asking anyone
    refused = browser.requests_to(f"{cloud.function_url}/uploads/")
    assert [u.rsplit("/", 1)[1] for u in refused] == ["not-a-sealed-token"]
    page.click("#start")
    wait_for_state(page, "stale.bin", "done")
    assert stored_bytes(cloud, attribute(page, "stale.bin", "data-key")) == path.read_bytes()


def test_a_part_whose_put_fails_is_sent_again_and_the_upload_completes(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    gate = PartGate.on(page, cloud.oss_url, fail={2: 1})
    path = write_file(tmp_path, "flaky.bin", 1024 * KIB + 5)
    start_upload(page, cloud, path)
    wait_for_state(page, "flaky.bin", "done")

    assert gate.refused == [2]
    assert sorted(number for number, _ in gate.sent) == [1, 2, 3, 4, 5]
    assert stored_bytes(cloud, attribute(page, "flaky.bin", "data-key")) == path.read_bytes()


def test_a_part_that_never_gets_through_fails_the_file_after_bounded_retries_and_retry_resumes(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    size = 1024 * KIB + 5
    gate = PartGate.on(page, cloud.oss_url, fail={3: 1 << 30})
    path = write_file(tmp_path, "blocked.bin", size)
    start_upload(page, cloud, path)
    wait_for_state(page, "blocked.bin", "error", timeout_ms=60_000)

    assert gate.refused == [3] * 6  # the first attempt and 5 retries, with backoff between them
    assert attribute(page, "blocked.bin", "data-error-code") == "network_or_cors"
    assert "AllowedMethod PUT" in message(page, "blocked.bin")
    assert "x-oss-signature" not in message(page, "blocked.bin")  # no presigned URL shown
    assert len(remembered(page)) == 1  # still resumable
    gate.fail.clear()
    page.click("button[aria-label='Retry blocked.bin']")
    wait_for_state(page, "blocked.bin", "done")
    assert attribute(page, "blocked.bin", "data-resumed-parts") == str(part_count(size) - 1)
    assert stored_bytes(cloud, attribute(page, "blocked.bin", "data-key")) == path.read_bytes()


def test_a_multipart_file_shows_what_the_application_confirmed_through_the_callback(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    path = write_file(tmp_path, "confirmed.bin", 1024 * KIB + 77)
    start_upload(page, cloud, path)
    wait_for_state(page, "confirmed.bin", "done")

    key = attribute(page, "confirmed.bin", "data-key")
    assert_landed(cloud, key, path)
    assert attribute(page, "confirmed.bin", "data-callback") == "confirmed"
    shown = details(page, "confirmed.bin")
    assert "Confirmed by the application" in shown and key in shown


def test_once_every_part_is_stored_the_file_can_no_longer_be_paused_or_cancelled(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    path = write_file(tmp_path, "joining.bin", 1024 * KIB + 9)
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)  # answered only after the checks below

    page.route(f"{cloud.function_url}/uploads/*/complete", hold)
    start_upload(page, cloud, path)
    page.wait_for_function("() => document.querySelector('li.file').dataset.partsStored === '5'")
    for _ in range(100):  # until the complete call has left the page
        if held:
            break
        page.wait_for_timeout(50)

    assert len(held) == 1
    assert "joining them" in message(page, "joining.bin")
    assert not page.is_visible("button[aria-label='Pause joining.bin']")
    assert not page.is_visible("button[aria-label='Cancel joining.bin']")
    held[0].continue_()
    wait_for_state(page, "joining.bin", "done")
    assert_landed(cloud, attribute(page, "joining.bin", "data-key"), path)


def test_config_part_concurrency_sets_the_parts_in_flight(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    two = start_cloud(MULTIPART_ENV)
    publish_config(two, partConcurrency=2)
    page = browser.page
    gate = PartGate.on(page, two.oss_url, allow=0)
    start_upload(page, two, write_file(tmp_path, "pair.bin", 1024 * KIB + 3))
    gate.wait_held(page, 2)  # the PUTs it opens while none finishes, and no third

    assert sorted(number for number, _ in gate.sent) == [1, 2]
    gate.release()
    wait_for_state(page, "pair.bin", "done")
