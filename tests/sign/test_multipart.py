"""The multipart routes in process: plan, part URLs, resume listing, complete, abort.

OSS is a recording fake here (the real SDK against the local cloud is tests/e2e/
test_multipart_e2e.py); everything the function decides is checked: what it pins at
initiate, what each part URL signs, which parts complete accepts, and each refusal's code.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from uploadsign import callback, policy
from uploadsign.config import Settings
from uploadsign.errors import ConfigurationError, SignError
from uploadsign.factory import build_app
from uploadsign.multipart import sdk_endpoint, sdk_storage
from uploadsign.uploadtoken import StoredPart
from werkzeug.test import Client

from tests.api.spec import validator

from .support import (
    BASE_ENV,
    FIXED_NOW,
    FakeClock,
    FakeFetcher,
    FakeStorage,
    MiB,
    fake_credentials,
)
from .support import MULTIPART_ENV as ENV
from .support import MULTIPART_REQUEST as BIG
from .support import MULTIPART_SECRET as SECRET
from .support import MULTIPART_SIZE as SIZE

SIGN_ROOT = Path(__file__).resolve().parents[2] / "functions" / "sign"
ORIGIN = "https://app.example.com"
@pytest.fixture
def storage() -> FakeStorage:
    return FakeStorage()


def make(clock: FakeClock, fetcher: FakeFetcher, storage: FakeStorage, **env: str) -> Client:
    return Client(build_app({**ENV, **env}, fetcher_factory=lambda s: fetcher, clock=clock,
                            storage_factory=storage))


@pytest.fixture
def client(clock: FakeClock, fetcher: FakeFetcher, storage: FakeStorage) -> Client:
    return make(clock, fetcher, storage)


def schema(name: str) -> Any:
    return validator({"$ref": f"#/components/schemas/{name}"})


def plan(client: Client, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    response = client.post("/uploads", json=BIG, headers=headers or {"Origin": ORIGIN})
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def error(response: Any) -> tuple[int, str, str]:
    schema("Error").validate(response.get_json())
    found = response.get_json()["error"]
    return response.status_code, found["code"], found["message"]


def store(storage: FakeStorage, sizes: Mapping[int, int]) -> None:
    [upload_id] = [u for u in storage.parts if u not in storage.completed]
    storage.parts[upload_id] = [StoredPart(n, f'"ETAG{n}"', size) for n, size in sizes.items()]


def post(client: Client, upload_id: str, tail: str, body: Any = None) -> Any:
    return client.post(f"/uploads/{upload_id}{tail}", json=body, headers={"Origin": ORIGIN})


# --- POST /uploads ----------------------------------------------------------------------------

def test_a_file_up_to_the_threshold_gets_a_post_grant(client: Client) -> None:
    response = client.post("/uploads", json={**BIG, "size": MiB}, headers={"Origin": ORIGIN})
    assert response.get_json()["mode"] == "post"


def test_a_larger_file_gets_a_plan_of_an_upload_initiated_with_everything_pinned(
    client: Client, storage: FakeStorage
) -> None:
    body = plan(client)
    schema("MultipartPlan").validate(body)
    assert (body["mode"], body["part_size"], body["part_count"], body["max_size"]) == (
        "multipart", MiB, 3, SIZE)
    assert body["expires_at"] == policy.format_expiration(FIXED_NOW + timedelta(days=1))
    [(operation, key, headers)] = storage.calls
    assert (operation, key) == ("initiate", body["key"])
    assert key.startswith("uploads/2024/05/01/") and key.endswith(".mp4")
    assert headers == {
        "Content-Type": "video/mp4",
        "Content-Disposition": "attachment; filename*=UTF-8''film.mp4",
        "x-oss-object-acl": "private",
        "x-oss-storage-class": "Standard",
        "x-oss-forbid-overwrite": "true",
    }


def test_a_script_capable_type_is_initiated_as_a_download(
    client: Client, storage: FakeStorage
) -> None:
    client.post("/uploads", json={**BIG, "content_type": "text/html", "filename": "a.html"},
                headers={"Origin": ORIGIN})
    headers = storage.calls[0][2]
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment;")


# --- part URLs ----------------------------------------------------------------------------------

def test_each_part_url_signs_its_key_upload_id_part_number_and_exact_length(
    client: Client, clock: FakeClock
) -> None:
    body = plan(client)
    response = post(client, body["upload_id"], "/parts", {"part_numbers": [3, 1]})
    assert response.status_code == 200
    answer = response.get_json()
    schema("SignedParts").validate(answer)
    assert [(p["part_number"], p["size"], p["method"], p["headers"]) for p in answer["parts"]] == [
        (3, 123, "PUT", {}), (1, MiB, "PUT", {})]
    url = urlsplit(answer["parts"][0]["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        "https://example-bucket.oss-cn-hangzhou.aliyuncs.com/" + body["key"])
    query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
    assert query["partNumber"] == "3" and query["uploadId"] == "UPLOAD0"
    assert query["x-oss-additional-headers"] == "content-length"
    assert query["x-oss-expires"] == "600"  # UPLOAD_EXPIRE_SECONDS
    creds = fake_credentials(clock() + timedelta(hours=1))
    expected = policy.presign_query(
        "PUT", f"/example-bucket/{body['key']}",
        query={"partNumber": "3", "uploadId": "UPLOAD0"}, headers={"content-length": "123"},
        additional=["content-length"], creds=creds, now=clock(), region="cn-hangzhou",
        expires_seconds=600)
    assert url.query == expected


def test_part_urls_expire_no_later_than_the_upload_id(
    clock: FakeClock, fetcher: FakeFetcher, storage: FakeStorage
) -> None:
    client = make(clock, fetcher, storage, UPLOAD_MULTIPART_EXPIRE_SECONDS="900",
                  UPLOAD_EXPIRE_SECONDS="3000", STS_DURATION_SECONDS="7200")
    fetcher.lifetime = timedelta(hours=2)
    body = plan(client)
    clock.advance(800)
    [part] = post(client, body["upload_id"], "/parts", {"part_numbers": [1]}).get_json()["parts"]
    assert parse_qs(urlsplit(part["url"]).query)["x-oss-expires"] == ["100"]
    assert part["expires_at"] == body["expires_at"]


@pytest.mark.parametrize(("numbers", "status", "code"), [
    ([0], 422, "invalid_part_numbers"),
    ([4], 422, "invalid_part_numbers"),
    ([1, 1], 422, "invalid_part_numbers"),
    ([], 422, "invalid_part_numbers"),
    (list(range(1, 102)), 422, "invalid_part_numbers"),
    (["1"], 400, "bad_request"),
    ([True], 400, "bad_request"),
    ("1", 400, "bad_request"),
])
def test_part_numbers_outside_the_plan_or_badly_formed_are_refused(
    client: Client, numbers: Any, status: int, code: str
) -> None:
    response = post(client, plan(client)["upload_id"], "/parts", {"part_numbers": numbers})
    assert error(response)[:2] == (status, code)


def test_a_body_without_part_numbers_is_malformed(client: Client) -> None:
    response = post(client, plan(client)["upload_id"], "/parts", {"parts": [1]})
    assert error(response)[:2] == (400, "malformed_json")


# --- the upload id ------------------------------------------------------------------------------

def test_a_tampered_upload_id_is_refused_for_every_route(client: Client) -> None:
    upload_id = plan(client)["upload_id"]
    tampered = upload_id[:-2] + ("AA" if not upload_id.endswith("AA") else "BB")
    for response in (post(client, tampered, "/parts", {"part_numbers": [1]}),
                     post(client, tampered, "/complete", {}),
                     client.get(f"/uploads/{tampered}", headers={"Origin": ORIGIN}),
                     client.delete(f"/uploads/{tampered}", headers={"Origin": ORIGIN})):
        assert error(response)[:2] == (400, "invalid_upload_id")


def test_an_expired_upload_id_is_refused(client: Client, clock: FakeClock) -> None:
    upload_id = plan(client)["upload_id"]
    clock.advance(86400 + 1)
    assert error(post(client, upload_id, "/parts", {"part_numbers": [1]}))[:2] == (
        403, "upload_expired")


def test_another_callers_upload_id_is_refused(
    clock: FakeClock, fetcher: FakeFetcher, storage: FakeStorage
) -> None:
    key = "FAKE-HS256-secret-for-multipart-tests-0123"
    client = make(clock, fetcher, storage, AUTH_MODE="jwt", AUTH_JWT_SECRET=key)
    exp = int((FIXED_NOW + timedelta(hours=1)).timestamp())

    def bearer(sub: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + jwt.encode({"sub": sub, "exp": exp}, key)}

    with pytest.MonkeyPatch.context() as patch:  # PyJWT reads the real clock for exp
        patch.setattr("time.time", lambda: FIXED_NOW.timestamp())
        upload_id = plan(client, bearer("alice"))["upload_id"]
        own = client.post(f"/uploads/{upload_id}/parts", json={"part_numbers": [1]},
                          headers=bearer("alice"))
        other = client.post(f"/uploads/{upload_id}/parts", json={"part_numbers": [1]},
                            headers=bearer("mallory"))
    assert own.status_code == 200
    assert error(other)[:2] == (403, "forbidden")


# --- resume, complete, abort --------------------------------------------------------------------

def test_the_status_lists_what_oss_holds(client: Client, storage: FakeStorage) -> None:
    body = plan(client)
    store(storage, {1: MiB, 3: 123})
    response = client.get(f"/uploads/{body['upload_id']}", headers={"Origin": ORIGIN})
    schema("MultipartStatus").validate(response.get_json())
    assert response.get_json() == {
        "key": body["key"], "part_size": MiB, "part_count": 3,
        "parts": [{"part_number": 1, "etag": '"ETAG1"', "size": MiB},
                  {"part_number": 3, "etag": '"ETAG3"', "size": 123}]}


@pytest.mark.parametrize(("sizes", "named"), [
    ({1: MiB, 3: 123}, "missing [2]"),
    ({1: MiB, 2: MiB, 3: 123, 4: 5}, "extra [4]"),
    ({1: MiB, 2: MiB - 1, 3: 124}, "wrong size [2, 3]"),
])
def test_complete_refuses_parts_that_are_not_exactly_the_plan(
    client: Client, storage: FakeStorage, sizes: dict[int, int], named: str
) -> None:
    upload_id = plan(client)["upload_id"]
    store(storage, sizes)
    status, code, message = error(post(client, upload_id, "/complete", {}))
    assert (status, code) == (409, "parts_mismatch") and named in message
    assert "complete" not in [call[0] for call in storage.calls]


def test_complete_sends_the_parts_in_order_with_no_overwrite(
    client: Client, storage: FakeStorage
) -> None:
    body = plan(client)
    store(storage, {3: 123, 1: MiB, 2: MiB})
    response = post(client, body["upload_id"], "/complete")
    assert response.status_code == 200
    schema("MultipartDone").validate(response.get_json())
    assert response.get_json() == {"key": body["key"], "size": SIZE,
                                   "etag": "0123456789ABCDEF0123456789ABCDEF-3"}
    [(_, key, headers)] = [call for call in storage.calls if call[0] == "complete"]
    assert key == body["key"]
    assert headers == {"x-oss-forbid-overwrite": "true", "x-oss-object-acl": "private",
                       "parts": '[[1, "\\"ETAG1\\""], [2, "\\"ETAG2\\""], [3, "\\"ETAG3\\""]]'}


def test_a_second_complete_and_a_complete_after_abort_are_no_such_upload(
    client: Client, storage: FakeStorage
) -> None:
    first, second = plan(client)["upload_id"], None
    store(storage, {1: MiB, 2: MiB, 3: 123})
    assert post(client, first, "/complete").status_code == 200
    assert error(post(client, first, "/complete"))[:2] == (404, "no_such_upload")
    second = plan(client)["upload_id"]
    assert client.delete(f"/uploads/{second}", headers={"Origin": ORIGIN}).status_code == 204
    assert client.delete(f"/uploads/{second}", headers={"Origin": ORIGIN}).status_code == 204
    assert error(post(client, second, "/complete", {}))[:2] == (404, "no_such_upload")


def test_with_a_callback_complete_binds_it_to_the_grant_and_adds_its_answer(
    clock: FakeClock, fetcher: FakeFetcher, storage: FakeStorage
) -> None:
    client = make(clock, fetcher, storage, UPLOAD_CALLBACK_URL="https://sign.example/callback")
    body = plan(client)
    store(storage, {1: MiB, 2: MiB, 3: 123})
    storage.answer = {"ok": True, "bucket": "example-bucket", "key": body["key"], "size": SIZE,
                      "etag": "X-3", "mime_type": "video/mp4", "grant_id": body["grant_id"]}
    response = post(client, body["upload_id"], "/complete", {})
    schema("MultipartDone").validate(response.get_json())
    assert response.get_json()["grant_id"] == body["grant_id"]
    headers = [call for call in storage.calls if call[0] == "complete"][0][2]
    assert headers["x-oss-callback"] == callback.callback_field("https://sign.example/callback")
    variables = json.loads(base64.b64decode(headers["x-oss-callback-var"]))
    assert variables[callback.GRANT_ID] == body["grant_id"]
    token = variables[callback.GRANT_TOKEN]
    claims = callback.GrantClaims(
        grant_id=body["grant_id"], bucket="example-bucket", key=body["key"], size=SIZE,
        media_type="video/mp4", expires=callback.token_expiry(token) or 0)
    assert callback.verify_token([SECRET.encode()], token, claims)
    assert callback.token_expiry(token) == int((FIXED_NOW + timedelta(days=1)).timestamp())


def test_abort_of_a_completed_upload_is_still_204(client: Client, storage: FakeStorage) -> None:
    upload_id = plan(client)["upload_id"]
    store(storage, {1: MiB, 2: MiB, 3: 123})
    post(client, upload_id, "/complete")
    assert client.delete(f"/uploads/{upload_id}", headers={"Origin": ORIGIN}).status_code == 204


def test_multipart_routes_answer_preflights_with_their_methods(client: Client) -> None:
    response = client.options("/uploads/anything", headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "DELETE"})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Methods"] == "GET, DELETE, OPTIONS"
    assert client.put("/uploads/x/parts", headers={"Origin": ORIGIN}).status_code == 405
    assert client.get("/uploads/x/y/z", headers={"Origin": ORIGIN}).status_code == 404


# --- settings and the SDK's endpoint ------------------------------------------------------------

def test_multipart_without_a_grant_secret_is_a_configuration_error() -> None:
    env = {**BASE_ENV, "UPLOAD_MAX_BYTES": str(200 * MiB)}
    with pytest.raises(ConfigurationError, match="GRANT_SECRET is required when UPLOAD_MAX"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(200 * MiB)})


def test_upload_max_bytes_reaches_the_multipart_object_limit_and_no_further() -> None:
    env = {**BASE_ENV, "GRANT_SECRET": SECRET}
    assert Settings.from_env({**env, "UPLOAD_MAX_BYTES": str(10000 * 5 * 1024**3)})
    with pytest.raises(ConfigurationError, match="UPLOAD_MAX_BYTES"):
        Settings.from_env({**env, "UPLOAD_MAX_BYTES": str(10000 * 5 * 1024**3 + 1)})
    with pytest.raises(ConfigurationError, match="UPLOAD_PART_SIZE_BYTES"):
        Settings.from_env({**env, "UPLOAD_PART_SIZE_BYTES": "102399"})
    with pytest.raises(ConfigurationError, match="UPLOAD_MULTIPART_THRESHOLD_BYTES"):
        Settings.from_env({**env, "UPLOAD_MULTIPART_THRESHOLD_BYTES": str(5 * 1024**3 + 1)})


GiB = 1024**3
OSS_LIMIT = 10000 * 5 * GiB  # 10000 parts of at most 5 GiB (oss-multipart.md §1.6)


@pytest.mark.parametrize(("size", "part_size", "part_count"), [
    (OSS_LIMIT, 5 * GiB, 10000),
    (OSS_LIMIT - 1, 5 * GiB, 10000),
    (10000 * 8 * MiB, 8 * MiB, 10000),
    (10000 * 8 * MiB + 1, 8 * MiB + 1, 10000),
    (8 * MiB + 1, 8 * MiB, 2),
])
def test_a_plan_at_oss_limits_keeps_to_10000_parts_of_at_most_5_gib(
    clock: FakeClock, fetcher: FakeFetcher, storage: FakeStorage, size: int, part_size: int,
    part_count: int,
) -> None:
    client = make(clock, fetcher, storage, UPLOAD_MAX_BYTES=str(OSS_LIMIT),
                  UPLOAD_MULTIPART_THRESHOLD_BYTES=str(8 * MiB),
                  UPLOAD_PART_SIZE_BYTES=str(8 * MiB))
    answer = client.post("/uploads", json={**BIG, "size": size}, headers={"Origin": ORIGIN})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["part_size"], body["part_count"], body["max_size"]) == (part_size, part_count,
                                                                         size)
    last = size - (part_count - 1) * part_size
    upload_id = body["upload_id"]
    parts = post(client, upload_id, "/parts", {"part_numbers": [1, part_count]}).get_json()
    assert [p["size"] for p in parts["parts"]] == [part_size, last]
    assert 0 < last <= part_size
    refused = client.post("/uploads", json={**BIG, "size": OSS_LIMIT + 1},
                          headers={"Origin": ORIGIN})
    assert error(refused)[:2] == (413, "too_large")


@pytest.mark.parametrize(("host", "expected"), [
    ("http://127.0.0.1:9100/b-1", ("http://127.0.0.1:9100", True, False)),
    ("https://b-1.oss-cn-hangzhou.aliyuncs.com", ("https://oss-cn-hangzhou.aliyuncs.com",
                                                  False, False)),
    ("https://files.example.com", ("https://files.example.com", False, True)),
])
def test_the_sdk_endpoint_follows_oss_host(host: str, expected: tuple[str, bool, bool]) -> None:
    assert sdk_endpoint(host, "b-1") == expected


def test_a_post_grant_never_loads_the_oss_sdk_and_a_multipart_call_does() -> None:
    script = f"""
