"""Round trips: signing function → browser-style POST to the emulator → SDK read-back."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import alibabacloud_oss_v2 as oss

from localcloud.oss.crc64 import crc64_update
from localcloud.stack import LocalCloud
from tests.e2e.forms import multipart, post_json, request


def grant_for(
    cloud: LocalCloud, filename: str, data: bytes, content_type: str
) -> dict[str, object]:
    status, grant = post_json(
        f"{cloud.function_url}/uploads",
        {"filename": filename, "size": len(data), "content_type": content_type},
        origin=cloud.website_origin,
    )
    assert status == 200, grant
    assert isinstance(grant, dict)
    return grant


def test_upload_grant_round_trip_stores_exact_bytes_and_metadata(
    local_cloud: LocalCloud, oss_admin: oss.Client
) -> None:
    data = b"hello local cloud\n" * 1000
    grant = grant_for(local_cloud, "notes.txt", data, "text/plain")
    fields = grant["fields"]
    assert isinstance(fields, dict)
    body, ctype = multipart(fields, "notes.txt", data, "text/plain")
    status, headers, _ = request("POST", str(grant["url"]), body,
                                 {"Content-Type": ctype, "Origin": local_cloud.website_origin})
    assert status == 200  # success_action_status 200, relayed through the default callback
    md5 = hashlib.md5(data)
    assert headers["etag"] == '"' + md5.hexdigest().upper() + '"'
    assert headers["x-oss-hash-crc64ecma"] == str(crc64_update(0, data))
    assert headers["content-md5"] == base64.b64encode(md5.digest()).decode()
    assert headers["access-control-allow-origin"] == local_cloud.website_origin
    got = oss_admin.get_object(oss.GetObjectRequest(bucket=local_cloud.bucket,
                                                    key=str(grant["key"])))
    assert got.body.read() == data
    assert got.content_type == "text/plain"
    assert got.etag == headers["etag"]


def test_legacy_prefix_grant_round_trip(local_cloud: LocalCloud, oss_admin: oss.Client) -> None:
    status, _, raw = request(
        "GET",
        f"{local_cloud.function_url}/get_post_signature_for_oss_upload",
        headers={"Origin": local_cloud.website_origin},
    )
    assert status == 200
    grant = json.loads(raw)
    key = f"{grant['dir']}legacy.bin"
    data = bytes(range(256)) * 64
    fields = {
        "success_action_status": str(grant["success_action_status"]),
        "policy": grant["policy"],
        "x-oss-signature": grant["signature"],
        "x-oss-signature-version": grant["x_oss_signature_version"],
        "x-oss-credential": grant["x_oss_credential"],
        "x-oss-date": grant["x_oss_date"],
        "key": key,
        "x-oss-security-token": grant["security_token"],
    }
    body, ctype = multipart(fields, "legacy.bin", data)
    status, _, answer = request("POST", grant["host"], body, {"Content-Type": ctype})
    assert status == 200, answer  # the grant's success_action_status
    got = oss_admin.get_object(oss.GetObjectRequest(bucket=local_cloud.bucket, key=key))
    assert got.body.read() == data


def test_twenty_racing_uploads_with_forbid_overwrite_store_exactly_one(
    local_cloud: LocalCloud, oss_admin: oss.Client
) -> None:
    data = b"race" * 4096
    grant = grant_for(local_cloud, "race.bin", data, "application/octet-stream")
    fields = grant["fields"]
    assert isinstance(fields, dict) and fields.get("x-oss-forbid-overwrite") == "true"

    def one(i: int) -> tuple[int, bytes]:
        body, ctype = multipart(fields, "race.bin", data)
        status, _, answer = request("POST", str(grant["url"]), body, {"Content-Type": ctype})
        return status, answer

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(20)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(409) == 19, results
    assert statuses.count(200) == 1
    assert all(b"<Code>FileAlreadyExists</Code>" in a for s, a in results if s == 409)
    listed = oss_admin.list_objects_v2(oss.ListObjectsV2Request(
        bucket=local_cloud.bucket, prefix=str(grant["key"])))
    assert [o.key for o in listed.contents or []] == [grant["key"]]


def test_client_disconnect_mid_upload_leaves_no_object_and_no_temp_file(
    local_cloud: LocalCloud, oss_admin: oss.Client
) -> None:
    data = b"x" * (4 * 1024 * 1024)
    grant = grant_for(local_cloud, "cut.bin", data, "application/octet-stream")
    fields = grant["fields"]
    assert isinstance(fields, dict)
    body, ctype = multipart(fields, "cut.bin", data)
    port = local_cloud.emulator.port
    head = (f"POST /{local_cloud.bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", local_cloud.emulator.port), timeout=10) as sock:
        sock.sendall(head + body[: len(body) // 2])
    spool = local_cloud.emulator.store.spool_dir(local_cloud.bucket)
    deadline = time.monotonic() + 20
    while any(spool.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(spool.iterdir()) == []
    assert oss_admin.is_object_exist(local_cloud.bucket, str(grant["key"])) is False


def test_page_is_served_from_the_bucket_website(local_cloud: LocalCloud) -> None:
    status, headers, body = request("GET", local_cloud.website_url)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert b"config.js" in body
    status, headers, body = request("GET", local_cloud.website_url + "config.js")
    assert status == 200
    assert local_cloud.function_url is not None
    assert local_cloud.function_url.encode() in body
