"""The page with the function's auth, rate limit and upload callback, in headless chromium.

Covers what issue 6 asks of the page: the bearer token from ``sessionStorage``, the
sign-in message on 401, the visible Retry-After countdown and its one automatic retry on
429/503, and the application's answer relayed by OSS after the upload callback (200 JSON
confirmed, 203 CallbackFailed as a warning). Every stack is the real local cloud; the only
synthetic answers are the 503 (the STS stub is not broken for it) and a non-JSON callback
answer (the function always answers JSON), both marked where they are made.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Response, Route

from localcloud.ports import free_port
from localcloud.stack import LocalCloud
from tests.e2e.forms import post_json
from tests.web.browser import SCREENSHOTS, PageSession, item, open_page, wait_for_state
from tests.web.conftest import StartCloud, publish_config
from tests.web.test_upload_page import attribute, details, message, stored_bytes, write_file

pytestmark = pytest.mark.browser

TOKEN_KEY = "oss-upload-token"
SUBJECT = "alice-fake"
JWT_TEMPLATE = "{dir}{sub}/{id}{ext}"
STATUS_TRAIL_SCRIPT = """() => {
  const status = document.getElementById('status');
  window.statusTrail = [];
  new MutationObserver(() => window.statusTrail.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true});
}"""
DRAIN_REQUEST = {"filename": "x.txt", "size": 1, "content_type": "text/plain"}


@pytest.fixture(scope="module")
def plain_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A default stack for the tests that only need the page and a working function."""
    cloud = LocalCloud.start(tmp_path_factory.mktemp("plain-cloud"))
    try:
        yield cloud
    finally:
        cloud.stop()


def callback_env(oss_port: int, function_port: int, *, trust_emulator: bool) -> dict[str, str]:
    """Function settings that make OSS call the function back; trust the emulator's key or not."""
    # The untrusted prefix is never fetched: the emulator's key URL is refused before that.
    trusted = (f"http://127.0.0.1:{oss_port}/.localcloud/" if trust_emulator
               else "https://gosspublic.alicdn.com/")
    return {"UPLOAD_CALLBACK_URL": f"http://127.0.0.1:{function_port}/callback",
            "CALLBACK_PUBKEY_URL_PREFIXES": trusted}


def start_callback_cloud(start_cloud: StartCloud, *, trust_emulator: bool) -> LocalCloud:
    oss_port, function_port = free_port("127.0.0.1"), free_port("127.0.0.1")
    return start_cloud(callback_env(oss_port, function_port, trust_emulator=trust_emulator),
                       oss_port=oss_port, function_port=function_port)


def record_responses(page: Page) -> list[Response]:
    """Collect every response the page receives (bodies are read after the upload)."""
    responses: list[Response] = []

    def keep(response: Response) -> None:
        responses.append(response)

    page.on("response", keep)
    return responses


def posts_answered(responses: list[Response], url: str) -> list[Response]:
    return [r for r in responses if r.url == url and r.request.method == "POST"]


def upload_one(page: Page, path: Path, state: str = "done") -> None:
    """Pick ``path``, press Upload and wait until its entry reaches ``state``."""
    page.set_input_files("#picker", str(path))
    page.click("#start")
    wait_for_state(page, path.name, state)


def definition(page: Page, name: str, term: str) -> str:
    """Text of the <dd> following the <dt> reading ``term`` in the entry of ``name``."""
    return str(page.eval_on_selector(
        item(page, name),
        """(li, term) => {
             const dt = [...li.querySelectorAll('dt')].find(d => d.textContent === term);
             return dt ? dt.nextElementSibling.textContent : null; }""",
        term,
    ))