import sys
from datetime import datetime, timedelta, timezone
from werkzeug.test import Client
from uploadsign.credentials import TemporaryCredentials
from uploadsign.factory import build_app
from uploadsign import multipart
creds = TemporaryCredentials("STS.FAKE", "FAKE-secret", "FAKE-token",
                             datetime.now(timezone.utc) + timedelta(hours=1))
app = build_app({ENV!r}, fetcher_factory=lambda s: (lambda: creds))
answer = Client(app).post("/uploads", json={{**{BIG!r}, "size": 1000}},
                          headers={{"Origin": {ORIGIN!r}}})
assert answer.status_code == 200, answer.get_data()
print("alibabacloud_oss_v2" in sys.modules)
multipart.sdk_storage(app.settings, creds)
print("alibabacloud_oss_v2" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=120, cwd=str(SIGN_ROOT),
                         env={"PYTHONPATH": str(SIGN_ROOT), "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["False", "True"]



def test_the_storage_client_is_built_once_per_set_of_credentials(
    client: Client, storage: FakeStorage, clock: FakeClock, fetcher: FakeFetcher
) -> None:
    built: list[object] = []
    original = FakeStorage.__call__

    def counting(self: FakeStorage, settings: Settings, creds: Any) -> FakeStorage:
        built.append(creds)
        return original(self, settings, creds)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakeStorage, "__call__", counting)
        upload_id = plan(client)["upload_id"]
        client.get(f"/uploads/{upload_id}", headers={"Origin": ORIGIN})
        clock.advance(3600)  # the cached credentials expire: STS again, a new client
        plan(client)
    assert len(built) == 2 and built[0] is not built[1]


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("NoSuchUpload", 404, "no_such_upload"),
    ("FileAlreadyExists", 409, "object_exists"),
    ("CallbackFailed", 502, "storage_error"),
    ("AccessDenied", 502, "storage_error"),
    # a part replaced between complete's ListParts and its CompleteMultipartUpload
    ("InvalidPart", 409, "parts_mismatch"),
    ("InvalidPartOrder", 409, "parts_mismatch"),
    ("EntityTooSmall", 409, "parts_mismatch"),
])
def test_sdk_errors_become_the_functions_own(code: str, status: int, expected: str,
                                             settings: Settings) -> None:
    class Refusal(Exception):
        def __init__(self) -> None:
            super().__init__("FAKE-STS-SECRET-do-not-use must never show")
            self.code = code

        def unwrap(self) -> Exception:
            return self

    class Refusing:
        def abort_multipart_upload(self, request: object) -> None:
            raise Refusal

    adapter = sdk_storage(settings, fake_credentials(FIXED_NOW + timedelta(hours=1)))
    adapter._client = Refusing()
    with pytest.raises(SignError) as info:
        adapter.abort("uploads/k", "UPLOAD")
    assert (info.value.status, info.value.code) == (status, expected)
    assert "FAKE-STS-SECRET" not in info.value.message


