"""Uppy (``@uppy/core`` + ``@uppy/aws-s3`` 6.3.1 from the npm registry) through the function.

The README's "Uppy" module is taken byte for byte, bundled for the browser with esbuild
(``tests/node/bundle.mjs``) and served from the page bucket's website origin, so the function
and the bucket see the same cross-origin requests a real site makes. One small file takes the
single PostObject path; one multipart file is paused with a part in flight and resumed, which
makes Uppy ask for ListParts (the function's ``GET /uploads/{upload_id}``). A removed file's
upload is aborted (the function's ``DELETE``), leaving nothing on the emulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest
from playwright.sync_api import Page

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.nodejs import NODE_DIR, NODE_MODULES, REPO, run_node
from tests.web import conftest as web_fixtures
from tests.web.browser import PageSession
from tests.web.conftest import publish_file
from tests.web.test_page_multipart import PartGate
from tests.web.test_upload_page import stored_bytes, write_file

pytestmark = pytest.mark.browser
browser = web_fixtures.browser  # the page tests' fresh chromium profile per test

MIB = 1024 * 1024
#: Uppy makes every part but the last at least 5 MiB, so the function's parts are 5 MiB here.
PART = 5 * MIB
SNIPPET = re.compile(r"^<!-- uppy-snippet: aws-s3@6 -->\n```js\n(?P<code>.*?)^```$",
                     re.MULTILINE | re.DOTALL)
ENTRY = """import Uppy from "@uppy/core";
import { useOssUpload } from "./oss-upload-uppy.js";
window.makeUppy = (apiBase) => useOssUpload(new Uppy({ autoProceed: false }), apiBase);
"""
PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Uppy</title>
<script src="uppy.js"></script></head>
<body><input id="pick" type="file" multiple></body></html>
"""
#: Start an upload of the picked files; results land in window.outcome, parts in window.parts.
START = """(apiBase) => {
  window.parts = [];
  const uppy = window.uppy = window.makeUppy(apiBase);
  uppy.on('s3-multipart:part-uploaded', (file, part) => window.parts.push(part.PartNumber));
  for (const f of document.getElementById('pick').files) {
    uppy.addFile({name: f.name, type: f.type, data: f});
  }
  uppy.upload().then((r) => { window.outcome = {
    ok: r.successful.map((f) => [f.name, f.response.body.key, f.response.uploadURL]),
    failed: r.failed.map((f) => [f.name, String(f.error)]) }; });
  return true;
}"""


