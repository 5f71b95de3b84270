"""Malformed input is always a clear OssError (a 4xx), never another exception."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.oss.errors import OssError
from localcloud.oss.postobject.form import receive_post
from tests.localcloud.formbuilder import content_type, encode, file_part, v4_form
from tests.localcloud.postkit import BUCKET, FIXED_NOW, TEMP, make_env

VALID = encode([*v4_form(TEMP, FIXED_NOW, BUCKET, conditions=[["content-length-range", 1, 64]]),
                file_part(b"payload")])


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(VALID) - 1),
                  st.integers(min_value=0, max_value=40), st.binary(max_size=12)),
        min_size=1, max_size=4),
    declared_delta=st.sampled_from([0, 0, 0, -7, 9, None]),
)
def test_mutated_bodies_only_ever_raise_oss_errors_with_4xx_status(
    tmp_path: Path, edits: list[tuple[int, int, bytes]], declared_delta: int | None
) -> None:
    body = bytearray(VALID)
    for at, cut, insert in edits:
        body[at : at + cut] = insert
    length = None if declared_delta is None else max(0, len(body) + declared_delta)
    env = make_env(tmp_path)
    try:
        upload = receive_post(io.BytesIO(bytes(body)), content_type(), length, {}, env.ctx)
    except OssError as error:
        assert 400 <= error.status < 500
    else:
        upload.temp_path.unlink()
    assert env.spooled() == []
