"""Multipart uploads attacked through the real local cloud: what a holder adds cannot widen it.

A multipart plan lets its holder store exactly one object: the key, size, type, ACL and
disposition the function chose, never over an existing object. These tests try to change
that with what a holder controls: the part URLs (another part number, upload or key; added
headers and query parameters; other lengths and framings), the ``upload_id`` (each claim
tampered, expired, in an odd path), the order and timing of the calls (a part replaced,
completes racing) and the complete request itself. The defences that already held are
pinned as tables; the faults found are marked where their test is. The function runs live
(gunicorn) against the emulator, whose answers are also checked against OSS's
(``oss-multipart.md``; where OSS is unconfirmed, the emulator's stricter reading).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import resource
import socket
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import alibabacloud_oss_v2 as oss
import jwt
import pytest
from uploadsign import uploadtoken
from uploadsign.config import Settings
from uploadsign.credentials import TemporaryCredentials
from uploadsign.multipart import sdk_storage
from uploadsign.uploadtoken import PartsMismatch, UploadClaims

from localcloud.stack import LocalCloud
from tests.e2e import test_multipart_e2e as multipart_e2e
from tests.e2e.forms import request
from tests.e2e.test_multipart_e2e import (
    DATA,
    PART,
    SIZE,
    call,
    chunk,
    error_code,
    part_urls,
    put,
    start,
    upload_parts,
)

SIGNATURE_MISMATCH = b"<Code>SignatureDoesNotMatch</Code>"
#: Every route an upload_id opens: (method, path after /uploads/{upload_id}, JSON body).
ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("POST", "/parts", {"part_numbers": [1]}), ("GET", "", None), ("POST", "/complete", {}),
    ("DELETE", "", None))


# The stack of test_multipart_e2e (threshold two parts of 100 KiB, no callback), started
# anew for this module, and its admin reader.
cloud = multipart_e2e.cloud
admin = multipart_e2e.admin


def stored_parts(cloud: LocalCloud, plan: Mapping[str, Any]) -> list[tuple[int, int]]:
    status, listed = call(cloud, "GET", f"/uploads/{plan['upload_id']}")
    assert status == 200, listed
    return [(p["part_number"], p["size"]) for p in listed["parts"]]


def complete(cloud: LocalCloud, plan: Mapping[str, Any],
             document: Any = None) -> tuple[int, Any]:
    return call(cloud, "POST", f"/uploads/{plan['upload_id']}/complete",
                {} if document is None else document)


def raw_put(url: str, head: list[str], body: bytes) -> bytes:
    """PUT with exactly the header lines given (http.client would add or fix framing)."""
    parts = urlsplit(url)
    lines = [f"PUT {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}", *head,
             "Connection: close", "", ""]
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=30) as sock:
        sock.sendall("\r\n".join(lines).encode("ascii") + body)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    return answer


def chunked(body: bytes) -> bytes:
    return f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"


def with_query(url: str, **changes: str) -> str:
    """The URL with query parameters' values replaced as sent (the signature left as it was)."""
    parts = urlsplit(url)
    pairs = [item.partition("=") for item in parts.query.split("&")]
    text = "&".join(f"{k}={changes.get(k, v)}" for k, _, v in pairs)
    return parts._replace(query=text).geturl()


# --- the part URL: what it signs cannot be swapped ---------------------------------------------

def other_part_number(mine: str, theirs: str, plan: Mapping[str, Any],
                      other: Mapping[str, Any]) -> str:
    return with_query(mine, partNumber="3")


def other_upload(mine: str, theirs: str, plan: Mapping[str, Any],
                 other: Mapping[str, Any]) -> str:
    return with_query(mine, uploadId=parse_qs(urlsplit(theirs).query)["uploadId"][0])


def other_key(mine: str, theirs: str, plan: Mapping[str, Any], other: Mapping[str, Any]) -> str:
    return mine.replace(str(plan["key"]), str(other["key"]))


def extra_query(mine: str, theirs: str, plan: Mapping[str, Any],
                other: Mapping[str, Any]) -> str:
    return mine + "&x-oss-traffic-limit=819200"


