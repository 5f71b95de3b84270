"""Stored header values come back as the exact UTF-8 bytes sent, or are refused at upload.

Through the real HTTP shell: PostObject form fields and PutObject request headers go in;
GET and HEAD are read back from a bare socket (the bytes on the wire) and by the official
SDK. Values a header cannot carry (control characters, bytes that are not UTF-8) and
user-metadata names other than letters, digits and hyphens are refused at upload with
nothing stored. Whatever is already in the store can never split a response.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from email.utils import formatdate

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.identity import Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.oss.store import ObjectMeta
from tests.e2e.forms import post_form as send_form
from tests.localcloud.formbuilder import file_part, v4_form
from tests.localcloud.objectkit import sdk_client
from tests.localcloud.postkit import LONG, identities
from tests.localcloud.signedhttp import error_of
from tests.localcloud.signedhttp import exchange as raw_exchange

PRIVATE = "hv-private"
OPEN = "hv-open"  # public-read-write: anonymous PutObject, so raw header bytes need no signing
SITE = "hv-site"
DATA = b"header values\n"

# Values every header an object keeps must return byte for byte.
UTF8_VALUES = {
    "latin-1-range": "café",
    "cjk": "屏幕快照 2024.png",
    "emoji": "🙂 done",
    "line-separator-u2028": "a\u2028b",
    "c1-control-nel": "a\u0085b",
    "combining-accent": "e\u0301",
    "ascii-punctuation": 'a;b="c" ,/?:@&=+$#%',
}
# Form fields (PostObject) and request headers (PutObject) an object keeps.
STORED = ("x-oss-meta-name", "cache-control", "content-disposition", "content-encoding",
          "expires")

# Control characters OSS will not send back in a header: refused (HTAB too, the stricter
# reading), whatever field carries them.
CONTROLS = {
    "nul": "a\x00b",
    "tab": "a\tb",
    "lf": "a\nb",
    "cr": "a\rb",
    "crlf-injection": "x\r\nSet-Cookie: evil=1",
    "vertical-tab": "a\x0bb",
    "escape": "a\x1bb",
    "unit-separator": "a\x1fb",
    "del": "a\x7fb",
}
POST_FIELDS = (*STORED, "content-type", "x-oss-content-type", "success_action_redirect")
BAD_META_NAMES = ("x-oss-meta-a_b", "x-oss-meta-a.b", "x-oss-meta-", "x-oss-meta-a b",
                  "x-oss-meta-é")
MSG_BAD_META_NAME = ("The name of a user metadata header may hold only letters, digits and "
                     "hyphens.")


def _value_refusal(name: str) -> tuple[int, str, str, str | None]:
    ec = "0011-00000005" if name.startswith("x-oss-meta-") else None
    return (400, "InvalidArgument",
            f"The value of {name} must be UTF-8 text without control characters.", ec)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = Emulator.start(tmp_path_factory.mktemp("header-values"), lookup=identities().lookup,
                         website_bucket=SITE)
    emu.buckets.put(BucketConfig(name=PRIVATE))
    emu.buckets.put(BucketConfig(name=OPEN, acl="public-read-write"))
    emu.buckets.put(BucketConfig(name=SITE, acl="private", index_document="index.html"))
    try:
        yield emu
    finally:
        emu.stop()


# --- wire helpers (independent of the emulator's code) -----------------------------------

def exchange(emu: Emulator, raw: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Send raw request bytes (with ``Connection: close``); return status, header lines, body."""
    return raw_exchange(emu.port, raw)


def header(lines: Sequence[tuple[bytes, bytes]], name: str) -> bytes | None:
    found = [value for key, value in lines if key == name.encode()]
    assert len(found) <= 1
    return found[0] if found else None