@pytest.mark.parametrize(("status", "text", "expected"), [
    (200, '{"ok": true, "grant_id": "g"}', ('"X-2"', {"ok": True, "grant_id": "g"})),
    (200, None, ('"X-2"', None)),
    (203, None, "storage_error"),
    (200, "<Error/>", "storage_error"),
])
def test_the_sdk_adapter_reads_the_callback_answer_as_oss_relays_it(
    status: int, text: str | None, expected: Any, settings: Settings
) -> None:
    class Completing:
        def complete_multipart_upload(self, request: Any) -> Any:
            assert request.callback == "CB" and request.callback_var == "VAR"
            assert request.headers == {"x-oss-forbid-overwrite": "true"}
            return SimpleNamespace(status_code=status, callback_result=text, etag=None,
                                   headers={"ETag": '"X-2"'})

    adapter = sdk_storage(settings, fake_credentials(FIXED_NOW + timedelta(hours=1)))
    adapter._client = Completing()
    headers = {"x-oss-forbid-overwrite": "true", "x-oss-callback": "CB",
               "x-oss-callback-var": "VAR"}
    if isinstance(expected, str):
        with pytest.raises(SignError) as info:
            adapter.complete("k", "U", [StoredPart(1, '"A"', 1)], headers)
        assert info.value.code == expected
    else:
        assert adapter.complete("k", "U", [StoredPart(1, '"A"', 1)], headers) == expected


