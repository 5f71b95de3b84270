"""Multipart uploads through the real local cloud: the live function over HTTP, the emulator.

The browser's side is plain HTTP here (``http.client``): ask for a plan, ask for part URLs,
PUT the parts, list them to resume, complete. The stored object is read back with the
official SDK as the admin identity. Every refusal is checked with its status and code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.oss.crc64 import crc64_update
from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.forms import request

PART = 102400  # the smallest part OSS accepts, read strictly
SIZE = 3 * PART + 777  # 4 parts: 3 full, a short last one
DATA = os.urandom(SIZE)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    overrides = {
        "UPLOAD_MAX_BYTES": str(4 * 1024**2),
        "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(2 * PART),
        "UPLOAD_PART_SIZE_BYTES": str(PART),
        "UPLOAD_CALLBACK_URL": "",  # the callback at complete is a test of its own
        # test_multipart_attacks shares this stack and plans far more than 60 uploads a
        # minute; the rate limit is a test of its own (tests/sign, tests/limits)
        "RATE_LIMIT_PER_MINUTE": "0",
    }
    with LocalCloud.start(tmp_path_factory.mktemp("multipart"),
                          function_env_overrides=overrides, publish_web=False) as started:
        yield started


@pytest.fixture(scope="module")
def admin(cloud: LocalCloud) -> oss.Client:
    return admin_client(cloud)


def call(cloud: LocalCloud, method: str, path: str, document: Any = None,
         headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """Call the function as the page does, ``headers`` added (a bearer token); return
    (status, decoded JSON or None)."""
    body = None if document is None else json.dumps(document).encode()
    sent = {"Origin": cloud.website_origin, "Content-Type": "application/json", **(headers or {})}
    status, _, raw = request(method, f"{cloud.function_url}{path}", body, sent)
    return status, json.loads(raw) if raw else None


def start(cloud: LocalCloud, size: int = SIZE) -> dict[str, Any]:
    status, plan = call(cloud, "POST", "/uploads",
                        {"filename": "big.bin", "size": size, "content_type": "video/mp4"})
    assert status == 200, plan
    assert plan["mode"] == "multipart"
    return dict(plan)


def part_urls(cloud: LocalCloud, plan: dict[str, Any], numbers: list[int]) -> list[Any]:
    status, answer = call(cloud, "POST", f"/uploads/{plan['upload_id']}/parts",
                          {"part_numbers": numbers})
    assert status == 200, answer
    return list(answer["parts"])


def chunk(plan: dict[str, Any], number: int, data: bytes = DATA) -> bytes:
    offset = (number - 1) * plan["part_size"]
    return data[offset:offset + plan["part_size"]]


def put(part: dict[str, Any], body: bytes) -> tuple[int, dict[str, str], bytes]:
    return request("PUT", part["url"], body, part["headers"])


def upload_parts(cloud: LocalCloud, plan: dict[str, Any], numbers: list[int]) -> None:
    for part in part_urls(cloud, plan, numbers):
        status, headers, body = put(part, chunk(plan, part["part_number"]))
        assert status == 200, body
        assert headers["etag"] == '"' + hashlib.md5(  # noqa: S324 - OSS's part ETag
            chunk(plan, part["part_number"])).hexdigest().upper() + '"'


def error_code(answer: Any) -> str:
    return str(answer["error"]["code"])


def test_a_file_above_the_threshold_is_planned_uploaded_in_parts_resumed_and_completed(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    plan = start(cloud)
    assert (plan["part_size"], plan["part_count"]) == (PART, 4)
    upload_parts(cloud, plan, [1, 3])
    status, listed = call(cloud, "GET", f"/uploads/{plan['upload_id']}")
    assert status == 200
    assert [(p["part_number"], p["size"]) for p in listed["parts"]] == [(1, PART), (3, PART)]
    missing = sorted(set(range(1, 5)) - {p["part_number"] for p in listed["parts"]})
    upload_parts(cloud, plan, missing)  # resume: only what OSS does not have yet
    status, done = call(cloud, "POST", f"/uploads/{plan['upload_id']}/complete", {})
    assert status == 200, done
    assert (done["key"], done["size"]) == (plan["key"], SIZE)
    assert re.fullmatch(r"[0-9A-F]{32}-4", done["etag"])
    stored = admin.get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=plan["key"]))
    assert stored.body.read() == DATA
    assert stored.etag == f'"{done["etag"]}"'
    assert stored.content_type == "video/mp4"
    assert stored.headers["Content-Disposition"] == "attachment; filename*=UTF-8''big.bin"
    assert stored.hash_crc64 == str(crc64_update(0, DATA))


def test_a_part_of_another_length_than_signed_is_refused_by_oss(cloud: LocalCloud) -> None:
    plan = start(cloud)
    [part] = part_urls(cloud, plan, [2])
    status, _, body = put(part, chunk(plan, 2)[:-1])
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    status, _, body = put(part, chunk(plan, 2) + b"x")
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in body
    status, listed = call(cloud, "GET", f"/uploads/{plan['upload_id']}")
    assert (status, listed["parts"]) == (200, [])


def test_completing_with_a_missing_part_is_a_conflict_naming_it(cloud: LocalCloud) -> None:
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 4])
    status, answer = call(cloud, "POST", f"/uploads/{plan['upload_id']}/complete", {})
    assert (status, error_code(answer)) == (409, "parts_mismatch")
    assert "missing [3]" in answer["error"]["message"]


def test_parts_put_by_another_writer_with_other_sizes_or_numbers_are_not_completed(
    cloud: LocalCloud, admin: oss.Client
) -> None:
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 3])
    oss_upload_id = admin.list_multipart_uploads(oss.ListMultipartUploadsRequest(
        bucket=cloud.bucket, prefix=plan["key"])).uploads[0].upload_id
    for number, body in ((4, b"short"), (5, b"extra")):
        admin.upload_part(oss.UploadPartRequest(bucket=cloud.bucket, key=plan["key"],
                                                upload_id=oss_upload_id, part_number=number,
                                                body=body))
    status, answer = call(cloud, "POST", f"/uploads/{plan['upload_id']}/complete", {})
    assert (status, error_code(answer)) == (409, "parts_mismatch")
    assert "extra [5]" in answer["error"]["message"]
    assert "wrong size [4]" in answer["error"]["message"]


def test_a_second_complete_and_a_complete_after_abort_find_no_upload(cloud: LocalCloud) -> None:
    plan = start(cloud)
    upload_parts(cloud, plan, [1, 2, 3, 4])
    assert call(cloud, "POST", f"/uploads/{plan['upload_id']}/complete", {})[0] == 200
    status, answer = call(cloud, "POST", f"/uploads/{plan['upload_id']}/complete", {})
    assert (status, error_code(answer)) == (404, "no_such_upload")
    aborted = start(cloud)
    upload_parts(cloud, aborted, [1])
    assert call(cloud, "DELETE", f"/uploads/{aborted['upload_id']}")[0] == 204
    assert call(cloud, "DELETE", f"/uploads/{aborted['upload_id']}")[0] == 204  # idempotent
    status, answer = call(cloud, "POST", f"/uploads/{aborted['upload_id']}/complete", {})
    assert (status, error_code(answer)) == (404, "no_such_upload")


def test_bad_upload_ids_and_part_numbers_are_clear_client_errors(cloud: LocalCloud) -> None:
    plan = start(cloud)
    upload_id = plan["upload_id"]
    forged = upload_id[:-4] + ("AAAA" if not upload_id.endswith("AAAA") else "BBBB")
    for method, tail, document in (("POST", "/parts", {"part_numbers": [1]}),
                                   ("GET", "", None), ("POST", "/complete", {}),
                                   ("DELETE", "", None)):
        status, answer = call(cloud, method, f"/uploads/{forged}{tail}", document)
        assert (status, error_code(answer)) == (400, "invalid_upload_id")
    for numbers in ([0], [5], list(range(1, 102)), [1, 1]):
        status, answer = call(cloud, "POST", f"/uploads/{upload_id}/parts",
                              {"part_numbers": numbers})
        assert (status, error_code(answer)) == (422, "invalid_part_numbers")


def test_a_small_file_still_gets_a_post_grant(cloud: LocalCloud) -> None:
    status, grant = call(cloud, "POST", "/uploads",
                         {"filename": "a.txt", "size": 2 * PART, "content_type": "text/plain"})
    assert (status, grant["mode"]) == (200, "post")


def test_with_the_callback_on_complete_relays_the_answer_bound_to_the_grant(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    overrides = {"UPLOAD_MAX_BYTES": str(4 * 1024**2),
                 "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(2 * PART),
                 "UPLOAD_PART_SIZE_BYTES": str(PART)}  # the stack's default callback stays on
    with LocalCloud.start(tmp_path_factory.mktemp("multipart-callback"),
                          function_env_overrides=overrides, publish_web=False) as with_callback:
        plan = start(with_callback)
        upload_parts(with_callback, plan, [1, 2, 3, 4])
        status, done = call(with_callback, "POST", f"/uploads/{plan['upload_id']}/complete")
        assert with_callback.log_path is not None
        log = with_callback.log_path.read_text(encoding="utf-8")
    assert status == 200, done
    assert (done["ok"], done["grant_id"], done["key"], done["size"], done["mime_type"]) == (
        True, plan["grant_id"], plan["key"], SIZE, "video/mp4")
    assert re.fullmatch(r"[0-9A-F]{32}-4", done["etag"])
    # /callback verified OSS's signature and the grant token before logging the object.
    completed = [json.loads(line) for line in log.splitlines()
                 if '"event":"upload.completed"' in line]
    assert [(e["grant_id"], e["key"], e["size"]) for e in completed] == [
        (plan["grant_id"], plan["key"], SIZE)]