def signed_read(emu: Emulator, method: str, bucket: str, key: str,
                ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """GET or HEAD over a bare socket, V1-signed by hand by the long-lived test key."""
    date = formatdate(usegmt=True)
    text = f"{method}\n\n\n{date}\n/{bucket}/{key}"
    signature = base64.b64encode(
        hmac.new(LONG.secret.encode(), text.encode(), hashlib.sha1).digest()).decode()
    raw = (f"{method} /{bucket}/{key} HTTP/1.1\r\nHost: 127.0.0.1:{emu.port}\r\n"
           f"Date: {date}\r\nAuthorization: OSS {LONG.access_key_id}:{signature}\r\n"
           "Connection: close\r\n\r\n").encode()
    return exchange(emu, raw)


def anonymous_put(emu: Emulator, key: str, headers: Sequence[tuple[str | bytes, bytes]],
                  ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """PutObject into the public-read-write bucket with header names and values as raw bytes."""
    raw = (f"PUT /{OPEN}/{key} HTTP/1.1\r\nHost: 127.0.0.1:{emu.port}\r\n"
           f"Content-Length: {len(DATA)}\r\nConnection: close\r\n").encode()
    for name, value in headers:
        raw += (name if isinstance(name, bytes) else name.encode("ascii")) + b": " + value
        raw += b"\r\n"
    return exchange(emu, raw + b"\r\n" + DATA)


def post_form(emu: Emulator, key: str, fields: Sequence[tuple[str, str]],
              file_type: str | None = "image/png") -> tuple[int, dict[str, str], bytes]:
    parts = [*v4_form(LONG, datetime.now(timezone.utc), PRIVATE, key=key, extra_fields=fields),
             file_part(DATA, content_type=file_type)]
    return send_form(f"{emu.url}/{PRIVATE}", parts)


def long_client(emu: Emulator) -> oss.Client:
    return sdk_client(emu.port, Principal(LONG.access_key_id, LONG.secret))


# --- round trips -------------------------------------------------------------------------

@pytest.mark.parametrize("value", UTF8_VALUES.values(), ids=UTF8_VALUES.keys())
@pytest.mark.parametrize("name", STORED)
def test_a_posted_value_comes_back_on_get_and_head_as_the_exact_utf8_bytes(
    emulator: Emulator, name: str, value: str
) -> None:
    key = f"uploads/post-{name}-{value.encode().hex()}"
    status, _, _ = post_form(emulator, key, [(name, value)])
    assert status == 204

    for method in ("HEAD", "GET"):
        got, lines, _ = signed_read(emulator, method, PRIVATE, key)
        assert (got, header(lines, name)) == (200, value.encode("utf-8"))


@pytest.mark.parametrize("value", UTF8_VALUES.values(), ids=UTF8_VALUES.keys())
@pytest.mark.parametrize("name", STORED)
def test_a_put_header_comes_back_on_get_and_head_as_the_exact_utf8_bytes(
    emulator: Emulator, name: str, value: str
) -> None:
    key = f"put-{name}-{value.encode().hex()}"
    status, _, _ = anonymous_put(emulator, key, [(name, value.encode("utf-8"))])
    assert status == 200

    for method in ("HEAD", "GET"):
        got, lines, _ = signed_read(emulator, method, OPEN, key)
        assert (got, header(lines, name)) == (200, value.encode("utf-8"))


@pytest.mark.parametrize("field", ["x-oss-content-type", "content-type"])
def test_a_non_ascii_content_type_field_is_the_stored_content_type_byte_for_byte(
    emulator: Emulator, field: str
) -> None:
    value = 'text/plain; name="übersicht.txt"'
    status, _, _ = post_form(emulator, f"uploads/ctype-{field}", [(field, value)],
                             file_type=None)
    assert status == 204
    _, lines, _ = signed_read(emulator, "HEAD", PRIVATE, f"uploads/ctype-{field}")
    assert header(lines, "content-type") == value.encode("utf-8")


def test_a_cjk_content_disposition_is_served_whole_not_a_dropped_connection(
    emulator: Emulator,
) -> None:
    value = 'attachment; filename="屏幕快照 2024.png"'
    assert post_form(emulator, "uploads/cjk-disposition.png",
                     [("Content-Disposition", value)])[0] == 204

    status, lines, body = signed_read(emulator, "GET", PRIVATE, "uploads/cjk-disposition.png")

    assert (status, header(lines, "content-disposition"), body) == (
        200, value.encode("utf-8"), DATA)


@pytest.mark.parametrize("value", ["café", "屏幕快照 2024.png", "🙂"])
def test_the_sdk_reads_utf8_metadata_as_the_latin1_text_of_its_bytes(
    emulator: Emulator, value: str
) -> None:
    # alibabacloud-oss-v2 neither percent-decodes nor UTF-8-decodes header values: it
    # hands over what http.client made of the bytes (Latin-1), so the UTF-8 is recovered
    # by encoding back to Latin-1.
    key = f"uploads/sdk-{value.encode().hex()}"
    disposition = f'attachment; filename="{value}"'
    assert post_form(emulator, key, [("x-oss-meta-name", value),
                                     ("Content-Disposition", disposition)])[0] == 204
    client = long_client(emulator)

    head = client.head_object(oss.HeadObjectRequest(bucket=PRIVATE, key=key))
    got = client.get_object(oss.GetObjectRequest(bucket=PRIVATE, key=key))

    for result in (head, got):
        assert result.metadata is not None
        assert result.metadata["name"].encode("latin-1").decode("utf-8") == value
        assert result.content_disposition is not None
        assert result.content_disposition.encode("latin-1").decode("utf-8") == disposition
    assert got.body.read() == DATA


def test_the_sdk_sends_latin1_metadata_bytes_which_are_refused_and_nothing_is_stored(
    emulator: Emulator,
) -> None:
    client = long_client(emulator)

    with pytest.raises(oss.exceptions.OperationError) as caught:
        client.put_object(oss.PutObjectRequest(bucket=PRIVATE, key="sdk-latin1", body=DATA,
                                               metadata={"name": "café"}))

    error = caught.value.unwrap()
    assert isinstance(error, oss.exceptions.ServiceError)
    assert (error.status_code, error.code, error.ec) == (400, "InvalidArgument",
                                                         "0011-00000005")
    assert client.is_object_exist(PRIVATE, "sdk-latin1") is False


def test_the_sdk_cannot_send_cjk_metadata_at_all(emulator: Emulator) -> None:
    # http.client encodes header values as Latin-1; the SDK fails before sending.
    client = long_client(emulator)

    with pytest.raises(oss.exceptions.OperationError, match="latin-1"):
        client.put_object(oss.PutObjectRequest(bucket=PRIVATE, key="sdk-cjk", body=DATA,
                                               metadata={"name": "屏幕"}))

    assert client.is_object_exist(PRIVATE, "sdk-cjk") is False


# --- refusals at upload --------------------------------------------------------------------

@pytest.mark.parametrize("value", CONTROLS.values(), ids=CONTROLS.keys())
@pytest.mark.parametrize("name", POST_FIELDS)
def test_a_posted_value_with_a_control_character_is_refused_and_nothing_is_stored(
    emulator: Emulator, name: str, value: str
) -> None:
    key = f"uploads/refused-{name}-{value.encode().hex()}"
    # The Content-Type field is stored only when neither x-oss-content-type nor the file
    # part names a type.
    file_type = None if name == "content-type" else "image/png"

    status, headers, body = post_form(emulator, key, [(name, value)], file_type=file_type)

    assert (status, *error_of(body)) == _value_refusal(name)
    assert headers.get("x-oss-ec") == _value_refusal(name)[3]
    assert signed_read(emulator, "HEAD", PRIVATE, key)[0] == 404


@pytest.mark.parametrize("value", ["image/png\x01", "image/png\x7f"], ids=["soh", "del"])
def test_a_file_part_content_type_with_a_control_character_is_refused(
    emulator: Emulator, value: str
) -> None:
    key = f"uploads/file-type-{value.encode().hex()}"

    status, _, body = post_form(emulator, key, [], file_type=value)

    assert (status, *error_of(body)) == _value_refusal("content-type")
    assert signed_read(emulator, "HEAD", PRIVATE, key)[0] == 404


@pytest.mark.parametrize("name", BAD_META_NAMES)
def test_a_posted_metadata_name_other_than_letters_digits_hyphens_is_refused(
    emulator: Emulator, name: str
) -> None:
    key = f"uploads/bad-name-{name.encode().hex()}"

    status, _, body = post_form(emulator, key, [(name, "v")])

    assert (status, *error_of(body)) == (400, "InvalidArgument", MSG_BAD_META_NAME,
                                         "0011-00000004")
    assert signed_read(emulator, "HEAD", PRIVATE, key)[0] == 404


PUT_REFUSED_BYTES = {
    "nul": b"a\x00b",
    "tab": b"a\tb",
    "vertical-tab": b"a\x0bb",
    "escape": b"a\x1bb",
    "del": b"a\x7fb",
    "not-utf8-latin1": b"caf\xe9",
    "not-utf8-truncated": b"\xe5\xb1",
}
PUT_HEADERS = (*STORED, "content-type", "x-oss-storage-class")


@pytest.mark.parametrize("value", PUT_REFUSED_BYTES.values(), ids=PUT_REFUSED_BYTES.keys())
@pytest.mark.parametrize("name", PUT_HEADERS)
def test_a_put_header_that_could_not_come_back_byte_for_byte_is_refused(
    emulator: Emulator, name: str, value: bytes
) -> None:
    key = f"refused-{name}-{value.hex()}"

    status, _, body = anonymous_put(emulator, key, [(name, value)])

    assert (status, *error_of(body)) == _value_refusal(name)
    assert signed_read(emulator, "HEAD", OPEN, key)[0] == 404


@pytest.mark.parametrize("name", ["X-Oss-Meta-A_B", "X-Oss-Meta-A.B", "X-Oss-Meta-"])
def test_a_put_metadata_name_other_than_letters_digits_hyphens_is_refused(
    emulator: Emulator, name: str
) -> None:
    key = f"bad-name-{name.encode().hex()}"

    status, _, body = anonymous_put(emulator, key, [(name, b"v")])

    assert (status, *error_of(body)) == (400, "InvalidArgument", MSG_BAD_META_NAME,
                                         "0011-00000004")
    assert signed_read(emulator, "HEAD", OPEN, key)[0] == 404


MALFORMED_SECTIONS = {
    # A folded line: the value would span CR LF.
    "obs-fold": [("X-Oss-Meta-A", b"one\r\n two")],
    # A bare CR ends the line for http.server's parser; what follows is not a header.
    "bare-cr": [("X-Oss-Meta-A", b"a\rb: c")],
    # A name that is not a token ends the header section early (the rest would be lost).
    "non-token-name": [(b"X-Oss-Meta-\xc3\xa9", b"v"), ("X-Oss-Meta-B", b"lost")],
}


@pytest.mark.parametrize("headers", MALFORMED_SECTIONS.values(), ids=MALFORMED_SECTIONS.keys())
def test_a_header_section_that_cannot_be_read_line_by_line_is_refused_whole(
    emulator: Emulator, headers: list[tuple[str | bytes, bytes]]
) -> None:
    key = f"malformed-{secrets.token_hex(6)}"

    status, lines, body = anonymous_put(emulator, key, headers)

    assert (status, *error_of(body)) == (400, "InvalidRequest",
                                         "The request header section is malformed.", None)
    assert header(lines, "connection") == b"close"
    assert signed_read(emulator, "HEAD", OPEN, key)[0] == 404


# --- nothing stored can split a response ---------------------------------------------------

UNSAFE_STORED = {
    "crlf-in-metadata": ({}, {"x-oss-meta-a": "x\r\nSet-Cookie: evil=1"}),
    "lf-in-disposition": ({"Content-Disposition": "x\nSet-Cookie: evil=1"}, {}),
    "nul-in-metadata": ({}, {"x-oss-meta-a": "x\x00evil"}),
    "name-not-a-token": ({}, {"x-oss-meta-a: evil\r\nSet-Cookie": "evil=1"}),
}


def _commit_unsafe(emu: Emulator, bucket: str, key: str, headers: dict[str, str],
                   metadata: dict[str, str]) -> None:
    """Put an object the upload checks would refuse straight into the store (an old state
    directory, another writer): the response writer is the last line of defence."""
    path = emu.store.spool_dir(bucket) / f"unsafe-{key}"
    path.write_bytes(DATA)
    emu.store.commit(bucket, path, ObjectMeta(
        key=key, size=len(DATA), etag=hashlib.md5(DATA).hexdigest().upper(), crc64=0,
        content_type="text/html", last_modified=datetime.now(timezone.utc),
        acl="public-read", headers=headers, metadata=metadata,
    ), forbid_overwrite=False)


@pytest.mark.parametrize("stored", UNSAFE_STORED.values(), ids=UNSAFE_STORED.keys())
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_stored_value_that_would_split_the_response_is_never_written(
    emulator: Emulator, method: str, stored: tuple[dict[str, str], dict[str, str]]
) -> None:
    key = f"unsafe-{secrets.token_hex(6)}"
    _commit_unsafe(emulator, PRIVATE, key, *stored)

    status, lines, body = signed_read(emulator, method, PRIVATE, key)

    assert status == 500
    assert header(lines, "set-cookie") is None
    assert all(b"evil" not in name + value for name, value in lines)
    if method == "GET":
        assert error_of(body)[0] == "InternalError"


@pytest.mark.parametrize("stored", UNSAFE_STORED.values(), ids=UNSAFE_STORED.keys())
def test_the_website_origin_never_writes_a_stored_value_that_would_split_the_response(
    emulator: Emulator, stored: tuple[dict[str, str], dict[str, str]]
) -> None:
    key = f"page-{secrets.token_hex(6)}"
    _commit_unsafe(emulator, SITE, key, *stored)

    status, lines, _ = exchange(emulator, (
        f"GET /{key} HTTP/1.1\r\nHost: localhost:{emulator.port}\r\n"
        "Connection: close\r\n\r\n").encode())

    assert status == 500
    assert all(b"evil" not in name + value for name, value in lines)
