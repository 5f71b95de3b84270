"""Object names OSS refuses are refused on every path that names an object, before storing.

OSS's rules (EC pages 0016-00000001/2/4/5, the OSS 400 page's wordings): UTF-8, 1 to 1023
bytes, not starting with ``/`` or ``\\``. NUL and DEL are refused too: the stricter reading
of an undocumented case. The other control characters are names OSS accepts (its SDK's
integration tests store a key holding U+0001..U+001F). The same check runs for the
PostObject ``key`` (after ``${filename}`` is expanded), PutObject and every other object
operation.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.identity import IdentityStore
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.oss.errors import OssError
from tests.localcloud.formbuilder import file_part, v4_form
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, make_env, post
from tests.localcloud.signedhttp import error_of
from tests.localcloud.signedhttp import exchange as raw_exchange

OPEN = "names-open"  # public-read-write: the object API is reached without signing
EMPTY = (400, "InvalidObjectName", "The Object name can not be empty.", "0016-00000001")
TOO_LONG = (400, "InvalidObjectName", "The Length of Object name must be less than 1024.",
            "0016-00000002")
NOT_UTF8 = (400, "InvalidObjectName", "The specified object is not valid.", "0016-00000004")
LEADING_SLASH = (400, "InvalidObjectName", "The specified object is not valid.",
                 "0016-00000005")
CONTROL = (400, "InvalidObjectName", "The specified object is not valid.", None)

REFUSED_KEYS = {
    "empty": ("", EMPTY),
    "leading-slash": ("/uploads/a", LEADING_SLASH),
    "leading-backslash": ("\\uploads\\a", LEADING_SLASH),
    "1024-ascii-bytes": ("k" * 1024, TOO_LONG),
    "1024-utf8-bytes": ("é" * 512, TOO_LONG),
    "1025-utf8-bytes-cjk": ("a" + "屏" * 341 + "b", TOO_LONG),
    "nul": ("uploads/a\x00b", CONTROL),
    "del": ("uploads/a\x7f", CONTROL),
}
ACCEPTED_KEYS = {
    "1023-ascii-bytes": "k" * 1023,
    "1023-utf8-bytes": "é" * 511 + "a",
    "1023-utf8-bytes-cjk": "屏" * 341,
    "cjk-and-spaces": "uploads/屏幕快照 2024.png",
    "emoji": "uploads/🙂.png",
    "line-separator-u2028": "uploads/a\u2028b",
    "c1-control-nel": "uploads/a\u0085b",
    "inner-slashes": "uploads//a/../b",
    "inner-backslash": "uploads\\a",
    "cr": "uploads/a\rb",
    "lf": "uploads/a\nb",
    "crlf": "uploads/a\r\nSet-Cookie: x",
    "tab": "uploads/a\tb",
    "soh": "uploads/\x01",
    "unit-separator": "uploads/\x1f",
}


def _refusal(error: OssError) -> tuple[int, str, str, str | None]:
    return error.status, error.code, error.message, error.ec


# --- PostObject (the verifier core) -------------------------------------------------------

@pytest.mark.parametrize(("key", "expected"), REFUSED_KEYS.values(), ids=REFUSED_KEYS.keys())
def test_a_posted_key_oss_refuses_is_refused_and_nothing_is_spooled(
    tmp_path: Path, key: str, expected: tuple[int, str, str, str | None]
) -> None:
    env = make_env(tmp_path)

    with pytest.raises(OssError) as caught:
        post(env, [*v4_form(LONG, FIXED_NOW, BUCKET, key=key), file_part(b"x")])

    assert _refusal(caught.value) == expected
    assert env.spooled() == []


@pytest.mark.parametrize("key", ACCEPTED_KEYS.values(), ids=ACCEPTED_KEYS.keys())
def test_a_posted_key_oss_accepts_is_stored_under_exactly_that_name(
    tmp_path: Path, key: str
) -> None:
    upload = post(make_env(tmp_path), [*v4_form(LONG, FIXED_NOW, BUCKET, key=key),
                                       file_part(b"x")])
    try:
        assert upload.key == key
    finally:
        upload.temp_path.unlink()


FILENAMES = {
    "nul": ("a\x00b.png", CONTROL),
    "del": ("a\x7f.png", CONTROL),
    "absolute-path": ("/etc/passwd", LEADING_SLASH),
    "windows-path": ("\\\\server\\share.png", LEADING_SLASH),
    "empty": ("", EMPTY),
    "too-long": ("f" * 1024, TOO_LONG),
}


@pytest.mark.parametrize(("filename", "expected"), FILENAMES.values(), ids=FILENAMES.keys())
def test_the_key_is_checked_again_after_filename_expansion(
    tmp_path: Path, filename: str, expected: tuple[int, str, str, str | None]
) -> None:
    env = make_env(tmp_path)

    with pytest.raises(OssError) as caught:
        post(env, [*v4_form(LONG, FIXED_NOW, BUCKET, key="${filename}"),
                   file_part(b"x", filename=filename)])

    assert _refusal(caught.value) == expected
    assert env.spooled() == []


# --- the object API over HTTP ---------------------------------------------------------------

@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = Emulator.start(tmp_path_factory.mktemp("names"), lookup=IdentityStore([]).lookup)
    emu.buckets.put(BucketConfig(name=OPEN, acl="public-read-write"))
    try:
        yield emu
    finally:
        emu.stop()


def exchange(emu: Emulator, method: str, target: bytes, body: bytes = b"",
             ) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request with a raw target (bytes as sent); return status, headers, body."""
    raw = (method.encode() + b" /" + OPEN.encode() + b"/" + target + b" HTTP/1.1\r\n"
           + f"Host: 127.0.0.1:{emu.port}\r\nContent-Length: {len(body)}\r\n".encode()
           + b"Connection: close\r\n\r\n" + body)
    status, lines, rest = raw_exchange(emu.port, raw)
    return status, dict(lines), rest