@pytest.mark.parametrize("swap", [other_part_number, other_upload, other_key, extra_query],
                         ids=lambda f: f.__name__)
def test_a_part_url_changed_to_another_number_upload_key_or_query_is_refused(
    cloud: LocalCloud, swap: Any
) -> None:
    plan, other = start(cloud), start(cloud)
    [mine] = part_urls(cloud, plan, [1])
    [theirs] = part_urls(cloud, other, [1])
    status, _, body = request("PUT", swap(mine["url"], theirs["url"], plan, other),
                              chunk(plan, 1))
    assert (status, SIGNATURE_MISMATCH in body) == (403, True)
    assert stored_parts(cloud, plan) == [] and stored_parts(cloud, other) == []


@pytest.mark.parametrize(("name", "value"), [
    ("x-oss-object-acl", "public-read"),
    ("x-oss-forbid-overwrite", "false"),
    ("Content-Type", "text/html"),
    ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
    ("x-oss-server-side-encryption", "AES256"),
    ("x-oss-storage-class", "Archive"),
    ("x-oss-meta-owner", "mallory"),
    ("x-oss-callback", base64.b64encode(b'{"callbackUrl":"http://127.0.0.1/"}').decode()),
    ("x-oss-copy-source", "/any-bucket/any-key"),
    ("x-oss-tagging", "a=b"),
])
def test_a_signed_header_added_to_a_part_upload_is_refused(
    cloud: LocalCloud, name: str, value: str
) -> None:
    """OSS V4 signs content-type, content-md5 and every x-oss-* header present (§0.2)."""
    plan = start(cloud)
    [part] = part_urls(cloud, plan, [1])
    status, _, body = request("PUT", part["url"], chunk(plan, 1), {name: value})
    assert (status, SIGNATURE_MISMATCH in body) == (403, True)
    assert stored_parts(cloud, plan) == []


def test_unsigned_headers_on_part_uploads_change_nothing_of_the_stored_object(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    """Content-Disposition, Cache-Control, Content-Encoding, Expires are not signed by
    default, and UploadPart ignores them: Initiate fixed the object (§1.3)."""
    plan = start(cloud)
    added = {"Content-Disposition": "inline", "Cache-Control": "public, max-age=99",
             "Content-Encoding": "gzip", "Expires": "Thu, 01 Dec 2033 16:00:00 GMT"}
    for part in part_urls(cloud, plan, [1, 2, 3, 4]):
        status, _, body = put({**part, "headers": added}, chunk(plan, part["part_number"]))
        assert status == 200, body
    assert complete(cloud, plan)[0] == 200
    head = admin.head_object(oss.HeadObjectRequest(bucket=cloud.bucket, key=plan["key"]))
    assert head.content_type == "video/mp4"
    assert head.headers["Content-Disposition"] == "attachment; filename*=UTF-8''big.bin"
    assert {name: head.headers.get(name) for name in ("Cache-Control", "Content-Encoding",
                                                      "Expires")} == dict.fromkeys(
        ("Cache-Control", "Content-Encoding", "Expires"))
    acl = admin.get_object_acl(oss.GetObjectAclRequest(bucket=cloud.bucket, key=plan["key"]))
    assert acl.acl == "private"


# --- the part's length and framing ----------------------------------------------------------------

def test_a_part_sent_chunked_without_its_signed_length_is_refused(cloud: LocalCloud) -> None:
    plan = start(cloud)
    [part] = part_urls(cloud, plan, [1])
    answer = raw_put(part["url"], ["Transfer-Encoding: chunked"], chunked(chunk(plan, 1)))
    assert answer.startswith(b"HTTP/1.1 403 ") and SIGNATURE_MISMATCH in answer
    answer = raw_put(part["url"], [], chunk(plan, 1))  # no length at all: an empty body
    assert answer.startswith(b"HTTP/1.1 403 ") and SIGNATURE_MISMATCH in answer
    assert stored_parts(cloud, plan) == []


def test_a_signed_length_with_a_body_framed_another_way_is_refused(
    cloud: LocalCloud,
) -> None:
    """Found: the emulator framed the body by Transfer-Encoding and checked the signature
    over the Content-Length header, so a part of any length passed under a part URL.
    RFC 9112 §6.1 lets a server refuse both headers; OSS's answer is UNCONFIRMED, the
    emulator refuses (stricter). So does it two different Content-Length fields (RFC 9112
    §6.3), of which it signed and read the last. (Complete also refuses a wrong size.)"""
    plan = start(cloud)
    [part] = part_urls(cloud, plan, [1])
    longer = chunk(plan, 1) + b"appended"
    answer = raw_put(part["url"], [f"Content-Length: {PART}", "Transfer-Encoding: chunked"],
                     chunked(longer))
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"<Code>InvalidRequest</Code>" in answer
    for lengths in (["5", str(PART)], [str(PART), "5"]):  # two lengths: two framings
        answer = raw_put(part["url"], [f"Content-Length: {n}" for n in lengths], chunk(plan, 1))
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
        assert b"<Code>InvalidArgument</Code>" in answer
    assert stored_parts(cloud, plan) == []


def test_the_emulator_wants_a_part_framed_by_length_or_chunks(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    """OSS answers 411 MissingContentLength to an UploadPart with neither (§1.3, §1.7)."""
    key = "uploads/unframed.bin"
    upload_id = admin.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=cloud.bucket, key=key)).upload_id
    signed = admin.presign(oss.UploadPartRequest(bucket=cloud.bucket, key=key,
                                                 upload_id=upload_id, part_number=1))
    answer = raw_put(signed.url, [], b"")
    assert answer.startswith(b"HTTP/1.1 411 "), answer[:200]
    assert b"<Code>MissingContentLength</Code>" in answer
    assert raw_put(signed.url, ["Content-Length: 0"], b"").startswith(b"HTTP/1.1 200 ")
    assert raw_put(signed.url, ["Transfer-Encoding: chunked"], chunked(b"x")).startswith(
        b"HTTP/1.1 200 ")


