"""A request body is framed one way or it is refused, whatever operation it is for.

Two framings of one body (``Content-Length`` with ``Transfer-Encoding: chunked``) or two
different ``Content-Length`` fields let a front end and the emulator read different
bodies, and only one of them is signed (RFC 9112 §6.1, §6.3). The emulator's HTTP shell
refuses both before any operation runs (commits acfa638, c72a06e), so every operation
that takes a body answers the same: 400 InvalidRequest / 400 InvalidArgument, the
connection closed, nothing stored. OSS's own answer is UNCONFIRMED; refusing is the
stricter reading.
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
    ("PutObjectAcl", "PUT", "k", {"acl": ""}),
    ("DeleteMultipleObjects", "POST", "", {"delete": ""}),
    ("PutBucketCors", "PUT", "", {"cors": ""}),
    ("PutBucketLifecycle", "PUT", "", {"lifecycle": ""}),
    ("PostObject", "POST", "", {}),
]

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
@pytest.mark.parametrize(("name", "method", "key", "query"), BODY_OPERATIONS,
                         ids=[row[0] for row in BODY_OPERATIONS])
def test_a_body_framed_two_ways_is_refused_before_the_operation_runs(
    ops: Cloud, name: str, method: str, key: str, query: dict[str, str],
    framing: list[str], body: bytes, refusal: tuple[int, str],
) -> None:
    answer = send_framed(ops.port, Call(method, ops.bucket, key, query), ADMIN, framing, body)

    assert (answer.status, answer.code) == refusal, (name, answer.body[:300])
    assert answer.headers.get("connection", "").lower() == "close"
    assert ops.keys() == []
