"""Every OSS operation is told apart by method + subresources + operation header.

A request the emulator does not serve answers 501 NotImplemented (405 for a method OSS
has no operation for) and changes nothing: the object's bytes and metadata, and every
other object of the bucket, are exactly as before. Authentication comes first, once the
bucket is found: an unknown AccessKey is 403 InvalidAccessKeyId and an anonymous caller on
a private bucket 403 AccessDenied, whatever the operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.oss.operations import OPERATIONS, SUBRESOURCES, classify
from localcloud.oss.store import ObjectMeta
from tests.localcloud.signedhttp import Answer, Call, send

BUCKET = "route-bucket"
KEY = "dir/k.txt"
DATA = b"the object's bytes\n" * 64
ADMIN = Principal("FAKE-AK-ROUTE-ADMIN", "fake-route-secret-0000")
UNKNOWN = Principal("FAKE-AK-NOBODY", "fake-nobody-secret-0000")
READER = Principal("FAKE-AK-ROUTE-READER", "fake-route-reader-secret-0000", policies=(
    {"Statement": [{"Effect": "Allow", "Action": "oss:GetObject",
                    "Resource": f"acs:oss:*:*:{BUCKET}/*"}]},))
TAGGING = b"<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    emu = Emulator.start(tmp_path_factory.mktemp("routing") / "state",
                         lookup=IdentityStore([ADMIN, READER]).lookup)
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(running: Emulator) -> Emulator:
    """The shared emulator with a private website bucket holding three fresh objects."""
    running.buckets.put(BucketConfig(name=BUCKET, index_document="index.html"))
    for meta in running.store.list(BUCKET):
        running.store.delete(BUCKET, meta.key)
    for key, data, ctype in ((KEY, DATA, "text/plain"), ("other", b"other", "x/y"),
                             ("index.html", b"<h1>page</h1>", "text/html")):
        answer = send(running.port, Call("PUT", BUCKET, key, headers={
            "Content-Type": ctype, "x-oss-meta-owner": "alice",
            "Cache-Control": "no-cache"}, body=data), ADMIN)
        assert answer.status == 200
    return running


Snapshot = dict[str, tuple[ObjectMeta, bytes]]


def snapshot(emu: Emulator) -> Snapshot:
    """Every object of the bucket: metadata and bytes."""
    out: Snapshot = {}
    for meta in emu.store.list(BUCKET):
        with emu.store.open(BUCKET, meta.key) as found:
            assert found is not None
            out[meta.key] = (found[0], found[1].read())
    return out


@dataclass(frozen=True)
class Row:
    """A request, what it must answer, and how the object may change (default: not)."""

    call: Call
    status: int
    code: str = ""
    meta_change: dict[str, Any] = field(default_factory=dict)


def obj(method: str, query: dict[str, str] | None = None, body: bytes = b"",
        **headers: str) -> Call:
    return Call(method, BUCKET, KEY, dict(query or {}),
                {name.replace("_", "-"): value for name, value in headers.items()}, body)


def root(method: str, query: dict[str, str] | None = None, body: bytes = b"") -> Call:
    return Call(method, BUCKET, "", dict(query or {}), {}, body)


NOT_IMPL = (501, "NotImplemented")
UPLOAD = {"uploadId": "0004B9894A22E5B1888A1E29F823"}

ROWS: dict[str, Row] = {
    # --- subresources on an object --------------------------------------------------
    "PutObjectAcl": Row(obj("PUT", {"acl": ""}, x_oss_object_acl="public-read"), 200,
                        meta_change={"acl": "public-read"}),
    "GetObjectAcl": Row(obj("GET", {"acl": ""}), 200),
    "GetObjectMeta": Row(obj("HEAD", {"objectMeta": ""}), 200),
    "GET ?objectMeta": Row(obj("GET", {"objectMeta": ""}), *NOT_IMPL),
    "PutObjectTagging": Row(obj("PUT", {"tagging": ""}, TAGGING), 200,
                            meta_change={"tags": {"a": "b"}}),
    "GetObjectTagging": Row(obj("GET", {"tagging": ""}), 200),
    "DeleteObjectTagging": Row(obj("DELETE", {"tagging": ""}), 204),
    "PutSymlink": Row(obj("PUT", {"symlink": ""}, x_oss_symlink_target="other"), *NOT_IMPL),
    "GetSymlink": Row(obj("GET", {"symlink": ""}), *NOT_IMPL),
    # (an upload of the key may be in progress; the object stays as it is)
    "InitiateMultipartUpload": Row(obj("POST", {"uploads": ""}), 200),
    "UploadPart (no such upload)": Row(obj("PUT", {"partNumber": "1", **UPLOAD}, b"part"),
                                       404, "NoSuchUpload"),
    "UploadPartCopy (no such upload)": Row(obj("PUT", {"partNumber": "1", **UPLOAD},
                                               x_oss_copy_source=f"/{BUCKET}/other"),
                                           404, "NoSuchUpload"),
    "CompleteMultipartUpload (no such upload)": Row(
        obj("POST", UPLOAD, b"<CompleteMultipartUpload/>"), 404, "NoSuchUpload"),
    "AbortMultipartUpload (no such upload)": Row(obj("DELETE", UPLOAD), 404, "NoSuchUpload"),
    "ListParts (no such upload)": Row(obj("GET", UPLOAD), 404, "NoSuchUpload"),
    "AppendObject (a Normal object)": Row(obj("POST", {"append": "", "position": "0"},
                                              b"more"), 409, "ObjectNotAppendable"),
    "InitiateMultipartUpload ?sequential": Row(obj("POST", {"uploads": "", "sequential": ""}),
                                               *NOT_IMPL),
    "SealAppendObject": Row(obj("POST", {"seal": "", "position": "1216"}), *NOT_IMPL),
    "RestoreObject": Row(obj("POST", {"restore": ""}), *NOT_IMPL),
    "CleanRestoredObject": Row(obj("POST", {"cleanRestoredObject": ""}), *NOT_IMPL),
    "ProcessObject": Row(obj("POST", {"x-oss-process": ""}, b"x-oss-process=image/info"),
                         *NOT_IMPL),
    "AsyncProcessObject": Row(obj("POST", {"x-oss-async-process": ""}), *NOT_IMPL),
    "GetObject with x-oss-process": Row(obj("GET", {"x-oss-process": "image/resize,w_10"}),
                                        *NOT_IMPL),
    "PutObjectRetention": Row(obj("PUT", {"retention": ""}, b"<Retention/>"), *NOT_IMPL),
    "GetObjectRetention": Row(obj("GET", {"retention": ""}), *NOT_IMPL),
    "PutObjectLegalHold": Row(obj("PUT", {"legalHold": ""}, b"<LegalHold/>"), *NOT_IMPL),
    "GetObjectLegalHold": Row(obj("GET", {"legalHold": ""}), *NOT_IMPL),
    "PutLiveChannel": Row(obj("PUT", {"live": ""}, b"<LiveChannelConfiguration/>"),
                          *NOT_IMPL),
    "DeleteLiveChannel": Row(obj("DELETE", {"live": ""}), *NOT_IMPL),
    "PostVodPlaylist": Row(obj("POST", {"vod": "", "startTime": "1", "endTime": "2"}),
                           *NOT_IMPL),
    # --- a version, a callback, or an unknown parameter on a known operation --------
    "GET ?versionId": Row(obj("GET", {"versionId": "CAEQ"}), *NOT_IMPL),
    "PUT ?versionId": Row(obj("PUT", {"versionId": "CAEQ"}, b"new"), *NOT_IMPL),
    "DELETE ?versionId": Row(obj("DELETE", {"versionId": "CAEQ"}), *NOT_IMPL),
    "PUT ?callback": Row(obj("PUT", {"callback": "e30="}, b"new"), *NOT_IMPL),
    "PUT ?position (no append)": Row(obj("PUT", {"position": "0"}, b"new"), *NOT_IMPL),
    "PUT ?unknown": Row(obj("PUT", {"x-unknown": "1"}, b"new"), *NOT_IMPL),
    "DELETE ?unknown": Row(obj("DELETE", {"x-unknown": ""}), *NOT_IMPL),
    "GET ?unknown": Row(obj("GET", {"x-unknown": "1"}), *NOT_IMPL),
    # --- operation headers PutObject does not model ---------------------------------
    "PUT x-oss-tagging (not key=value)": Row(obj("PUT", body=b"new", x_oss_tagging="a=b=c"),
                                             400, "InvalidTag"),
    "PUT x-oss-callback": Row(obj("PUT", body=b"new", x_oss_callback="e30="), *NOT_IMPL),
    "PUT x-oss-server-side-encryption": Row(
        obj("PUT", body=b"new", x_oss_server_side_encryption="AES256"), *NOT_IMPL),
    "CopyObject x-oss-server-side-encryption": Row(
        obj("PUT", x_oss_copy_source=f"/{BUCKET}/other",
            x_oss_server_side_encryption="AES256"), *NOT_IMPL),
    "CompleteMultipartUpload x-oss-tagging": Row(
        obj("POST", UPLOAD, b"<CompleteMultipartUpload/>", x_oss_tagging="a=b"), *NOT_IMPL),
    # --- methods OSS has no operation for ------------------------------------------
    "POST on an object": Row(obj("POST", body=b"new"), 405, "MethodNotAllowed"),
    "PATCH on an object": Row(obj("PATCH", body=b"new"), 405, "MethodNotAllowed"),
    # --- the bucket root ------------------------------------------------------------
    "ListObjects (signed root is never the index page)": Row(root("GET"), 200),
    "HEAD bucket": Row(root("HEAD"), *NOT_IMPL),
    "PutBucket (the name is taken)": Row(root("PUT"), 409, "BucketAlreadyExists"),
    "DeleteBucket (not empty)": Row(root("DELETE"), 409, "BucketNotEmpty"),
    "GetBucketAcl": Row(root("GET", {"acl": ""}), 200),
    "PutBucketAcl without x-oss-acl": Row(root("PUT", {"acl": ""}), 400, "InvalidArgument"),
    "DeleteBucketAcl (no such operation)": Row(root("DELETE", {"acl": ""}), *NOT_IMPL),
    "GetBucketLocation": Row(root("GET", {"location": ""}), 200),
    "GetBucketInfo": Row(root("GET", {"bucketInfo": ""}), 200),
    "GetBucketStat": Row(root("GET", {"stat": ""}), 200),
    "DeleteMultipleObjects without Content-MD5": Row(
        root("POST", {"delete": ""}, b"<Delete><Object><Key>dir/k.txt</Key></Object></Delete>"),
        400, "MissingArgument"),
    "ListMultipartUploads": Row(root("GET", {"uploads": ""}), 200),
    "ListObjectVersions (each object's null version)": Row(root("GET", {"versions": ""}),
                                                           200),
    "GetBucketVersioning (never enabled)": Row(root("GET", {"versioning": ""}), 200),
    "PutBucketVersioning": Row(root("PUT", {"versioning": ""}, b"<X/>"), *NOT_IMPL),
    "DeleteBucketVersioning (no such operation)": Row(root("DELETE", {"versioning": ""}),
                                                      *NOT_IMPL),
    "ListObjects ?unknown": Row(root("GET", {"x-unknown": "1"}), *NOT_IMPL),
    "GetBucketLifecycle (no rules)": Row(root("GET", {"lifecycle": ""}), 404,
                                         "NoSuchLifecycle"),
    "DeleteBucketLifecycle (no rules)": Row(root("DELETE", {"lifecycle": ""}), 404,
                                            "NoSuchLifecycle"),
    "PutBucketLifecycle (another root)": Row(root("PUT", {"lifecycle": ""}, b"<X/>"), 400,
                                             "MalformedXML"),
    **{f"{verb} bucket ?{sub}": Row(root(verb, {sub: ""}, b"<X/>" if verb == "PUT" else b""),
                                    *NOT_IMPL)
       for sub in ("cors", "website", "referer", "logging", "tagging", "policy",
                   "encryption", "inventory", "worm", "replication")
       for verb in ("GET", "PUT", "DELETE")},
    **{f"GET bucket ?{sub}": Row(root("GET", {sub: ""}), *NOT_IMPL)
       for sub in ("live", "style", "cname")},
}


def answer_of(emu: Emulator, row: Row, principal: Principal | None) -> Answer:
    return send(emu.port, row.call, principal)


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_each_operation_answers_as_oss_and_leaves_the_objects_as_it_should(
    emulator: Emulator, row: Row
) -> None:
    before = snapshot(emulator)

    answer = answer_of(emulator, row, ADMIN)

    assert (answer.status, answer.code) == (row.status, row.code), answer.body
    expected = dict(before)
    meta, data = before[KEY]
    expected[KEY] = (replace(meta, **row.meta_change), data)
    assert snapshot(emulator) == expected


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_an_unknown_access_key_is_refused_before_routing(emulator: Emulator, row: Row) -> None:
    before = snapshot(emulator)

    answer = answer_of(emulator, row, UNKNOWN)

    expected = (405, "MethodNotAllowed") if row.call.method == "PATCH" else (
        403, "InvalidAccessKeyId")
    assert (answer.status, answer.code) == expected
    assert snapshot(emulator) == before


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_anonymous_callers_on_a_private_bucket_are_denied_whatever_the_operation(
    emulator: Emulator, row: Row
) -> None:
    before = snapshot(emulator)

    answer = answer_of(emulator, row, None)

    expected = (405, "MethodNotAllowed") if row.status == 405 else (403, "AccessDenied")
    assert (answer.status, answer.code) == expected
    assert snapshot(emulator) == before


READER_ROWS = {
    "PutObjectTagging": (ROWS["PutObjectTagging"], 403, "AccessDenied"),
    "GetObjectTagging": (ROWS["GetObjectTagging"], 403, "AccessDenied"),
    "InitiateMultipartUpload": (ROWS["InitiateMultipartUpload"], 403, "AccessDenied"),
    "PUT x-oss-tagging": (ROWS["PUT x-oss-tagging (not key=value)"], 403, "AccessDenied"),
    "GET ?x-oss-process (a read)": (ROWS["GetObject with x-oss-process"], 501,
                                    "NotImplemented"),
    "GET ?unknown (a read)": (ROWS["GET ?unknown"], 501, "NotImplemented"),
}


@pytest.mark.parametrize("case", READER_ROWS.values(), ids=READER_ROWS.keys())
def test_a_caller_whose_policy_lacks_the_operations_action_is_denied_before_the_501(
    emulator: Emulator, case: tuple[Row, int, str]
) -> None:
    row, status, code = case
    before = snapshot(emulator)

    answer = answer_of(emulator, row, READER)

    assert (answer.status, answer.code) == (status, code)
    assert snapshot(emulator) == before


def test_the_bucket_root_is_the_index_page_only_for_anonymous_readers(
    emulator: Emulator,
) -> None:
    emulator.buckets.put(BucketConfig(name=BUCKET, index_document="index.html",
                                      acl="public-read"))
    anonymous = send(emulator.port, root("GET"))
    signed = send(emulator.port, root("GET"), ADMIN)

    assert (anonymous.status, anonymous.body) == (200, b"<h1>page</h1>")
    assert signed.status == 200
    assert signed.headers["content-type"] == "application/xml"
    assert signed.body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>')


def test_a_signed_request_with_a_wrong_signature_is_refused_before_routing(
    emulator: Emulator,
) -> None:
    forged = Principal(ADMIN.access_key_id, "not-the-secret")
    answer = send(emulator.port, obj("DELETE", UPLOAD), forged)
    assert (answer.status, answer.code) == (403, "SignatureDoesNotMatch")
    assert KEY in snapshot(emulator)


def test_the_service_root_is_access_denied_anonymously_and_lists_the_buckets_signed(
    emulator: Emulator,
) -> None:
    anonymous = send(emulator.port, Call("GET", ""))
    signed = send(emulator.port, Call("GET", ""), ADMIN)
    bad_key = send(emulator.port, Call("GET", ""), UNKNOWN)
    unserved = send(emulator.port, Call("GET", "", query={"cloudboxes": ""}), ADMIN)
    assert [(a.status, a.code) for a in (anonymous, signed, bad_key, unserved)] == [
        (403, "AccessDenied"), (200, ""), (403, "InvalidAccessKeyId"),
        (501, "NotImplemented")]
    assert f"<Name>{BUCKET}</Name>".encode() in signed.body


def test_every_sdk_operation_name_in_the_table_is_unique_per_signature() -> None:
    signatures = [(op.method, op.scope, op.subresources, op.header) for op in OPERATIONS]
    assert len(signatures) == len(set(signatures))
    assert {"acl", "uploads", "uploadId", "partNumber", "tagging", "symlink", "restore",
            "append", "position", "objectMeta", "delete", "cors", "lifecycle", "website",
            "referer", "logging", "versioning", "versionId", "x-oss-process",
            "list-type"} <= SUBRESOURCES


CLASSIFIED: dict[str, tuple[str, str, dict[str, str], dict[str, str], str | None]] = {
    "PutObject": ("PUT", "object", {}, {}, "PutObject"),
    "CopyObject": ("PUT", "object", {}, {"x-oss-copy-source": "/b/k"}, "CopyObject"),
    "UploadPart": ("PUT", "object", {"partNumber": "1", "uploadId": "u"}, {}, "UploadPart"),
    "UploadPartCopy": ("PUT", "object", {"partNumber": "1", "uploadId": "u"},
                       {"x-oss-copy-source": "/b/k"}, "UploadPartCopy"),
    "a signature is no subresource": ("GET", "object", {"x-oss-signature": "s",
                                                        "x-oss-date": "d"}, {}, "GetObject"),
    "response overrides are GetObject's": ("GET", "object",
                                           {"response-content-type": "a/b"}, {},
                                           "GetObject"),
    "ListObjectsV2": ("GET", "bucket", {"list-type": "2", "prefix": "a"}, {},
                      "ListObjectsV2"),
    "ListObjects": ("GET", "bucket", {"marker": "a", "max-keys": "5"}, {}, "ListObjects"),
    "no such operation": ("PUT", "object", {"uploads": ""}, {}, None),
}


@pytest.mark.parametrize("case", CLASSIFIED.values(), ids=CLASSIFIED.keys())
def test_classification_by_method_subresources_and_header(
    case: tuple[str, str, dict[str, str], dict[str, str], str | None],
) -> None:
    method, scope, query, headers, expected = case
    found = classify(method, scope, query.keys(), headers)  # type: ignore[arg-type]
    assert (found.operation.name if found.operation else None, found.unknown_params) == (
        expected, frozenset())