def test_the_same_part_uploaded_twice_keeps_the_last_one(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    plan = start(cloud)
    other = bytes(reversed(DATA))
    [first] = part_urls(cloud, plan, [2])
    assert put(first, chunk(plan, 2))[0] == 200
    assert put(first, chunk(plan, 2, other))[0] == 200  # the same URL, again: OSS §1.6
    upload_parts(cloud, plan, [1, 3, 4])
    assert complete(cloud, plan)[0] == 200
    body = admin.get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=plan["key"]))
    assert body.body.read() == chunk(plan, 1) + chunk(plan, 2, other) + DATA[2 * PART:]


def test_a_part_url_of_a_completed_upload_stores_nothing(cloud: LocalCloud) -> None:
    plan = start(cloud)
    urls = part_urls(cloud, plan, [1, 2, 3, 4])
    for part in urls:
        assert put(part, chunk(plan, part["part_number"]))[0] == 200
    assert complete(cloud, plan)[0] == 200
    status, _, body = put(urls[0], chunk(plan, 1))
    assert status == 404 and b"<Code>NoSuchUpload</Code>" in body


# --- complete: what it joins, and when ----------------------------------------------------------

def function_settings(cloud: LocalCloud) -> Settings:
    return Settings.from_env(cloud.function_env({}))


def test_a_part_replaced_between_listing_and_complete_is_a_conflict_not_a_server_error(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    """Found: complete lists the parts, then completes with their ETags; a part replaced
    in between made OSS answer InvalidPart, which the function passed on as a 502."""
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 3, 4])
    admin_creds = cloud.admin_credentials
    storage = sdk_storage(function_settings(cloud), TemporaryCredentials(
        admin_creds.access_key_id, admin_creds.access_key_secret, "",
        datetime.now(timezone.utc) + timedelta(hours=1)))
    oss_upload_id = uploadtoken.unseal([cloud.grant_secret.encode()], plan["upload_id"],
                                       datetime.now(timezone.utc).timestamp()).oss_upload_id
    listed = storage.list_parts(plan["key"], oss_upload_id)
    [part] = part_urls(cloud, plan, [2])
    assert put(part, chunk(plan, 2, bytes(reversed(DATA))))[0] == 200  # same size, new bytes
    with pytest.raises(PartsMismatch):
        storage.complete(plan["key"], oss_upload_id, listed, {"x-oss-forbid-overwrite": "true"})
    assert complete(cloud, plan)[0] == 200  # listed again, the holder's new part completes


