"""AppendObject: an Appendable object grows only at its end, and only by AppendObject.

The first append (position 0) creates the object with the request's headers; each later
one must start at the object's length (409 PositionNotEqualToLength with
``x-oss-next-append-position``); a Normal object is not appendable (409
ObjectNotAppendable). A refused append changes nothing; of two appends at the same
position exactly one lands.
"""

from __future__ import annotations

import threading

import alibabacloud_oss_v2 as oss

from localcloud.oss.crc64 import crc64_update
from tests.localcloud.objectkit import ADMIN, Cloud
from tests.localcloud.signedhttp import Answer, Call, send_framed


def append(ops: Cloud, key: str, position: int, data: bytes, **headers: str) -> Answer:
    return ops.send(Call("POST", ops.bucket, key, {"append": "", "position": str(position)},
                         {name.replace("_", "-"): value for name, value in headers.items()},
                         data))


def test_appends_grow_one_appendable_object_that_keeps_its_first_headers(ops: Cloud) -> None:
    first = append(ops, "log.txt", 0, b"hello", Content_Type="text/plain",
                   x_oss_meta_owner="alice", x_oss_tagging="kind=log")
    second = append(ops, "log.txt", 5, b" world", Content_Type="text/html",
                    x_oss_meta_owner="bob")
    head = ops.client().head_object(oss.HeadObjectRequest(bucket=ops.bucket, key="log.txt"))

    assert [(a.status, a.headers["x-oss-next-append-position"]) for a in (first, second)] == [
        (200, "5"), (200, "11")]
    assert second.headers["x-oss-hash-crc64ecma"] == str(crc64_update(0, b"hello world"))
    assert {
        "type": head.object_type, "next": head.next_append_position,
        "content_type": head.content_type, "meta": head.metadata, "tags": head.tagging_count,
        "crc": head.hash_crc64,
    } == {
        "type": "Appendable", "next": 11, "content_type": "text/plain",
        "meta": {"owner": "alice"}, "tags": 1, "crc": str(crc64_update(0, b"hello world")),
    }
    stored = ops.stored("log.txt")
    assert stored is not None and stored[1] == b"hello world"


def test_an_append_elsewhere_than_the_end_is_refused_and_says_where_the_end_is(
    ops: Cloud,
) -> None:
    append(ops, "log.txt", 0, b"hello")
    before = ops.stored("log.txt")

    behind = append(ops, "log.txt", 2, b"xx")
    ahead = append(ops, "log.txt", 9, b"xx")
    new_key = append(ops, "new.txt", 3, b"xx")

    assert [(a.status, a.code, a.headers.get("x-oss-next-append-position"))
            for a in (behind, ahead, new_key)] == [
        (409, "PositionNotEqualToLength", "5"), (409, "PositionNotEqualToLength", "5"),
        (409, "PositionNotEqualToLength", "0")]
    assert ops.stored("log.txt") == before
    assert ops.keys() == ["log.txt"]


def test_a_normal_object_is_not_appendable(ops: Cloud) -> None:
    ops.put("plain.txt", b"12345")
    before = ops.stored("plain.txt")

    answer = append(ops, "plain.txt", 5, b"more")

    assert (answer.status, answer.code) == (409, "ObjectNotAppendable")
    assert ops.stored("plain.txt") == before


def test_of_two_appends_at_the_same_position_exactly_one_lands(ops: Cloud) -> None:
    append(ops, "log.txt", 0, b"start;")
    answers: list[Answer] = []
    barrier = threading.Barrier(2)

    def race(data: bytes) -> None:
        barrier.wait()
        answers.append(append(ops, "log.txt", 6, data))

    threads = [threading.Thread(target=race, args=(data,)) for data in (b"AAAA", b"BBBB")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(a.status for a in answers) == [200, 409]
    stored = ops.stored("log.txt")
    assert stored is not None and stored[1] in (b"start;AAAA", b"start;BBBB")


def test_a_position_that_is_no_number_is_refused(ops: Cloud) -> None:
    answer = ops.send(Call("POST", ops.bucket, "k", {"append": "", "position": "end"},
                           body=b"x"))
    assert (answer.status, answer.code) == (400, "InvalidArgument")
    assert ops.keys() == []


def test_an_append_framed_neither_by_length_nor_by_chunks_is_411_and_appends_nothing(
    ops: Cloud,
) -> None:
    """OSS wants a body's length known (reference §1.3, §1.7), as UploadPart does."""
    call = Call("POST", ops.bucket, "log.txt", {"append": "", "position": "0"})
    unframed = send_framed(ops.port, call, ADMIN, [], b"")
    assert (unframed.status, unframed.code) == (411, "MissingContentLength")
    assert ops.keys() == []
    by_length = send_framed(ops.port, call, ADMIN, ["Content-Length: 2"], b"ab")
    chunked = send_framed(ops.port, Call("POST", ops.bucket, "log.txt",
                                         {"append": "", "position": "2"}),
                          ADMIN, ["Transfer-Encoding: chunked"], b"1\r\nc\r\n0\r\n\r\n")
    assert [by_length.status, chunked.status] == [200, 200]
    stored = ops.stored("log.txt")
    assert stored is not None and stored[1] == b"abc"
