"""The upload page as people see it: compact rows, a batch summary, layouts at four widths,
decimal sizes, a bounded number of announcements and no axe-core violations.

One local cloud plans multipart uploads for files above 1 MiB, and one browser uploads five
files at 390 px: an image, a large file sent in parts, a file with a 200-character name, a
plain file and one that storage refuses (something already sits under its key, put there
through the SDK). The tests then look at that page at 320, 390, 768 and 1280 px; they assert
properties (overflow, heights, containment), never pixels. Screenshots of the five files at
390 and 1280 px go to ``test-output/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest
from playwright.sync_api import Page, Route

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.web import test_page_multipart as multipart_tests
from tests.web.browser import (
    SCREENSHOTS,
    PageSession,
    item,
    open_page,
    page_session,
    wait_for_state,
)
from tests.web.test_auth_callback_page import STATUS_TRAIL_SCRIPT
from tests.web.test_page_multipart import PART
from tests.web.test_upload_page import attribute, stored_bytes, write_file

pytestmark = pytest.mark.browser

WIDTHS = (320, 390, 768, 1280)
AXE = Path(__file__).resolve().parents[1] / "node" / "node_modules" / "axe-core" / "axe.min.js"
#: axe-core tags of the WCAG 2.x A and AA success criteria (contrast, names, roles, landmarks...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
LONG_NAME = ("quarterly-report-" * 12)[:196] + ".txt"
IMAGE = "photo.png"
LARGE = "video.bin"
LARGE_SIZE = 3 * 1024 * 1024 + 4321
FAILED = "clash.txt"
PLAIN = "notes.txt"
NAMES = (IMAGE, LARGE, LONG_NAME, PLAIN, FAILED)
#: A stack planning 256 KiB parts above 1 MiB, with the page's CSP as a deploy writes it.
cloud = multipart_tests.cloud


def png(width: int, height: int) -> bytes:
    """A real RGB PNG of a colour gradient (no imaging library needed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(
        b"\0" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 160))
        for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def set_width(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.wait_for_timeout(50)  # one layout pass


def overflow(page: Page) -> dict[str, int]:
    return dict(page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"))


def run_axe(page: Page) -> list[dict[str, Any]]:
    """Violations axe-core finds in the page as it is now (WCAG 2.x A and AA rules)."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make node-deps` (npm ci in tests/node)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script>: the page's CSP stays as is
    return list(page.evaluate("""async (tags) => {
      const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
      return result.violations.map(v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' '))}));
    }""", AXE_TAGS))


@pytest.fixture(scope="module")
def five(cloud: LocalCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageSession]:
    """The page after five files were picked and uploaded at 390 px (one fails); screenshots
    at 390 and 1280 px are taken before any test changes it."""
    files = tmp_path_factory.mktemp("five")
    (files / IMAGE).write_bytes(png(320, 240))
    paths = [files / IMAGE, write_file(files, LARGE, LARGE_SIZE),
             write_file(files, LONG_NAME, 5_000), write_file(files, PLAIN, 1),
             write_file(files, FAILED, 20_000)]
    with page_session(tmp_path_factory.mktemp("profile"), "layout-five-files-last") as session:
        page = session.page

        def occupy_key(route: Route) -> None:
            # Someone stores an object under clash.txt's granted key before the browser's POST.
            response = route.fetch()
            if json.loads(route.request.post_data or "{}").get("filename") == FAILED:
                admin_client(cloud).put_object(oss.PutObjectRequest(
                    bucket=cloud.bucket, key=response.json()["key"], body=b"already here"))
            route.fulfill(response=response)

        page.route(f"{cloud.function_url}/uploads", occupy_key)
        set_width(page, 390)
        open_page(page, cloud.website_url)
        page.evaluate(STATUS_TRAIL_SCRIPT)
        page.set_input_files("#picker", [str(p) for p in paths])
        page.click("#start")
        for name in NAMES:
            wait_for_state(page, name, "error" if name == FAILED else "done")
        page.wait_for_function("() => document.querySelector('img.thumb').complete")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for width in (390, 1280):
            set_width(page, width)
            page.screenshot(path=str(SCREENSHOTS / f"five-files-{width}.png"), full_page=True)
        yield session


def test_sizes_use_decimal_units_with_matching_labels_and_plurals(five: PageSession) -> None:
    table = [(0, "0 bytes"), (1, "1 byte"), (2, "2 bytes"), (999, "999 bytes"), (1000, "1.0 kB"),
             (1234, "1.2 kB"), (9949, "9.9 kB"), (9950, "10 kB"), (999_499, "999 kB"),
             (999_500, "1.0 MB"), (20_000_000, "20 MB"), (1_500_000_000, "1.5 GB"),
             (5 * 10**12, "5.0 TB")]
    shown = five.page.evaluate("""async (sizes) => {
      const m = await import('./js/settings.js');
      return sizes.map(m.formatBytes);
    }""", [n for n, _ in table])
    assert shown == [text for _, text in table]


def test_each_file_is_one_row_with_name_size_and_state(five: PageSession) -> None:
    page = five.page
    rows = page.eval_on_selector_all("li.file", """els => els.map(li => ({
      name: li.querySelector('.file-name').textContent,
      title: li.querySelector('.file-name').title,
      meta: li.querySelector('.file-meta').textContent,
      state: li.querySelector('.file-state').textContent,
      open: li.querySelector('details').open}))""")
    assert [r["name"] for r in rows] == list(NAMES)
    assert all(r["title"] == r["name"] for r in rows)  # the full name on hover
    by_name = {r["name"]: r for r in rows}
    assert by_name[PLAIN]["meta"] == "1 byte"
    assert by_name[LARGE]["meta"] == "3.2 MB"  # 3,150,049 bytes
    assert by_name[FAILED]["state"] == "Failed"
    assert {r["state"] for n, r in by_name.items() if n != FAILED} == {"Uploaded"}
    assert not any(r["open"] for r in rows)  # the technical details start closed
    assert attribute(page, LARGE, "data-part-count") == str(-(-LARGE_SIZE // PART))


def test_the_summary_counts_the_batch_and_offers_retry_failed(five: PageSession) -> None:
    page = five.page
    assert page.inner_text("#summary-text") == "4 of 5 uploaded · 1 failed"
    assert page.is_visible("#retry-failed")


@pytest.mark.parametrize("width", WIDTHS)
def test_no_horizontal_overflow_and_long_names_stay_in_their_row(
    five: PageSession, width: int
) -> None:
    page = five.page
    set_width(page, width)
    sizes = overflow(page)
    assert sizes["scroll"] <= sizes["inner"], sizes
    boxes = page.eval_on_selector(item(page, LONG_NAME), """li => {
      const name = li.querySelector('.file-name');
      const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.right]; };
      return {row: box(li), name: box(name), text: name.textContent, scroll: name.scrollWidth,
              client: name.clientWidth};
    }""")
    assert boxes["row"][0] <= boxes["name"][0] and boxes["name"][1] <= boxes["row"][1], boxes
    assert boxes["text"] == LONG_NAME and boxes["scroll"] > boxes["client"]  # ellipsized, not cut


def test_a_finished_row_is_at_most_120_px_tall_at_390_px(five: PageSession) -> None:
    page = five.page
    set_width(page, 390)
    heights = page.eval_on_selector_all(
        "li.file[data-state=done]",
        "els => Object.fromEntries(els.map("
        "  li => [li.dataset.name, li.getBoundingClientRect().height]))")
    assert sorted(heights) == sorted(set(NAMES) - {FAILED})
    assert max(heights.values()) <= 120, heights


def test_the_screen_reader_name_of_a_long_file_is_the_full_name(five: PageSession) -> None:
    page = five.page
    snapshot = page.locator(item(page, LONG_NAME)).aria_snapshot()
    assert LONG_NAME in snapshot
    assert page.get_attribute(f"{item(page, LONG_NAME)} progress", "aria-label") == (
        f"Progress of {LONG_NAME}")


def test_an_image_gets_a_thumbnail_made_in_the_browser_and_is_sent_once(
    five: PageSession, cloud: LocalCloud
) -> None:
    page = five.page
    thumb = page.eval_on_selector(f"{item(page, IMAGE)} img.thumb",
                                  "img => ({src: img.src, width: img.naturalWidth, alt: img.alt})")
    assert thumb["src"].startswith("blob:") and thumb["width"] == 320 and thumb["alt"] == ""
    assert page.eval_on_selector(f"{item(page, PLAIN)} .thumb", "e => e.textContent") == "TXT"
    assert len(five.requests_to(cloud.post_url, "POST")) == len(NAMES) - 1  # all but the parts
    assert stored_bytes(cloud, attribute(page, IMAGE, "data-key"))[:8] == b"\x89PNG\r\n\x1a\n"


def test_announcements_are_per_batch_and_file_never_per_percent(five: PageSession) -> None:
    page = five.page
    trail = page.evaluate("() => window.statusTrail")
    # Picked, started, then one line per file that ended; the last says how the batch went.
    assert len(trail) <= 2 + len(NAMES), trail
    assert int(attribute(page, LARGE, "data-progress-events")) > len(trail)
    assert trail[-1].endswith("4 of 5 uploaded · 1 failed."), trail


def test_details_hold_the_key_and_copy_key_copies_it(five: PageSession) -> None:
    page = five.page
    five.context.grant_permissions(["clipboard-read", "clipboard-write"])
    key = attribute(page, PLAIN, "data-key")
    page.click(f"{item(page, PLAIN)} summary")
    assert key in page.inner_text(f"{item(page, PLAIN)} details dl")
    page.click(f"button[aria-label='Copy the key of {PLAIN}']")
    page.wait_for_selector(f"{item(page, PLAIN)} details button:has-text('Copied')")
    for width in (320, 390):  # open, every value gets at least half the row: no letter columns
        set_width(page, width)
        narrowest = page.eval_on_selector(f"{item(page, PLAIN)} details", """d => Math.min(
          ...[...d.querySelectorAll('dd')].map(dd => dd.clientWidth)) / d.clientWidth""")
        assert narrowest >= 0.5, (width, narrowest)
    page.locator(item(page, PLAIN)).screenshot(path=str(SCREENSHOTS / "row-details-open-390.png"))
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    page.click(f"{item(page, PLAIN)} summary")  # closed again for the next tests


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_core_finds_no_wcag_a_or_aa_violation(five: PageSession, width: int) -> None:
    page = five.page
    set_width(page, width)
    assert run_axe(page) == []


def test_keyboard_focus_is_visible_on_every_control(five: PageSession) -> None:
    page = five.page
    page.click("h1")  # the sequential focus starting point: the top of the page
    seen = []
    for _ in range(20):  # every control once, until focus leaves the page
        page.keyboard.press("Tab")
        ring = page.evaluate("""() => {
          const el = document.activeElement;
          if (el === document.body) return null;
          // The picker's label shows the picker's focus.
          const face = el.id === 'picker' ? el.nextElementSibling : el;
          const s = getComputedStyle(face);
          return [el.getAttribute('aria-label') || el.id || el.textContent, s.outlineStyle,
                  parseFloat(s.outlineWidth)];
        }""")
        if ring is None:
            break
        seen.append(ring[0])
        assert ring[1] != "none" and ring[2] >= 2, ring
    assert {"picker", "clear", "retry-failed", f"Retry {FAILED}", "Details"} <= set(seen), seen


def test_retry_failed_retries_only_the_failed_file(five: PageSession, cloud: LocalCloud) -> None:
    page = five.page
    page.unroute(f"{cloud.function_url}/uploads")  # nobody takes the next key
    page.click("#retry-failed")
    wait_for_state(page, FAILED, "done")
    assert page.inner_text("#summary-text") == "5 of 5 uploaded"
    assert not page.is_visible("#retry-failed")
    posts = five.requests_to(f"{cloud.function_url}/uploads", "POST")
    assert len([u for u in posts if u.endswith("/uploads")]) == len(NAMES) + 1
    assert len(stored_bytes(cloud, attribute(page, FAILED, "data-key"))) == 20_000


def test_while_sending_a_row_shows_bytes_sent_speed_and_time_left(
    cloud: LocalCloud, five: PageSession, tmp_path: Path
) -> None:
    page = five.context.new_page()  # one chromium per module: a second page of its profile
    set_width(page, 390)
    # Chromium's own upload throttling (DevTools protocol): ~400 kB/s, so the file takes seconds.
    cdp = five.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 400_000})
    open_page(page, cloud.website_url)
    path = write_file(tmp_path, "slow.bin", 1_000_000)  # below the multipart threshold: one POST
    page.set_input_files("#picker", str(path))
    page.click("#start")
    meta = f"{item(page, 'slow.bin')} .file-meta"
    page.wait_for_function("(sel) => / left$/.test(document.querySelector(sel).textContent)",
                           arg=meta, timeout=15_000)
    shown = page.inner_text(meta)
    assert re.fullmatch(r"[\d.]+ kB of 1\.0 MB · [\d.]+ kB/s · \d+ s left", shown), shown
    assert page.is_visible(f"{item(page, 'slow.bin')} progress")
    wait_for_state(page, "slow.bin", "done")
    assert page.inner_text(meta) == "1.0 MB"
    page.close()


def test_a_picked_file_is_never_rendered_as_markup_only_as_an_image_or_text(
    cloud: LocalCloud, five: PageSession, tmp_path: Path
) -> None:
    page = five.context.new_page()
    open_page(page, cloud.website_url)
    svg = tmp_path / "<i id=named>x.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8" '
                   'onload="window.ran = 1"><script>window.ran = 2</script>'
                   '<rect width="8" height="8" fill="red"/></svg>')
    html = tmp_path / "page.html"
    html.write_text('<img id="injected" src="x" onerror="window.ran = 3">')
    page.set_input_files("#picker", [str(svg), str(html)])
    page.wait_for_function("() => document.querySelector('img.thumb')?.complete")

    assert page.eval_on_selector("img.thumb", "img => img.naturalWidth") == 8  # drawn, as an image
    assert page.evaluate("() => window.ran") is None
    assert page.query_selector("#injected") is None and page.query_selector("#named") is None
    assert page.inner_text(f"{item(page, svg.name)} .file-name") == svg.name
    page.close()