def readme_module() -> str:
    """The README's Uppy module, exactly as written there."""
    found = SNIPPET.findall((REPO / "README.md").read_text(encoding="utf-8"))
    assert len(found) == 1, "README.md must hold exactly one 'uppy-snippet: aws-s3@6' block"
    return str(found[0])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A stack whose function plans 5 MiB parts above 1 MiB, serving the bundled Uppy page."""
    stack = LocalCloud.start(tmp_path_factory.mktemp("uppy-cloud"), function_env_overrides={
        "UPLOAD_MAX_BYTES": str(64 * MIB),
        "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(MIB),
        "UPLOAD_PART_SIZE_BYTES": str(PART),
    })
    try:
        build = tmp_path_factory.mktemp("uppy-build")
        (build / "oss-upload-uppy.js").write_text(readme_module(), encoding="utf-8")
        (build / "entry.js").write_text(ENTRY, encoding="utf-8")
        assert (NODE_MODULES / "@uppy" / "aws-s3" / "package.json").is_file(), "run make node-deps"
        done = run_node(NODE_DIR / "bundle.mjs", str(build / "entry.js"), str(build / "uppy.js"))
        assert done.returncode == 0, done.stderr
        publish_file(stack, "uppy/uppy.js", (build / "uppy.js").read_bytes(),
                     "text/javascript; charset=utf-8")
        publish_file(stack, "uppy/index.html", PAGE, "text/html; charset=utf-8")
        yield stack
    finally:
        stack.stop()


def installed_version(package: str) -> str:
    manifest = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))
    return str(manifest["version"])


def start(page: Page, cloud: LocalCloud, *paths: Path) -> None:
    page.goto(f"{cloud.website_url}uppy/index.html")
    page.set_input_files("#pick", [str(p) for p in paths])
    page.evaluate(START, cloud.function_url)


def until(page: Page, condition: Callable[[], bool], timeout_ms: int = 15_000) -> None:
    """Let the page run until ``condition()`` holds (a test-side fact, e.g. a held request)."""
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("condition not reached in time")


def outcome(page: Page) -> dict[str, Any]:
    page.wait_for_function("() => window.outcome", timeout=60_000)
    result: dict[str, Any] = page.evaluate("() => window.outcome")
    return result


def test_the_registry_versions_the_readme_names_are_the_ones_tested() -> None:
    assert installed_version("@uppy/aws-s3") == "6.3.1"
    assert installed_version("@uppy/core") == "6.3.1"
    assert "**`@uppy/aws-s3` 6.3 and later 6.x**" in (REPO / "README.md").read_text("utf-8")


def test_uppy_sends_a_small_file_by_post_and_a_large_one_in_parts_across_a_pause(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    small = write_file(tmp_path, "small.txt", 300_000)
    large = write_file(tmp_path, "large.bin", 2 * PART + 777)  # parts of 5 MiB, 5 MiB, 777 B
    gate = PartGate.on(page, cloud.oss_url, allow=1)
    start(page, cloud, small, large)
    page.wait_for_function("() => window.parts.length === 1")
    until(page, lambda: len(gate.held) == 1)  # part 2 is on its way, held before the emulator
    assert [number for number, _ in gate.sent] == [1, 2]

    large_id = page.evaluate("() => window.uppy.getFiles().find((f) => f.name === 'large.bin').id")
    page.evaluate("(id) => window.uppy.pauseResume(id)", large_id)  # pause: part 2 is dropped
    gate.open()
    page.evaluate("(id) => window.uppy.pauseResume(id)", large_id)  # resume: ListParts first
    result = outcome(page)

    assert result["failed"] == []
    keys = {name: key for name, key, _ in result["ok"]}
    assert sorted(keys) == ["large.bin", "small.txt"]
    assert stored_bytes(cloud, keys["small.txt"]) == small.read_bytes()
    assert stored_bytes(cloud, keys["large.bin"]) == large.read_bytes()
    assert all(key.startswith("uploads/") for key in keys.values())
    # Part 1 was not sent again after the pause.
    assert [number for number, _ in gate.sent] == [1, 2, 2, 3]
    assert len(browser.requests_to(cloud.oss_url, "POST")) == 1  # the small file's PostObject
    function = f"{cloud.function_url}/uploads"
    assert len([u for u in browser.requests_to(function, "POST") if u.endswith("/uploads")]) == 2
    assert len([u for u in browser.requests_to(function, "POST") if u.endswith("/parts")]) == 4
    assert len([u for u in browser.requests_to(function, "POST") if u.endswith("/complete")]) == 1
    assert len(browser.requests_to(f"{function}/", "GET")) == 1  # ListParts on resume
    location = {name: url for name, _, url in result["ok"]}["large.bin"]
    assert location.startswith(cloud.oss_url) and keys["large.bin"] in location


def test_removing_a_file_from_uppy_aborts_its_multipart_upload(
    cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    page = browser.page
    PartGate.on(page, cloud.oss_url, allow=1)
    start(page, cloud, write_file(tmp_path, "gone.bin", PART + 1))
    page.wait_for_function("() => window.parts.length === 1")
    client = admin_client(cloud)

    def in_progress() -> int:
        listed = client.list_multipart_uploads(
            oss.ListMultipartUploadsRequest(bucket=cloud.bucket))
        return len(listed.uploads or [])

    assert in_progress() == 1

    page.evaluate("() => window.uppy.removeFile(window.uppy.getFiles()[0].id)")
    outcome(page)
    # Uppy sends the abort after the file has left its state; the request is seen before
    # the function has answered it, so wait for the upload itself to end.
    until(page, lambda: bool(browser.requests_to(f"{cloud.function_url}/uploads/", "DELETE")))
    until(page, lambda: in_progress() == 0)

    assert len(browser.requests_to(f"{cloud.function_url}/uploads/", "DELETE")) == 1