# Raw request targets (after ``/bucket/``) and the key they name.
REFUSED_TARGETS = {
    "nul-escaped": (b"a%00b", CONTROL),
    "del-escaped": (b"a%7F", CONTROL),
    "not-utf8-escaped": (b"caf%E9", NOT_UTF8),
    "not-utf8-raw": (b"caf\xe9", NOT_UTF8),
    "leading-slash": (b"/a", LEADING_SLASH),
    "leading-slash-escaped": (b"%2Fa", LEADING_SLASH),
    "leading-backslash-escaped": (b"%5Ca", LEADING_SLASH),
    "1024-bytes": (b"k" * 1024, TOO_LONG),
    "1024-utf8-bytes-escaped": (b"%C3%A9" * 512, TOO_LONG),
}


@pytest.mark.parametrize(("target", "expected"), REFUSED_TARGETS.values(),
                         ids=REFUSED_TARGETS.keys())
def test_a_put_key_oss_refuses_is_refused_and_nothing_is_stored(
    emulator: Emulator, target: bytes, expected: tuple[int, str, str, str | None]
) -> None:
    stored_before = emulator.store.list(OPEN)

    status, headers, body = exchange(emulator, "PUT", target, b"data")

    assert (status, *error_of(body)) == expected
    assert headers.get(b"x-oss-ec") == (expected[3].encode() if expected[3] else None)
    assert emulator.store.list(OPEN) == stored_before


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
@pytest.mark.parametrize(("target", "expected"), [REFUSED_TARGETS["nul-escaped"],
                                                  REFUSED_TARGETS["not-utf8-escaped"],
                                                  REFUSED_TARGETS["1024-bytes"]],
                         ids=["nul", "not-utf8", "too-long"])
def test_every_object_operation_refuses_such_a_key(
    emulator: Emulator, method: str, target: bytes,
    expected: tuple[int, str, str, str | None],
) -> None:
    status, headers, body = exchange(emulator, method, target)

    assert status == expected[0]
    # HEAD has no body: OSS carries the error document Base64-encoded in x-oss-err.
    document = base64.b64decode(headers[b"x-oss-err"]) if method == "HEAD" else body
    assert error_of(document) == expected[1:]


ACCEPTED_TARGETS = {
    "raw-utf8-bytes": (b"caf\xc3\xa9.txt", "café.txt"),
    "escaped-utf8": (b"%E5%B1%8F%E5%B9%95.png", "屏幕.png"),
    "line-separator-u2028": (b"a%E2%80%A8b", "a\u2028b"),
    "1023-bytes": (b"q" * 1023, "q" * 1023),
    "crlf-escaped": (b"a%0D%0ASet-Cookie:%20x", "a\r\nSet-Cookie: x"),
    "tab-escaped": (b"a%09b", "a\tb"),
    "every-c0-control-but-nul": (b"".join(b"%%%02X" % n for n in range(1, 32)),
                                 "".join(map(chr, range(1, 32)))),
}


@pytest.mark.parametrize(("target", "key"), ACCEPTED_TARGETS.values(),
                         ids=ACCEPTED_TARGETS.keys())
def test_a_put_key_oss_accepts_is_stored_under_its_utf8_name(
    emulator: Emulator, target: bytes, key: str
) -> None:
    assert exchange(emulator, "PUT", target, b"data")[0] == 200

    assert key in {meta.key for meta in emulator.store.list(OPEN)}
    escaped = "".join(f"%{b:02X}" for b in key.encode("utf-8")).encode()
    assert exchange(emulator, "GET", escaped)[2] == b"data"
