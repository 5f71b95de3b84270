"""A request body is framed one way or it is refused, whatever operation it is for.

Two framings of one body (``Content-Length`` with ``Transfer-Encoding: chunked``) or two
different ``Content-Length`` fields let a front end and the emulator read different
bodies, and only one of them is signed (RFC 9112 §6.1, §6.3). The emulator's HTTP shell
refuses both before any operation runs (commits acfa638, c72a06e), so every operation
that takes a body answers the same: 400 InvalidRequest / 400 InvalidArgument, the
connection closed, nothing stored. OSS's own answer is UNCONFIRMED; refusing is the
stricter reading. A body framed neither way is 411 MissingContentLength for each of them
(reference §1.7, "any"; ``httpmessages.require_framed_body``), before anything is read.
"""

from __future__ import annotations

import pytest

from tests.localcloud.objectkit import ADMIN, Cloud
from tests.localcloud.signedhttp import Call, send_framed

#: Every operation the emulator serves that reads a request body: (name, method, key, query).
BODY_OPERATIONS = [
    ("PutObject", "PUT", "k", {}),
    ("AppendObject", "POST", "k", {"append": "", "position": "0"}),
    ("UploadPart", "PUT", "k", {"partNumber": "1", "uploadId": "0" * 32}),
    ("CompleteMultipartUpload", "POST", "k", {"uploadId": "0" * 32}),
    ("PutObjectTagging", "PUT", "k", {"tagging": ""}),
    ("DeleteMultipleObjects", "POST", "", {"delete": ""}),
    ("PutBucket (the bucket exists)", "PUT", "", {}),
    ("PutBucketPublicAccessBlock", "PUT", "", {"publicAccessBlock": ""}),
    ("PutBucketLifecycle", "PUT", "", {"lifecycle": ""}),
    ("PostObject", "POST", "", {}),
]
#: The framing is refused before routing: also for a request whose operation reads no body
#: and for one the emulator does not serve (501 otherwise).
ANY_REQUESTS = [*BODY_OPERATIONS, ("PutObjectAcl", "PUT", "k", {"acl": ""}),
                ("PutBucketCors", "PUT", "", {"cors": ""})]

#: (framing header lines, body bytes) → the refusal's status and Code.
BAD_FRAMINGS = [
    (["Content-Length: 9", "Transfer-Encoding: chunked"], b"4\r\nbody\r\n0\r\n\r\n",
     (400, "InvalidRequest")),
    (["Transfer-Encoding: chunked", "Content-Length: 4"], b"4\r\nbody\r\n0\r\n\r\n",
     (400, "InvalidRequest")),
    (["Content-Length: 4", "Content-Length: 2"], b"body", (400, "InvalidArgument")),
    (["Content-Length: 2", "Content-Length: 4"], b"body", (400, "InvalidArgument")),
]


@pytest.mark.parametrize(("framing", "body", "refusal"), BAD_FRAMINGS,
                         ids=["length-then-chunked", "chunked-then-length",
                              "long-then-short", "short-then-long"])
@pytest.mark.parametrize(("name", "method", "key", "query"), ANY_REQUESTS,
                         ids=[row[0] for row in ANY_REQUESTS])
def test_a_body_framed_two_ways_is_refused_before_the_operation_runs(
    ops: Cloud, name: str, method: str, key: str, query: dict[str, str],
    framing: list[str], body: bytes, refusal: tuple[int, str],
) -> None:
    answer = send_framed(ops.port, Call(method, ops.bucket, key, query), ADMIN, framing, body)

    assert (answer.status, answer.code) == refusal, (name, answer.body[:300])
    assert answer.headers.get("connection", "").lower() == "close"
    assert ops.keys() == []


@pytest.mark.parametrize(("name", "method", "key", "query"), BODY_OPERATIONS,
                         ids=[row[0] for row in BODY_OPERATIONS])
def test_a_body_framed_neither_by_length_nor_by_chunks_is_411_for_every_operation(
    ops: Cloud, name: str, method: str, key: str, query: dict[str, str],
) -> None:
    ops.put("k", b"kept")  # an object the XML operations could act on
    before = ops.stored("k")

    answer = send_framed(ops.port, Call(method, ops.bucket, key, query), ADMIN, [], b"")

    assert (answer.status, answer.code) == (411, "MissingContentLength"), (
        name, answer.body[:300])
    assert ops.keys() == ["k"] and ops.stored("k") == before
