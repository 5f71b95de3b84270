"""Fuzzing the emulator's multipart and policy parsing over HTTP: 4xx, never a 500.

Policies are random documents correctly signed with OSS4-HMAC-SHA256, so parsing and
evaluating them is exercised past the signature check; bodies are a valid form mutated
byte-wise. Everything goes through the real HTTP server on loopback. Bounded.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from tests.localcloud.formbuilder import (
    Signer,
    content_type,
    encode,
    file_part,
    policy_b64,
    v4_form,
)

SIGNER = Signer("FAKE-AK-FUZZ-EMULATOR", "fake-fuzz-emulator-secret")
BUCKET = "fuzz-bucket"
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    running = Emulator.start(tmp_path_factory.mktemp("fuzz-emulator"),
                             lookup=IdentityStore([Principal(SIGNER.access_key_id,
                                                             SIGNER.secret)]).lookup,
                             clock=lambda: NOW)
    running.buckets.put(BucketConfig(name=BUCKET))
    try:
        yield running
    finally:
        running.stop()


def signed_form(policy: Any | None, data: bytes) -> tuple[bytes, str]:
    """Return a form body and its type, signed with OSS4-HMAC-SHA256.

    ``policy`` is signed as given; ``None`` signs a complete, valid policy instead (the
    form conditions V4 requires plus a 64-byte length range), one the emulator accepts.
    """
    override = None if policy is None else policy_b64(policy)
    fields = v4_form(SIGNER, NOW, BUCKET, key="uploads/f.bin", policy_override=override,
                     conditions=[["content-length-range", 0, 64]])
    return encode([*fields, file_part(data, "f.bin", "application/octet-stream")]), content_type()


def post(emulator: Emulator, body: bytes, content_type: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=30)
    try:
        conn.request("POST", f"/{BUCKET}", body=body, headers={"Content-Type": content_type})
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def assert_clean(status: int, body: bytes) -> None:
    assert status == 204 or 400 <= status < 500, body[:300]  # 204: the default success status
    if status >= 400:
        assert b"<Error>" in body and b"<Code>" in body


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=30))
operators = st.sampled_from(["eq", "starts-with", "in", "not-in", "content-length-range",
                             "EQ", "bogus"])
names = st.sampled_from(["$key", "$bucket", "$content-type", "$x-oss-meta-a", "key", "$"])
conditions = st.one_of(
    st.tuples(operators, names, scalars).map(list),
    st.tuples(operators, scalars, scalars).map(list),
    st.lists(scalars, max_size=4),
    st.dictionaries(st.sampled_from(["bucket", "key", "x-oss-date", "success_action_status"]),
                    scalars, max_size=2),
    scalars,
)
expirations = st.one_of(st.just("2099-01-01T00:00:00.000Z"), st.text(max_size=30), scalars)
policies = st.one_of(
    st.fixed_dictionaries({"expiration": expirations,
                           "conditions": st.lists(conditions, max_size=5)}),
    st.dictionaries(st.text(max_size=12), scalars, max_size=3),
    scalars,
    st.lists(scalars, max_size=3),
)


@FUZZ
@given(policy=policies, data=st.binary(max_size=64))
def test_any_signed_policy_is_accepted_or_refused_with_a_4xx(
    emulator: Emulator, policy: Any, data: bytes
) -> None:
    body, ctype = signed_form(policy, data)
    assert_clean(*post(emulator, body, ctype))


@FUZZ
@given(edits=st.lists(st.tuples(st.floats(min_value=0, max_value=1), st.integers(0, 30),
                                st.binary(max_size=10)), min_size=1, max_size=4),
       ctype_edit=st.sampled_from(["keep", "no-boundary", "other", "empty"]))
def test_any_mutated_form_body_gets_a_clean_answer(
    emulator: Emulator, edits: list[tuple[float, int, bytes]], ctype_edit: str
) -> None:
    body, ctype = signed_form(None, b"payload")
    mutated = bytearray(body)
    for where, cut, insert in edits:
        at = int(where * (len(mutated) - 1))
        mutated[at:at + cut] = insert
    ctype = {"keep": ctype, "no-boundary": "multipart/form-data", "other": "text/plain",
             "empty": ""}[ctype_edit]
    assert_clean(*post(emulator, bytes(mutated), ctype))


def test_the_unmutated_signed_form_is_accepted(emulator: Emulator) -> None:
    """The fuzzed forms start from one the emulator accepts, so mutations get past the signature."""
    status, body = post(emulator, *signed_form(None, b"payload"))
    assert status == 204, body[:300]
