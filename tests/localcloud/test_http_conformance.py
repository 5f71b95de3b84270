"""PostObject conformance at the HTTP level: what a client sees on the wire from the server.

The refusal table of ``test_post_errors`` (one row per §8.2 situation) is replayed here
through the real HTTP shell, so status, XML body, headers and addressing are checked as
OSS sends them, not as the core raises them. Success variants, addressing styles, CORS
preflights and ``ExposeHeader`` follow.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from xml.etree import ElementTree

import pytest

from localcloud.oss.buckets import BucketConfig
from localcloud.oss.cors import make_rule
from localcloud.oss.emulator import Emulator
from localcloud.oss.postobject.settings import PostSettings
from tests.e2e.forms import post_form, request
from tests.localcloud.formbuilder import Part, content_type, encode, file_part, v4_form
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, identities
from tests.localcloud.test_post_errors import ROWS, Row

ORIGIN = "https://app.example.test"
EXPOSED = ("ETag", "x-oss-request-id")
DATA = b"conformance bytes\n"
KEY = "uploads/photo.png"
# Verbatim from the reference §9, typos included: written out here, not imported.
PREFLIGHT_REFUSED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or Access-Control-Requet-Headers "
    "are not whitelisted by the resource's CORS spec."
)


def start_emulator(state: Path, settings: PostSettings | None = None) -> Emulator:
    emu = Emulator.start(state, lookup=identities().lookup, clock=lambda: FIXED_NOW,
                         post_settings=settings)
    emu.buckets.put(BucketConfig(name=BUCKET, cors_rules=(
        make_rule(origins=(ORIGIN,), methods=("POST", "PUT"), headers=("content-md5", "x-oss-*"),
                  expose=EXPOSED, max_age_seconds=600),
    )))
    return emu


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = start_emulator(tmp_path_factory.mktemp("conformance"))
    try:
        yield emu
    finally:
        emu.stop()


def send(emu: Emulator, body: bytes, *, ctype: str | None = None, virtual: bool = False,
         headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """POST a body to the bucket, path-style or virtual-hosted."""
    all_headers = {"Content-Type": ctype or content_type(), **(headers or {})}
    if virtual:
        all_headers["Host"] = f"{BUCKET}.localhost:{emu.port}"
        return request("POST", f"{emu.url}/", body, all_headers)
    return request("POST", f"{emu.url}/{BUCKET}", body, all_headers)


def xml_children(body: bytes) -> list[tuple[str, str]]:
    return [(child.tag, child.text or "") for child in ElementTree.fromstring(body)]


def form(key: str = KEY, extra: Sequence[tuple[str, str]] = ()) -> list[Part]:
    return [*v4_form(LONG, FIXED_NOW, BUCKET, key=key, extra_fields=extra), file_part(DATA)]


def _row_body(row: Row) -> bytes:
    parts = row.parts()
    return parts if isinstance(parts, bytes) else encode(parts)


@pytest.mark.parametrize("virtual", [False, True], ids=["path-style", "virtual-hosted"])
@pytest.mark.parametrize("name", list(ROWS))
def test_each_refusal_reaches_the_client_as_osss_xml_error(
    emulator: Emulator, tmp_path: Path, name: str, virtual: bool
) -> None:
    row = ROWS[name]
    emu = start_emulator(tmp_path, PostSettings(**row.settings)) if row.settings else emulator
    try:
        status, headers, body = send(emu, _row_body(row), ctype=row.ctype, virtual=virtual,
                                     headers=row.headers)
    finally:
        if emu is not emulator:
            emu.stop()

    expected_status, code, message, ec = row.expected
    children = xml_children(body)
    fields = dict(children)
    assert status == expected_status
    assert (fields["Code"], fields["Message"]) == (code, message)
    assert [tag for tag, _ in children][:4] == ["Code", "Message", "RequestId", "HostId"]
    assert fields["RequestId"] == headers["x-oss-request-id"]
    assert fields["HostId"] == f"{BUCKET}.{'localhost' if virtual else '127.0.0.1'}:{emu.port}"
    assert fields.get("EC") == ec
    assert headers.get("x-oss-ec") == ec
    if ec is not None:
        assert fields["RecommendDoc"] == f"https://api.aliyun.com/troubleshoot?q={ec}"
    if row.extra is not None:
        assert {k: fields[k] for k in row.extra} == row.extra
    assert headers["content-type"] == "application/xml"
    assert headers["server"] == "AliyunOSS"
    assert headers["content-length"] == str(len(body))
    assert list(emu.store.spool_dir(BUCKET).iterdir()) == []


def _stored(emu: Emulator, key: str) -> bytes | None:
    with emu.store.open(BUCKET, key) as found:
        return None if found is None else found[1].read()


def _common_success_headers(headers: Mapping[str, str]) -> None:
    md5 = hashlib.md5(DATA)
    assert headers["etag"] == f'"{md5.hexdigest().upper()}"'
    assert headers["content-md5"] == base64.b64encode(md5.digest()).decode()
    assert headers["x-oss-hash-crc64ecma"].isdigit()
    assert len(headers["x-oss-request-id"]) == 24
    assert headers["server"] == "AliyunOSS"


@pytest.mark.parametrize(("status_field", "expected"), [
    (None, 204), ("204", 204), ("200", 200), ("999", 204), ("", 204),
])
def test_empty_success_statuses_follow_success_action_status(
    emulator: Emulator, status_field: str | None, expected: int
) -> None:
    key = f"uploads/status-{status_field}.bin"
    extra = [] if status_field is None else [("success_action_status", status_field)]
    status, headers, body = send(emulator, encode(form(key, extra)))
    assert (status, body) == (expected, b"")
    assert headers["content-length"] == "0"
    _common_success_headers(headers)
    assert _stored(emulator, key) == DATA


@pytest.mark.parametrize("virtual", [False, True], ids=["path-style", "virtual-hosted"])
def test_201_answers_post_response_xml_in_osss_order(emulator: Emulator, virtual: bool) -> None:
    key = f"uploads/created-{virtual}.png"
    status, headers, body = send(emulator, encode(form(key, [("success_action_status", "201")])),
                                 virtual=virtual)
    location = (f"http://{BUCKET}.localhost:{emulator.port}/{key}" if virtual
                else f"http://127.0.0.1:{emulator.port}/{BUCKET}/{key}")
    assert status == 201
    assert ElementTree.fromstring(body).tag == "PostResponse"
    assert xml_children(body) == [
        ("Bucket", BUCKET), ("Location", location), ("Key", key),
        ("ETag", hashlib.md5(DATA).hexdigest().upper()),
    ]
    assert headers["content-type"] == "application/xml"
    _common_success_headers(headers)
    assert _stored(emulator, key) == DATA


def test_success_action_redirect_answers_303_to_the_url_unchanged(emulator: Emulator) -> None:
    target = "https://app.example.test/done?upload=1"
    status, headers, body = send(emulator, encode(form(extra=[
        ("success_action_redirect", target), ("success_action_status", "201")])))
    assert (status, headers["location"], body) == (303, target, b"")
    _common_success_headers(headers)


@pytest.mark.parametrize("virtual", [False, True], ids=["path-style", "virtual-hosted"])
def test_both_addressing_styles_store_in_the_addressed_bucket(
    emulator: Emulator, virtual: bool
) -> None:
    key = f"uploads/addressed-{virtual}.png"
    status, _, _ = send(emulator, encode(form(key)), virtual=virtual)
    assert status == 204
    assert _stored(emulator, key) == DATA


def test_a_form_signed_for_one_bucket_is_refused_by_another(
    emulator: Emulator
) -> None:
    emulator.buckets.put(BucketConfig(name="otherbucket"))
    status, _, answer = post_form(f"{emulator.url}/otherbucket", form())
    assert status == 403
    assert dict(xml_children(answer))["Message"] == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "examplebucket"]')


def test_a_matching_content_md5_header_is_accepted(emulator: Emulator) -> None:
    body = encode(form("uploads/md5.png"))
    digest = base64.b64encode(hashlib.md5(body).digest()).decode()
    status, _, _ = send(emulator, body, headers={"Content-MD5": digest})
    assert status == 204


def test_a_wrong_content_md5_header_is_invalid_digest_and_nothing_is_stored(
    emulator: Emulator
) -> None:
    body = encode(form("uploads/md5-wrong.png"))
    wrong = base64.b64encode(hashlib.md5(body + b"x").digest()).decode()
    status, _, answer = send(emulator, body, headers={"Content-MD5": wrong})
    assert status == 400
    assert dict(xml_children(answer))["Code"] == "InvalidDigest"
    assert _stored(emulator, "uploads/md5-wrong.png") is None


def _preflight(emu: Emulator, path: str, headers: Mapping[str, str], *,
               virtual: bool = False) -> tuple[int, dict[str, str], bytes]:
    all_headers = dict(headers)
    if virtual:
        all_headers["Host"] = f"{BUCKET}.localhost:{emu.port}"
        return request("OPTIONS", f"{emu.url}{path}", None, all_headers)
    return request("OPTIONS", f"{emu.url}/{BUCKET}{path}", None, all_headers)


@pytest.mark.parametrize("virtual", [False, True], ids=["path-style", "virtual-hosted"])
@pytest.mark.parametrize("path", ["/", "/uploads/photo.png"])
def test_an_allowed_preflight_gets_200_and_every_cors_header(
    emulator: Emulator, virtual: bool, path: str
) -> None:
    status, headers, body = _preflight(emulator, path, {
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Content-MD5, x-oss-meta-a",
    }, virtual=virtual)
    assert (status, body) == (200, b"")
    assert {k: headers[k] for k in (
        "access-control-allow-origin", "access-control-allow-methods",
        "access-control-allow-headers", "access-control-expose-headers",
        "access-control-max-age")} == {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-methods": "POST, PUT",
        "access-control-allow-headers": "Content-MD5, x-oss-meta-a",
        "access-control-expose-headers": "ETag, x-oss-request-id",
        "access-control-max-age": "600",
    }


@pytest.mark.parametrize("asked", [
    {"Origin": "https://evil.example.test", "Access-Control-Request-Method": "POST"},
    {"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"},
    {"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
     "Access-Control-Request-Headers": "authorization"},
    {"Access-Control-Request-Method": "POST"},
    {"Origin": ORIGIN},
], ids=["origin", "method", "header", "no-origin", "no-method"])
def test_a_refused_preflight_is_403_access_forbidden_verbatim(
    emulator: Emulator, asked: dict[str, str]
) -> None:
    status, headers, body = _preflight(emulator, "/uploads/photo.png", asked)
    fields = dict(xml_children(body))
    assert status == 403
    assert (fields["Code"], fields["Message"]) == ("AccessForbidden", PREFLIGHT_REFUSED)
    assert headers["content-type"] == "application/xml"
    assert "access-control-allow-origin" not in headers


def test_the_actual_post_exposes_the_configured_headers_to_the_page(emulator: Emulator) -> None:
    status, headers, _ = send(emulator, encode(form("uploads/cors.png")),
                              headers={"Origin": ORIGIN})
    assert status == 204
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-expose-headers"] == "ETag, x-oss-request-id"


def test_a_refused_post_still_carries_cors_headers_so_the_page_can_read_the_error(
    emulator: Emulator
) -> None:
    status, headers, _ = send(emulator, encode(form("/bad-key")), headers={"Origin": ORIGIN})
    assert status == 400
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-expose-headers"] == "ETag, x-oss-request-id"


def test_a_post_from_an_unlisted_origin_gets_no_cors_headers_but_is_stored(
    emulator: Emulator
) -> None:
    status, headers, _ = send(emulator, encode(form("uploads/no-cors.png")),
                              headers={"Origin": "https://evil.example.test"})
    assert status == 204
    assert not any(name.startswith("access-control-") for name in headers)
    assert _stored(emulator, "uploads/no-cors.png") == DATA