def test_completes_racing_store_the_object_once_and_the_others_find_no_upload(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    """Found: racing completes got 409 object_exists or a 502 (the emulator joined an upload
    another complete was ending). OSS's answer to the race is UNCONFIRMED; the emulator
    serializes completes of one upload, so the later ones find it ended."""
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 3, 4])
    answers: list[tuple[int, Any]] = []
    racers = [threading.Thread(target=lambda: answers.append(complete(cloud, plan)))
              for _ in range(4)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert sorted(status for status, _ in answers) == [200, 404, 404, 404]
    assert {error_code(a) for status, a in answers if status != 200} == {"no_such_upload"}
    stored = admin.get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=plan["key"]))
    assert stored.body.read() == DATA


def test_complete_never_overwrites_an_object_already_at_the_key(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 3, 4])
    admin.put_object(oss.PutObjectRequest(bucket=cloud.bucket, key=plan["key"], body=b"first"))
    status, answer = complete(cloud, plan)
    assert (status, error_code(answer)) == (409, "object_exists")
    kept = admin.get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=plan["key"]))
    assert kept.body.read() == b"first"
    assert stored_parts(cloud, plan) == [(1, PART), (2, PART), (3, PART), (4, SIZE - 3 * PART)]


def test_nothing_in_the_complete_request_reaches_oss(cloud: LocalCloud, admin: oss.Client) -> None:
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 3, 4])
    forged = base64.b64encode(json.dumps({"callbackUrl": "http://127.0.0.1:9/",
                                          "callbackBody": "x"}).encode()).decode()
    body = json.dumps({"parts": [{"part_number": 1}], "callback": forged, "key": "elsewhere",
                       "acl": "public-read"}).encode()
    status, _, raw = request("POST", f"{cloud.function_url}/uploads/{plan['upload_id']}/complete",
                             body, {"Origin": cloud.website_origin,
                                    "Content-Type": "application/json",
                                    "x-oss-callback": forged, "x-oss-object-acl": "public-read"})
    assert status == 200, raw
    assert json.loads(raw)["key"] == plan["key"]
    acl = admin.get_object_acl(oss.GetObjectAclRequest(bucket=cloud.bucket, key=plan["key"]))
    assert acl.acl == "private"


def test_the_emulator_joins_more_parts_than_a_process_may_hold_open(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    """Found: Complete opened every part file at once; with 10000 parts allowed and a
    common limit of 1024 descriptors it failed with 500. Here the limit is held just above
    what is open, below the part count."""
    key, count = "uploads/many-parts.bin", 120
    upload_id = admin.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(
        bucket=cloud.bucket, key=key)).upload_id
    parts = [oss.UploadPart(part_number=n, etag=admin.upload_part(oss.UploadPartRequest(
        bucket=cloud.bucket, key=key, upload_id=upload_id, part_number=n,
        body=bytes([n]) * PART)).etag) for n in range(1, count + 1)]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (len(list(Path("/proc/self/fd").iterdir())) + 60,
                                                hard))
    try:
        done = admin.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
            bucket=cloud.bucket, key=key, upload_id=upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(parts=parts)))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert done.status_code == 200
    head = admin.head_object(oss.HeadObjectRequest(bucket=cloud.bucket, key=key))
    assert head.content_length == count * PART


# --- the upload id ----------------------------------------------------------------------------