def test_the_access_log_names_the_route_template_never_the_upload_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    upload_id = plan(client)["upload_id"]
    caplog.clear()
    with caplog.at_level("INFO", logger="uploadsign.access"):
        post(client, upload_id, "/parts", {"part_numbers": [1]})
        client.get(f"/uploads/{upload_id}", headers={"Origin": ORIGIN})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "uploadsign.access"]
    assert [line["route"] for line in lines] == ["/uploads/{upload_id}/parts",
                                                 "/uploads/{upload_id}"]
    assert all(line["grant_id"] for line in lines)  # joined to the plan's log line instead
    assert upload_id not in caplog.text


def test_the_sdk_adapter_reads_every_list_parts_page(settings: Settings) -> None:
    def page(numbers: range, next_marker: int | None) -> Any:
        parts = [SimpleNamespace(part_number=n, etag=f'"E{n}"', size=n) for n in numbers]
        return SimpleNamespace(parts=parts, is_truncated=next_marker is not None,
                               next_part_number_marker=next_marker)

    class Listing:
        markers: list[int | None] = []

        def list_parts(self, request: Any) -> Any:
            self.markers.append(request.part_number_marker)
            assert request.max_parts == 1000
            return {None: page(range(1, 1001), 1000), 1000: page(range(1001, 2001), 2000),
                    2000: page(range(2001, 2004), None)}[request.part_number_marker]

    adapter = sdk_storage(settings, fake_credentials(FIXED_NOW + timedelta(hours=1)))
    adapter._client = listing = Listing()
    parts = adapter.list_parts("k", "U")
    assert [p.number for p in parts] == list(range(1, 2004))
    assert parts[-1] == StoredPart(2003, '"E2003"', 2003)
    assert listing.markers == [None, 1000, 2000]
