"""Upload callback end to end: function grant → emulator PostObject → function /callback.

The emulator signs callbacks with its own RSA key and serves the public half under
``/.localcloud/``; the stack wires the function to call back and to trust that prefix by
default (the second stack overrides the prefixes with the official ones only). What the
client of the POST sees is what a browser would see.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.oss.app import PUB_KEY_PATH
from localcloud.stack import LocalCloud
from tests.conftest import leaked_lines
from tests.e2e.conftest import admin_client
from tests.e2e.forms import multipart, post_json, request

#: The official prefixes only: a function that does not trust the emulator's key.
OFFICIAL_PREFIXES = "http://gosspublic.alicdn.com/,https://gosspublic.alicdn.com/"


def start_stack(state: Path, *, trust_emulator_key: bool) -> LocalCloud:
    # The stack wires the callback by default (URL and the emulator's key prefix); the
    # wary stack only takes the emulator's key prefix away.
    overrides = {"RATE_LIMIT_PER_MINUTE": "0", "UPLOAD_SAMPLE_ROUTE": "on"}
    if not trust_emulator_key:
        overrides["CALLBACK_PUBKEY_URL_PREFIXES"] = OFFICIAL_PREFIXES
    return LocalCloud.start(state, function_env_overrides=overrides, publish_web=False)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with start_stack(tmp_path_factory.mktemp("cb-trusting"), trust_emulator_key=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def wary_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with start_stack(tmp_path_factory.mktemp("cb-wary"), trust_emulator_key=False) as stack:
        yield stack


def grant_and_upload(stack: LocalCloud, data: bytes, logged_secrets: set[str]
                     ) -> tuple[dict[str, Any], int, dict[str, str], bytes]:
    status, grant = post_json(
        f"{stack.function_url}/uploads",
        {"filename": "report.txt", "size": len(data), "content_type": "text/plain"},
        origin=stack.website_origin,
    )
    assert status == 200, grant
    fields = grant["fields"]
    logged_secrets.update({fields["x-oss-signature"], fields["x-oss-security-token"]})
    body, ctype = multipart(fields, "report.txt", data, "text/plain")
    answer = request("POST", grant["url"], body,
                     {"Content-Type": ctype, "Origin": stack.website_origin})
    return grant, *answer


def function_log(stack: LocalCloud) -> list[str]:
    assert stack.log_path is not None
    return stack.log_path.read_text(encoding="utf-8", errors="replace").splitlines()


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        if line.startswith("{"):
            document = json.loads(line)
            if isinstance(document, dict):
                out.append(document)
    return out


def assert_log_clean(stack: LocalCloud, logged_secrets: set[str]) -> None:
    secrets = set(logged_secrets) | {stack.execution_credentials.access_key_secret,
                                     stack.execution_credentials.security_token or ""}
    assert leaked_lines(function_log(stack), secrets) == []


def test_callback_answer_is_relayed_to_the_uploader_and_the_grant_id_followed(
    cloud: LocalCloud, logged_secrets: set[str]
) -> None:
    data = b"quarterly numbers\n" * 100
    grant, status, headers, body = grant_and_upload(cloud, data, logged_secrets)
    assert status == 200, body
    assert headers["content-type"].startswith("application/json")
    answer = json.loads(body)
    assert answer == {
        "ok": True, "bucket": cloud.bucket, "key": grant["key"], "size": len(data),
        "etag": headers["etag"].strip('"'), "mime_type": "text/plain",
        "grant_id": grant["grant_id"],
    }
    lines = json_lines(function_log(cloud))
    by_grant = [x for x in lines if x.get("grant_id") == grant["grant_id"]]
    kinds = [(x["event"], x.get("route")) for x in by_grant]
    assert ("request", "/uploads") in kinds
    assert ("upload.completed", None) in kinds
    assert ("request", "/callback") in kinds
    assert_log_clean(cloud, logged_secrets)


def forged_callback_field(stack: LocalCloud, body: str) -> str:
    """A callback the uploader wrote: to the function's /callback, with a body of its own."""
    document = {"callbackUrl": f"{stack.function_url}/callback", "callbackBody": body,
                "callbackBodyType": "application/json"}
    return base64.b64encode(json.dumps(document).encode()).decode()


FORGED_BODIES = [
    pytest.param('{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},'
                 '"mimeType":${mimeType}}', id="no-grant"),
    pytest.param('{"bucket":${bucket},"object":${object},"etag":${etag},"size":${size},'
                 '"mimeType":${mimeType},"grant_id":${x:grant-id},'
                 '"grant_token":${x:grant-token}}', id="copied-grant-token"),
]