def reseal_without_mac(upload_id: str, field: str, value: Any) -> str:
    """The token with one claim changed and the original MAC kept."""
    version, payload, mac = upload_id.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    names = [f.name for f in dataclasses.fields(UploadClaims)]
    fields[names.index(field)] = value
    text = base64.urlsafe_b64encode(json.dumps(fields, separators=(",", ":")).encode())
    return f"{version}.{text.decode().rstrip('=')}.{mac}"


@pytest.mark.parametrize(("field", "value"), [
    ("bucket", "another-bucket"), ("key", "uploads/index.html"), ("oss_upload_id", "0" * 32),
    ("size", 4 * 1024**2), ("part_size", 2 * PART), ("media_type", "text/html"),
    ("caller", "someone"), ("grant_id", "0" * 24), ("expires", 4102444800),
])
def test_each_claim_of_the_upload_id_changed_is_refused_on_every_route(
    cloud: LocalCloud, field: str, value: Any
) -> None:
    plan = start(cloud)
    forged = reseal_without_mac(plan["upload_id"], field, value)
    for method, tail, document in ROUTES:
        status, answer = call(cloud, method, f"/uploads/{forged}{tail}", document)
        assert (status, error_code(answer)) == (400, "invalid_upload_id")


def test_an_expired_upload_id_cannot_sign_parts_complete_or_abort(cloud: LocalCloud) -> None:
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 3, 4])
    claims = uploadtoken.unseal([cloud.grant_secret.encode()], plan["upload_id"],
                                datetime.now(timezone.utc).timestamp())
    past = int(datetime.now(timezone.utc).timestamp()) - 1
    expired = uploadtoken.seal(cloud.grant_secret.encode(),
                               dataclasses.replace(claims, expires=past))
    for method, tail, document in ROUTES:
        status, answer = call(cloud, method, f"/uploads/{expired}{tail}", document)
        assert (status, error_code(answer)) == (403, "upload_expired")


@pytest.mark.parametrize("tail", [
    "%2Fparts", "%2F..%2F..%2Fhealth", "%00", "%2F", "/%2e%2e/complete", "/parts/extra",
])
def test_odd_upload_id_paths_are_client_errors(cloud: LocalCloud, tail: str) -> None:
    plan = start(cloud)
    for method in ("GET", "POST", "DELETE"):
        status, answer = call(cloud, method, f"/uploads/{plan['upload_id']}{tail}", {})
        assert 400 <= status < 500, (method, tail, status, answer)
        assert isinstance(answer, dict) and "error" in answer


@pytest.mark.parametrize("upload_id", [
    "m1.%C3%A9.x", "m1.eA.%C3%A9", "m1.%E2%80%8B.x", "m1.%FF.x", "%C3%A9", "m1..", "m1",
])
def test_a_forged_upload_id_of_any_characters_is_a_bad_request(cloud: LocalCloud,
                                                                upload_id: str) -> None:
    """Found: a non-ASCII character in the claims part raised UnicodeEncodeError: a 500."""
    for method, tail, document in ROUTES:
        status, answer = call(cloud, method, f"/uploads/{upload_id}{tail}", document)
        assert (status, error_code(answer)) == (400, "invalid_upload_id"), (method, tail)


@pytest.mark.parametrize(("numbers", "status"), [
    ([0], 422), ([-1], 422), ([5], 422), ([10001], 422), ([2**64], 422), ([1, 1], 422),
    (list(range(1, 102)), 422), ([], 422), ([1.0], 400), (["1"], 400), ([True], 400),
    ([None], 400), ("1", 400), (None, 400), ({"1": 1}, 400),
])
def test_bad_part_number_batches_are_refused(cloud: LocalCloud, numbers: Any,
                                             status: int) -> None:
    plan = start(cloud)
    answer = call(cloud, "POST", f"/uploads/{plan['upload_id']}/parts",
                  {"part_numbers": numbers})
    assert answer[0] == status, answer


def test_the_status_lists_only_its_own_uploads_parts(cloud: LocalCloud) -> None:
    plan, other = start(cloud), start(cloud)
    upload_parts(cloud, other, [1, 2, 3])
    upload_parts(cloud, plan, [4])
    assert stored_parts(cloud, plan) == [(4, SIZE - 3 * PART)]


