"""Streaming guarantees of ``receive_post``: early stop, flat memory, no leftovers.

Bodies are generated lazily (nothing the size of the file is ever built), and the
generator counts what was consumed, so "reading stopped early" is measured, not assumed.
"""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from pathlib import Path
from typing import BinaryIO, cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.oss.errors import OssError
from localcloud.oss.postobject.form import receive_post
from tests.localcloud.formbuilder import (
    LazyBody,
    closing,
    content_type,
    encode,
    file_part,
    generated_bytes,
    part_head,
    v4_form,
)
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, make_env

MiB = 1024 * 1024


def stream(source: LazyBody | io.RawIOBase) -> BinaryIO:
    """Hand a stand-in socket file to ``receive_post``, which calls only ``read(n)`` on it."""
    return cast(BinaryIO, source)
GiB = 1024 * MiB


def lazy_form(size: int, conditions: list[object] | None = None) -> LazyBody:
    fields = encode(v4_form(LONG, FIXED_NOW, BUCKET, conditions=conditions or []))
    fields = fields[: fields.rindex(b"\r\n--")]  # drop the closing delimiter
    head = part_head(file_part(b""))
    return LazyBody(fields + head, size, closing())


def test_a_body_declaring_more_than_5_gb_is_refused_before_reading(tmp_path: Path) -> None:
    body = lazy_form(6 * GiB)
    env = make_env(tmp_path)
    with pytest.raises(OssError) as caught:
        receive_post(stream(body), content_type(), body.total, {}, env.ctx)
    assert (caught.value.code, caught.value.message) == (
        "EntityTooLarge", "Post body size must be less than 5G")
    assert body.consumed == 0
    assert env.spooled() == []


def test_an_undeclared_stream_stops_as_soon_as_the_object_limit_is_passed(tmp_path: Path) -> None:
    # Chunked bodies carry no length: the limit must bite while streaming. The limit is
    # lowered to 8 MiB so the test does not write gigabytes; the 4 GiB stream behind it
    # would otherwise be read to the end.
    body = lazy_form(4 * GiB)
    env = make_env(tmp_path).with_settings(max_object_bytes=8 * MiB)
    with pytest.raises(OssError) as caught:
        receive_post(stream(body), content_type(), None, {}, env.ctx)
    assert (caught.value.code, caught.value.message) == (
        "EntityTooLarge", "Post body size must be less than 5G")
    assert body.consumed < 8 * MiB + 3 * MiB
    assert env.spooled() == []


def test_the_policy_maximum_stops_reading_early(tmp_path: Path) -> None:
    body = lazy_form(512 * MiB, conditions=[["content-length-range", 0, MiB]])
    env = make_env(tmp_path)
    with pytest.raises(OssError) as caught:
        receive_post(stream(body), content_type(), body.total, {}, env.ctx)
    assert caught.value.code == "EntityTooLarge"
    assert body.consumed < 4 * MiB
    assert env.spooled() == []


def test_a_bad_signature_never_spools_the_file(tmp_path: Path) -> None:
    fields = encode(v4_form(LONG.__class__(LONG.access_key_id, "fake-wrong"), FIXED_NOW, BUCKET))
    body = LazyBody(fields[: fields.rindex(b"\r\n--")] + part_head(file_part(b"")), 256 * MiB,
                    closing())
    env = make_env(tmp_path)
    with pytest.raises(OssError) as caught:
        receive_post(stream(body), content_type(), body.total, {}, env.ctx)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert body.consumed < 2 * MiB
    assert env.spooled() == []


def test_memory_stays_flat_while_receiving_a_large_generated_file(tmp_path: Path) -> None:
    size = 300 * MiB
    body = lazy_form(size)
    env = make_env(tmp_path)
    tracemalloc.start()
    try:
        upload = receive_post(stream(body), content_type(), body.total, {}, env.ctx)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = hashlib.md5()
    for chunk in generated_bytes(size):
        expected.update(chunk)
    assert (upload.size, upload.md5_hex) == (size, expected.hexdigest())
    assert upload.temp_path.stat().st_size == size
    upload.temp_path.unlink()
    assert peak < 12 * MiB, f"peak {peak / MiB:.1f} MiB"


class _Disconnecting(io.RawIOBase):
    """A socket-like stream that resets after handing out ``limit`` bytes."""

    def __init__(self, data: bytes, limit: int) -> None:
        self._data, self._limit, self._pos = data, limit, 0

    def read(self, n: int = -1) -> bytes:
        if self._pos >= self._limit:
            raise ConnectionResetError("client went away")
        piece = self._data[self._pos : min(self._pos + n, self._limit)]
        self._pos += len(piece)
        return piece


def test_a_client_that_disconnects_mid_file_leaves_no_temp_file(tmp_path: Path) -> None:
    body = encode([*v4_form(LONG, FIXED_NOW, BUCKET), file_part(b"z" * (3 * MiB))])
    env = make_env(tmp_path)
    with pytest.raises(ConnectionResetError):
        receive_post(stream(_Disconnecting(body, len(body) - MiB)), content_type(), len(body), {},
                     env.ctx)
    assert env.spooled() == []


def test_a_body_shorter_than_its_content_length_fails_without_hanging(tmp_path: Path) -> None:
    body = encode([*v4_form(LONG, FIXED_NOW, BUCKET), file_part(b"z" * 1000)])
    env = make_env(tmp_path)
    with pytest.raises(OssError) as caught:
        receive_post(io.BytesIO(body[:-500]), content_type(), len(body), {}, env.ctx)
    assert caught.value.code == "MalformedPOSTRequest"
    assert env.spooled() == []


class _Dribble(io.RawIOBase):
    """Hands out the body a few bytes at a time, like a slow socket."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data, self._sizes, self._pos, self._i = data, sizes, 0, 0

    def read(self, n: int = -1) -> bytes:
        step = self._sizes[self._i % len(self._sizes)]
        self._i += 1
        piece = self._data[self._pos : self._pos + min(n, step)]
        self._pos += len(piece)
        return piece


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.binary(max_size=400).map(lambda b: b + b"\r\n------FakeForm\r\n--" + b),
    sizes=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=5),
)
def test_boundaries_split_across_reads_and_lookalike_bytes_are_handled(
    tmp_path: Path, data: bytes, sizes: list[int]
) -> None:
    body = encode([*v4_form(LONG, FIXED_NOW, BUCKET), file_part(data)])
    upload = receive_post(stream(_Dribble(body, sizes)), content_type(), len(body), {},
                          make_env(tmp_path).ctx)
    assert upload.temp_path.read_bytes() == data
    upload.temp_path.unlink()