def test_callback_answer_is_shown_with_the_grant_id_the_function_issued(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    cloud = start_callback_cloud(start_cloud, trust_emulator=True)
    page = browser.page
    responses = record_responses(page)
    open_page(page, cloud.website_url)
    path = write_file(tmp_path, "report.txt", 2048)
    upload_one(page, path)

    [grant_response] = posts_answered(responses, f"{cloud.function_url}/uploads")
    grant = grant_response.json()
    grant_id = grant["grant_id"]
    assert grant_id and grant["fields"]["x:grant-id"] == grant_id and "callback" in grant["fields"]
    [oss_response] = posts_answered(responses, cloud.post_url)
    assert oss_response.status == 200
    relayed = oss_response.json()
    assert relayed == {
        "ok": True, "bucket": cloud.bucket, "key": grant["key"], "size": 2048,
        "etag": relayed["etag"], "mime_type": "text/plain", "grant_id": grant_id,
    }
    assert relayed["etag"]

    name = path.name
    assert attribute(page, name, "data-callback") == "confirmed"
    assert definition(page, name, "grant id") == grant_id
    assert definition(page, name, "key") == grant["key"]
    assert definition(page, name, "etag") == relayed["etag"]
    assert "Confirmed by the application" in details(page, name)
    assert stored_bytes(cloud, grant["key"]) == path.read_bytes()


def test_callback_failed_is_a_stored_upload_with_a_warning(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    cloud = start_callback_cloud(start_cloud, trust_emulator=False)  # the function answers 403
    page = browser.page
    responses = record_responses(page)
    open_page(page, cloud.website_url)
    path = write_file(tmp_path, "unconfirmed.txt", 700)
    upload_one(page, path)

    [oss_response] = posts_answered(responses, cloud.post_url)
    assert oss_response.status == 203
    name = path.name
    assert attribute(page, name, "data-callback") == "unconfirmed"
    assert message(page, name) == "Stored, but the application did not confirm it."
    assert not page.is_visible(f"{item(page, name)} button")
    grant = posts_answered(responses, f"{cloud.function_url}/uploads")[0].json()
    assert definition(page, name, "Grant id") == grant["grant_id"]
    assert "did not confirm" in page.inner_text("#status")
    assert stored_bytes(cloud, attribute(page, name, "data-key")) == path.read_bytes()


def test_non_json_application_answer_is_shown_as_text_never_as_markup(
    plain_cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    cloud = plain_cloud
    page = browser.page
    markup = '<img id="injected" src="x" onerror="window.injected = 1">answer'

    def answer_as_html(route: Route) -> None:
        # Synthetic: a misbehaving application whose answer OSS would relay verbatim.
        route.fulfill(status=200, body=markup, headers={
            "Content-Type": "text/html", "Access-Control-Allow-Origin": cloud.website_origin})

    page.route(f"{cloud.post_url}", answer_as_html)
    open_page(page, cloud.website_url)
    upload_one(page, write_file(tmp_path, "odd.txt", 100))

    assert attribute(page, "odd.txt", "data-callback") == "answered"
    assert details(page, "odd.txt", "pre") == markup
    assert page.query_selector("#injected") is None
    assert page.evaluate("() => window.injected") is None


@dataclass
class JwtCloud:
    """A stack in ``AUTH_MODE=jwt`` and the HS256 secret it was started with (made at run time)."""

    cloud: LocalCloud
    secret: str = field(repr=False)

    def token(self, *, subject: str = SUBJECT, lifetime: int = 600,
              secret: str | None = None) -> str:
        """Sign an HS256 token for ``subject`` (with the stack's secret unless told otherwise)."""
        now = int(time.time())
        return jwt.encode({"sub": subject, "iat": now, "exp": now + lifetime},
                          secret or self.secret, algorithm="HS256")


@pytest.fixture(scope="module")
def jwt_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JwtCloud]:
    secret = "FAKE-hs256-secret-" + secrets.token_hex(24)
    cloud = LocalCloud.start(tmp_path_factory.mktemp("jwt-cloud"), function_env_overrides={
        "AUTH_MODE": "jwt", "AUTH_JWT_SECRET": secret, "OSS_KEY_TEMPLATE": JWT_TEMPLATE})
    try:
        yield JwtCloud(cloud, secret)
    finally:
        cloud.stop()


BAD_TOKENS = ["missing", "expired", "wrong-secret", "not-a-jwt"]


def bad_token(stack: JwtCloud, kind: str) -> str | None:
    return {
        "missing": None,
        "expired": stack.token(lifetime=-3600),
        "wrong-secret": stack.token(secret="FAKE-other-secret-" + secrets.token_hex(24)),
        "not-a-jwt": "FAKE.not.a-token",
    }[kind]


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_jwt_mode_without_a_valid_token_asks_to_sign_in_and_sends_nothing_to_oss(
    jwt_cloud: JwtCloud, browser: PageSession, tmp_path: Path, kind: str
) -> None:
    cloud = jwt_cloud.cloud
    publish_config(cloud)
    page = browser.page
    open_page(page, cloud.website_url)
    token = bad_token(jwt_cloud, kind)
    if token is not None:
        page.evaluate("([k, t]) => sessionStorage.setItem(k, t)", [TOKEN_KEY, token])
    upload_one(page, write_file(tmp_path, "denied.txt", 300), state="error")

    assert attribute(page, "denied.txt", "data-error-code") == "unauthorized"
    assert "Sign in again" in message(page, "denied.txt")
    assert page.is_visible(f"{item(page, 'denied.txt')} button:has-text('Retry')")
    page.wait_for_timeout(300)  # room for an automatic retry the page must not make
    assert len(browser.requests_to(f"{cloud.function_url}/uploads", "POST")) == 1
    assert browser.requests_to(cloud.oss_url, "POST") == []


@pytest.mark.parametrize("storage_key", [None, "site-session-token"],
                         ids=["default-key", "renamed-key"])
def test_jwt_mode_with_a_token_in_session_storage_uploads_under_the_subjects_prefix(
    jwt_cloud: JwtCloud, browser: PageSession, tmp_path: Path, storage_key: str | None
) -> None:
    cloud = jwt_cloud.cloud
    publish_config(cloud, **({"tokenStorageKey": storage_key} if storage_key else {}))
    page = browser.page
    sent: list[dict[str, str]] = []
    console: list[str] = []

    def record(request: Request) -> None:
        if request.url == f"{cloud.function_url}/uploads" and request.method == "POST":
            sent.append(request.all_headers())

    def log(entry: ConsoleMessage) -> None:
        console.append(entry.text)

    page.on("request", record)
    page.on("console", log)
    open_page(page, cloud.website_url)
    token = jwt_cloud.token()
    page.evaluate("([k, t]) => sessionStorage.setItem(k, t)", [storage_key or TOKEN_KEY, token])
    path = write_file(tmp_path, "mine.txt", 1500)
    upload_one(page, path)

    key = attribute(page, "mine.txt", "data-key")
    assert key.startswith(f"uploads/{SUBJECT}/") and key.endswith(".txt")
    assert stored_bytes(cloud, key) == path.read_bytes()
    assert [h.get("authorization") for h in sent] == [f"Bearer {token}"]
    assert token not in page.content()
    assert all(token not in line for line in console)


def test_second_file_over_the_rate_limit_shows_a_countdown_and_can_be_cancelled(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    # Retry-After will be ~60 s: the countdown is watched, not waited out.
    cloud = start_cloud({"RATE_LIMIT_PER_MINUTE": "1"})
    page = browser.page
    open_page(page, cloud.website_url)
    page.evaluate(STATUS_TRAIL_SCRIPT)
    paths = [write_file(tmp_path, f"rl-{n}.txt", 400 + n) for n in range(2)]
    page.set_input_files("#picker", [str(p) for p in paths])
    page.click("#start")
    page.wait_for_selector('li.file[data-state="waiting"]')
    waiting = page.get_attribute('li.file[data-state="waiting"]', "data-name") or ""
    other = next(p.name for p in paths if p.name != waiting)
    wait_for_state(page, other, "done")

    first = int(attribute(page, waiting, "data-wait"))
    assert 50 <= first <= 60
    assert "Too many uploads right now. Trying again automatically in" in message(page, waiting)
    announced = page.evaluate("() => window.statusTrail")
    said = f"{waiting}: Too many uploads right now. Trying again automatically in "
    assert any(line.startswith(said) for line in announced), announced
    page.wait_for_function(
        "([sel, n]) => Number(document.querySelector(sel).dataset.wait) < n",
        arg=[item(page, waiting), first])
    assert f"in {attribute(page, waiting, 'data-wait')} s" in message(page, waiting)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "rate_limit_countdown_running.png"), full_page=True)

    page.click(f"{item(page, waiting)} button:has-text('Cancel')")
    wait_for_state(page, waiting, "cancelled")
    assert len(browser.requests_to(f"{cloud.function_url}/uploads", "POST")) == 2
    assert attribute(page, waiting, "data-waits") == "1"


def test_rate_limited_uploads_wait_out_retry_after_and_succeed(
    start_cloud: StartCloud, browser: PageSession, tmp_path: Path
) -> None:
    # One grant per 2 s once the bucket is empty: short enough to wait out for real.
    cloud = start_cloud({"RATE_LIMIT_PER_MINUTE": "30"})
    publish_config(cloud, concurrency=1)
    page = browser.page
    relayed: list[int] = []

    def drain_then_forward(route: Route) -> None:
        # Empty the caller's bucket (test and browser share 127.0.0.1) right before the page's
        # first request, and relay the function's real answer only once it is a 429.
        if relayed:
            route.continue_()
            return
        for _ in range(20):
            status = 200
            while status != 429:
                status, _ = post_json(f"{cloud.function_url}/uploads", DRAIN_REQUEST,
                                      origin=cloud.website_origin)
            response = route.fetch()
            if response.status == 429:
                relayed.append(int(response.headers["retry-after"]))
                route.fulfill(response=response)
                return
        raise AssertionError("the page's request never met the rate limit")

    page.route(f"{cloud.function_url}/uploads", drain_then_forward)
    open_page(page, cloud.website_url)
    paths = [write_file(tmp_path, f"slow-{n}.txt", 600 + n) for n in range(2)]
    page.set_input_files("#picker", [str(p) for p in paths])
    page.click("#start")
    for path in paths:
        wait_for_state(page, path.name, "done", timeout_ms=30_000)
        assert attribute(page, path.name, "data-waits") == "1"
        assert stored_bytes(cloud, attribute(page, path.name, "data-key")) == path.read_bytes()
    assert 1 <= relayed[0] <= 2
    assert len(browser.requests_to(f"{cloud.function_url}/uploads", "POST")) == 4


def test_busy_signing_service_with_retry_after_is_retried_once_automatically(
    plain_cloud: LocalCloud, browser: PageSession, tmp_path: Path
) -> None:
    cloud = plain_cloud
    page = browser.page
    refused: list[str] = []

    def busy_once(route: Route) -> None:
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        # Synthetic: the function's 503 when STS is down and nothing is cached.
        route.fulfill(status=503, body=json.dumps({"error": {
            "code": "credentials_unavailable", "message": "temporary credentials unavailable"}}),
            headers={"Content-Type": "application/json", "Retry-After": "1",
                     "Access-Control-Allow-Origin": cloud.website_origin,
                     "Access-Control-Expose-Headers": "Retry-After, WWW-Authenticate"})

    page.route(f"{cloud.function_url}/uploads", busy_once)
    open_page(page, cloud.website_url)
    path = write_file(tmp_path, "later.txt", 900)
    upload_one(page, path)
    assert attribute(page, "later.txt", "data-waits") == "1"
    assert len(browser.requests_to(f"{cloud.function_url}/uploads", "POST")) == 2
    assert stored_bytes(cloud, attribute(page, "later.txt", "data-key")) == path.read_bytes()


FUNCTION_FAILURES = [
    # (status, Retry-After, expected code, words, automatic wait)
    (401, None, "unauthorized", "Sign in again, then press Retry", 0),
    (429, "5", "rate_limited", "Too many uploads right now", 5),
    (429, "60", "rate_limited", "Try again in 60 s", 60),
    (429, "61", "rate_limited", "Try again in 61 s", 0),
    (429, None, "rate_limited", "Try again shortly", 0),
    (503, "3", "credentials_unavailable", "busy or unavailable", 3),
    (503, "soon", "credentials_unavailable", "Try again shortly", 0),
]


def test_function_failures_are_worded_and_only_short_waits_are_automatic(
    plain_cloud: LocalCloud, browser: PageSession
) -> None:
    cloud = plain_cloud
    page = browser.page
    open_page(page, cloud.website_url)
    rows = [[status, after, code] for status, after, code, _, _ in FUNCTION_FAILURES]
    answers = page.evaluate("""async (rows) => {
      const m = await import('./js/errors.js');
      return rows.map(([status, after, code]) => {
        const body = {error: {code, message: 'detail from the function'}};
        const f = m.functionFailure(status, body, after);
        return [f.code, f.message, f.retryAfter];
      });
    }""", rows)
    for (status, _, code, words, wait), (got_code, text, got_wait) in zip(
        FUNCTION_FAILURES, answers, strict=True
    ):
        assert (got_code, got_wait) == (code, wait), (status, text)
        assert words in text, (status, text)
        assert ("detail from the function" in text) == (status != 401), text
