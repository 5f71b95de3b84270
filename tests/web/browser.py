"""Headless Debian chromium for the page tests, and small helpers to drive the upload page.

Owns how chromium is launched (never downloaded: ``/usr/bin/chromium``), the per-test
screenshot and the request log that lets a test prove nothing left the page. Knows nothing
about the local cloud.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Request, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@dataclass
class PageSession:
    """One fresh browser profile with one page and every request it sent."""

    context: BrowserContext
    page: Page
    requests: list[tuple[str, str]] = field(default_factory=list)

    def requests_to(self, base_url: str, method: str | None = None) -> list[str]:
        """URLs requested under ``base_url`` (optionally only with ``method``)."""
        prefix = base_url.rstrip("/")
        return [
            url
            for verb, url in self.requests
            if url.startswith(prefix) and (method is None or verb == method)
        ]


@contextmanager
def page_session(user_data_dir: Path, screenshot_name: str) -> Iterator[PageSession]:
    """Launch chromium with a fresh profile; always save a full-page screenshot at the end."""
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 900, "height": 900},
        )
        try:
            # A persistent context opens with one blank page; drive that one.
            page = context.pages[0] if context.pages else context.new_page()
            session = PageSession(context=context, page=page)

            def record(request: Request) -> None:
                session.requests.append((request.method, request.url))

            page.on("request", record)
            yield session
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", screenshot_name)
            try:
                page.screenshot(path=str(SCREENSHOTS / f"{safe}.png"), full_page=True)
            finally:
                context.close()


def item(page: Page, name: str) -> str:
    """CSS selector of the list entry of the file called ``name``."""
    return f'li.file[data-name="{name}"]'


def wait_for_state(page: Page, name: str, state: str, timeout_ms: float = 60_000) -> None:
    """Wait until the entry for ``name`` reaches ``state`` (done, error, rejected, ...)."""
    page.wait_for_selector(f'{item(page, name)}[data-state="{state}"]', timeout=timeout_ms)


def open_page(page: Page, url: str) -> None:
    """Load the upload page and wait until it knows its limits."""
    page.goto(url)
    page.wait_for_selector('body[data-ready="true"]', timeout=15_000)