def test_the_emulator_lists_an_upload_s_parts_only_under_its_own_key(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    """An upload id is an upload of one key: named under another it is NoSuchUpload (§1.7)."""
    plan, other = start(cloud), start(cloud)
    upload_parts(cloud, plan, [1])
    oss_upload_id = uploadtoken.unseal([cloud.grant_secret.encode()], plan["upload_id"],
                                       datetime.now(timezone.utc).timestamp()).oss_upload_id
    with pytest.raises(oss.exceptions.OperationError) as info:
        admin.list_parts(oss.ListPartsRequest(bucket=cloud.bucket, key=other["key"],
                                              upload_id=oss_upload_id))
    error = info.value.unwrap()
    assert (error.status_code, error.code) == (404, "NoSuchUpload")


def test_a_part_url_lives_no_longer_than_its_sts_token_and_dies_with_it(
    cloud: LocalCloud,
) -> None:
    plan = start(cloud)
    [part] = part_urls(cloud, plan, [1])
    query = {k: v[0] for k, v in parse_qs(urlsplit(part["url"]).query).items()}
    principal = cloud.identities.lookup(query["x-oss-credential"].split("/")[0])
    assert principal is not None and principal.expiration is not None
    signed_at = datetime.strptime(query["x-oss-date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=timezone.utc)
    assert signed_at + timedelta(seconds=int(query["x-oss-expires"])) <= principal.expiration
    cloud.identities.add(dataclasses.replace(
        principal, expiration=datetime.now(timezone.utc) - timedelta(seconds=1)))
    try:
        status, _, body = put(part, chunk(plan, 1))
    finally:
        cloud.identities.add(principal)
    assert status == 403 and b"<Code>InvalidAccessKeyId</Code>" in body


# --- another caller's upload (AUTH_MODE=jwt) ----------------------------------------------------

JWT_KEY = "FAKE-HS256-key-for-multipart-attack-tests-0123456789"


def bearer(subject: str) -> dict[str, str]:
    claims = {"sub": subject, "exp": int(datetime.now(timezone.utc).timestamp()) + 600}
    return {"Authorization": "Bearer " + jwt.encode(claims, JWT_KEY, algorithm="HS256")}


def test_with_jwt_auth_only_the_subject_who_planned_an_upload_may_use_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    overrides = {"UPLOAD_MAX_BYTES": str(4 * 1024**2),
                 "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(2 * PART),
                 "UPLOAD_PART_SIZE_BYTES": str(PART), "UPLOAD_CALLBACK_URL": "",
                 "AUTH_MODE": "jwt", "AUTH_JWT_SECRET": JWT_KEY}
    with LocalCloud.start(tmp_path_factory.mktemp("multipart-jwt"),
                          function_env_overrides=overrides, publish_web=False) as jwt_cloud:
        status, plan = call(jwt_cloud, "POST", "/uploads", {
            "filename": "big.bin", "size": SIZE, "content_type": "video/mp4"}, bearer("alice"))
        assert (status, plan["mode"]) == (200, "multipart"), plan
        for method, tail, document in ROUTES:
            path = f"/uploads/{plan['upload_id']}{tail}"
            status, answer = call(jwt_cloud, method, path, document, bearer("mallory"))
            assert (status, error_code(answer)) == (403, "forbidden"), (method, tail)
            status, answer = call(jwt_cloud, method, path, document)
            assert status == 401, (method, tail, answer)
        status, answer = call(jwt_cloud, "POST", f"/uploads/{plan['upload_id']}/parts",
                              {"part_numbers": [1, 2, 3, 4]}, bearer("alice"))
        assert status == 200, answer
        for part in answer["parts"]:
            assert put(part, chunk(plan, part["part_number"]))[0] == 200
        status, done = call(jwt_cloud, "POST", f"/uploads/{plan['upload_id']}/complete", {},
                            bearer("alice"))
        assert (status, done["key"], done["size"]) == (200, plan["key"], SIZE)