@pytest.mark.parametrize("callback_body", FORGED_BODIES)
def test_a_callback_the_uploader_attached_is_refused_although_oss_signed_it(
    cloud: LocalCloud, logged_secrets: set[str], callback_body: str
) -> None:
    # A real grant's id and token, replayed on an object that grant never named.
    real_status, real = post_json(f"{cloud.function_url}/uploads",
                                  {"filename": "a.txt", "size": 4, "content_type": "text/plain"},
                                  origin=cloud.website_origin)
    assert real_status == 200, real
    status, _, raw = request("GET", f"{cloud.function_url}/get_post_signature_for_oss_upload",
                             headers={"Origin": cloud.website_origin})
    assert status == 200
    grant = json.loads(raw)
    logged_secrets.update({grant["signature"], grant["security_token"]})
    key = f"{grant['dir']}forged.txt"
    fields = {
        "key": key, "policy": grant["policy"], "x-oss-signature": grant["signature"],
        "x-oss-signature-version": grant["x_oss_signature_version"],
        "x-oss-credential": grant["x_oss_credential"], "x-oss-date": grant["x_oss_date"],
        "x-oss-security-token": grant["security_token"],
        "callback": forged_callback_field(cloud, callback_body),
        "x:grant-id": real["grant_id"], "x:grant-token": real["fields"]["x:grant-token"],
    }
    body, ctype = multipart(fields, "forged.txt", b"abcd", "text/plain")
    status, _, answer = request("POST", grant["host"], body, {"Content-Type": ctype})
    assert status == 203  # OSS: stored, but the application refused the callback
    assert b"<Code>CallbackFailed</Code>" in answer
    completed = [line for line in json_lines(function_log(cloud))
                 if line.get("event") == "upload.completed" and line.get("key") == key]
    assert completed == []


def test_tampered_or_unsigned_callbacks_get_403_from_the_function(
    cloud: LocalCloud, logged_secrets: set[str]
) -> None:
    body = json.dumps({"bucket": cloud.bucket, "object": "uploads/x", "etag": "E",
                       "size": "1", "mimeType": "text/plain", "grant_id": "abc"}).encode()
    key_url = cloud.oss_url + PUB_KEY_PATH
    attempts = [
        {},
        {"authorization": base64.b64encode(b"\0" * 256).decode(),
         "x-oss-pub-key-url": base64.b64encode(key_url.encode()).decode()},
        {"authorization": base64.b64encode(b"\0" * 256).decode(),
         "x-oss-pub-key-url": base64.b64encode(b"http://127.0.0.1:9/evil.pem").decode()},
    ]
    for extra in attempts:
        status, _, answer = request("POST", f"{cloud.function_url}/callback", body,
                                    {"Content-Type": "application/json", **extra})
        assert status == 403
        assert json.loads(answer)["error"]["code"] == "callback_rejected"
    assert_log_clean(cloud, logged_secrets)


def test_refused_callback_is_203_callback_failed_and_the_object_is_kept(
    wary_cloud: LocalCloud, logged_secrets: set[str]
) -> None:
    data = b"kept anyway\n"
    grant, status, _, body = grant_and_upload(wary_cloud, data, logged_secrets)
    assert status == 203
    assert b"<Code>CallbackFailed</Code>" in body
    got = admin_client(wary_cloud).get_object(
        oss.GetObjectRequest(bucket=wary_cloud.bucket, key=grant["key"]))
    assert got.body.read() == data
    refusals = [x for x in json_lines(function_log(wary_cloud))
                if x.get("route") == "/callback"]
    assert [(x["status"], x["error"]) for x in refusals] == [(403, "callback_rejected")]
    assert_log_clean(wary_cloud, logged_secrets)


def test_stack_wires_the_callback_by_default_and_an_override_turns_it_off(
    cloud: LocalCloud,
) -> None:
    assert cloud.function_url is not None
    wired = cloud.function_env({})
    assert wired["UPLOAD_CALLBACK_URL"] == f"{cloud.function_url}/callback"
    assert wired["CALLBACK_PUBKEY_URL_PREFIXES"] == f"{cloud.oss_url}/.localcloud/"
    off = cloud.function_env({"UPLOAD_CALLBACK_URL": ""})
    assert off["UPLOAD_CALLBACK_URL"] == ""
    status, _, health = request("GET", f"{cloud.function_url}/healthz")
    assert status == 200
    assert json.loads(health)["callback"] is True


def test_inherited_environment_is_the_base_the_stack_settings_and_overrides_win_over(
    cloud: LocalCloud,
) -> None:
    # The CLI passes its own environment; `UPLOAD_CALLBACK_URL= make dev` must reach the function.
    inherited = {"UPLOAD_CALLBACK_URL": "", "UPLOAD_MAX_BYTES": "2048", "OSS_BUCKET": "other",
                 "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "FAKE-SECRET-from-the-shell"}
    shell = replace(cloud, inherited_env=inherited)
    env = shell.function_env({"UPLOAD_MAX_BYTES": "4096"})
    assert env["UPLOAD_CALLBACK_URL"] == ""
    assert env["UPLOAD_MAX_BYTES"] == "4096"
    assert env["OSS_BUCKET"] == cloud.bucket
    assert env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] == cloud.execution_credentials.access_key_secret
    assert "UPLOAD_MAX_BYTES" not in cloud.function_env({})


def test_empty_callback_url_override_turns_the_callback_off(
    tmp_path: Path, logged_secrets: set[str]
) -> None:
    stack = LocalCloud.start(tmp_path, publish_web=False,
                             function_env_overrides={"UPLOAD_CALLBACK_URL": ""})
    try:
        status, _, health = request("GET", f"{stack.function_url}/healthz")
        assert json.loads(health)["callback"] is False
        grant, status, _, body = grant_and_upload(stack, b"no callback\n", logged_secrets)
        assert "callback" not in grant["fields"]
        assert (status, body) == (200, b"")
        assert not [x for x in json_lines(function_log(stack)) if x.get("route") == "/callback"]
    finally:
        stack.stop()
