"""deploy/upload_bucket.py: the s.yaml path's lifecycle rule and CORS check on the upload bucket.

The merge is checked as a pure function (XML in, XML out). The CLI is checked end to end
through the real SDK against a scripted OSS on loopback, which answers GetBucketCors /
GetBucketLifecycle from the test's XML and records PutBucketLifecycle (the local cloud's
emulator does not serve GetBucketCors: 501), and once more against the local cloud's
emulator, whose Get/PutBucketLifecycle hold the rules it reads, merges and writes. Last,
both deploy paths and the local cloud agree: template.yml's upload bucket has the same
lifecycle rule and a CORS rule passing the same check, s.yaml's hook runs the CLI with the
upload bucket, upload dir and the function's origins, and the local cloud's upload bucket
rule passes the check too.
"""

from __future__ import annotations

import base64
import hashlib
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from deploy.syaml import fc3_resources, resolve
from deploy.upload_bucket import (
    DEFAULT_ABORT_DAYS,
    RULE_ID,
    BucketSetupError,
    abort_rule,
    cors_problems,
    main,
    merge_rule,
    origin_matches,
    parse_args,
)
from localcloud.identity import Principal
from localcloud.stack import LocalCloud
from tests.localcloud.signedhttp import Answer, Call, send
from tests.support.liveserver import LiveServers, QuietHandler

PAGE = "https://upload.example.com"
FAKE_ENV = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-fake-id",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "fake-secret-never-printed"}

OTHER_RULES = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<LifecycleConfiguration>'
    b"<Rule><ID>logs-expire</ID><Prefix>logs/</Prefix><Status>Enabled</Status>"
    b"<Expiration><Days>30</Days></Expiration><Tag><Key>k</Key><Value>v</Value></Tag></Rule>"
    b"<Rule><ID>abort-incomplete-multipart-uploads</ID><Prefix>old/</Prefix>"
    b"<Status>Disabled</Status><AbortMultipartUpload><Days>9</Days></AbortMultipartUpload></Rule>"
    b"<Rule><ID>archive</ID><Prefix>cold/</Prefix><Status>Enabled</Status>"
    b"<Transition><Days>60</Days><StorageClass>Archive</StorageClass></Transition></Rule>"
    b"</LifecycleConfiguration>"
)


def rules_of(body: bytes) -> list[ET.Element]:
    root = ET.fromstring(body)
    assert root.tag == "LifecycleConfiguration"
    return root.findall("Rule")


def canonical(rule: ET.Element) -> str:
    return ET.tostring(rule, encoding="unicode").strip()


def cors(*rules: tuple[list[str], list[str], list[str]]) -> bytes:
    """A CORSConfiguration body: one (origins, methods, exposed headers) per rule."""
    parts = []
    for origins, methods, expose in rules:
        parts.append("<CORSRule>" + "".join(f"<AllowedOrigin>{o}</AllowedOrigin>" for o in origins)
                     + "".join(f"<AllowedMethod>{m}</AllowedMethod>" for m in methods)
                     + "<AllowedHeader>*</AllowedHeader>"
                     + "".join(f"<ExposeHeader>{h}</ExposeHeader>" for h in expose)
                     + "</CORSRule>")
    return f"<CORSConfiguration>{''.join(parts)}</CORSConfiguration>".encode()


GOOD_CORS = cors(([PAGE], ["POST", "PUT", "GET"], ["ETag", "x-oss-request-id"]))


# --- the rule and the merge -------------------------------------------------------------

def test_the_rule_aborts_incomplete_uploads_under_the_upload_dir_after_n_days() -> None:
    rule = abort_rule("uploads/", 3)
    assert canonical(rule) == (
        f"<Rule><ID>{RULE_ID}</ID><Prefix>uploads/</Prefix><Status>Enabled</Status>"
        "<AbortMultipartUpload><Days>3</Days></AbortMultipartUpload></Rule>")


@pytest.mark.parametrize(("upload_dir", "days"), [("uploads/", 0), ("uploads/", -1), ("", 3)])
def test_a_rule_for_no_days_or_the_whole_bucket_is_refused(upload_dir: str, days: int) -> None:
    with pytest.raises(BucketSetupError):
        abort_rule(upload_dir, days)


def test_without_existing_rules_the_configuration_holds_only_this_rule() -> None:
    for existing in (None, b"", b"  \n"):
        [rule] = rules_of(merge_rule(existing, abort_rule("uploads/", 3)))
        assert rule.findtext("ID") == RULE_ID


def test_merge_replaces_this_rule_in_place_and_keeps_every_other_rule_verbatim() -> None:
    merged = rules_of(merge_rule(OTHER_RULES, abort_rule("uploads/", 5)))
    before = rules_of(OTHER_RULES)
    assert [r.findtext("ID") for r in merged] == ["logs-expire", RULE_ID, "archive"]
    # Tag and Transition (elements the merge knows nothing of) come back unchanged.
    assert canonical(merged[0]) == canonical(before[0])
    assert canonical(merged[2]) == canonical(before[2])
    assert canonical(merged[1]) == canonical(abort_rule("uploads/", 5))


def test_merge_appends_the_rule_when_no_rule_has_its_id() -> None:
    others = (b"<LifecycleConfiguration><Rule><ID>logs-expire</ID><Prefix>logs/</Prefix>"
              b"<Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule>"
              b"</LifecycleConfiguration>")
    merged = rules_of(merge_rule(others, abort_rule("uploads/", 3)))
    assert [r.findtext("ID") for r in merged] == ["logs-expire", RULE_ID]
    assert canonical(merged[0]) == canonical(rules_of(others)[0])


def test_merge_refuses_a_body_that_is_not_a_lifecycle_configuration() -> None:
    with pytest.raises(BucketSetupError):
        merge_rule(b"<Error><Code>x</Code></Error>", abort_rule("uploads/", 3))
    with pytest.raises(BucketSetupError):
        merge_rule(b"<LifecycleConfiguration>", abort_rule("uploads/", 3))


# --- the CORS check ---------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "origin", "expected"), [
    (PAGE, PAGE, True), (PAGE, PAGE + ":8443", False), ("*", PAGE, True),
    ("https://*.example.com", PAGE, True), ("https://*.example.com", "http://upload.example.com",
                                            False), ("https://*.example.org", PAGE, False),
])
def test_allowed_origin_patterns_match_as_oss_documents(pattern: str, origin: str,
                                                        expected: bool) -> None:
    assert origin_matches(pattern, origin) is expected


def test_a_rule_allowing_post_and_put_and_exposing_etag_passes() -> None:
    assert cors_problems(GOOD_CORS, [PAGE]) == []
    assert cors_problems(cors((["*"], ["put", "post"], ["etag"])), [PAGE]) == []


@pytest.mark.parametrize(("configuration", "expected"), [
    (None, "no CORS rule allows the origin https://upload.example.com"),
    (cors((["https://other.example.com"], ["POST", "PUT"], ["ETag"])),
     "no CORS rule allows the origin https://upload.example.com"),
    (cors(([PAGE], ["POST", "GET"], ["ETag"])), "lacks PUT"),
    (cors(([PAGE], ["POST", "PUT"], ["x-oss-request-id"])), "lacks ExposeHeader ETag"),
    # OSS applies the first rule that matches the origin: a later, complete one is unused.
    (cors(([PAGE], ["POST"], ["ETag"]), ([PAGE], ["POST", "PUT"], ["ETag"])), "lacks PUT"),
], ids=["no-configuration", "other-origin", "no-put", "etag-hidden", "first-match-wins"])
def test_a_rule_the_page_cannot_upload_parts_through_is_reported(
    configuration: bytes | None, expected: str
) -> None:
    [problem] = cors_problems(configuration, [PAGE])
    assert expected in problem


# --- the CLI through the SDK ------------------------------------------------------------

@dataclass
class ScriptedOss:
    """What the scripted OSS answers and what it was sent."""

    cors: bytes | None = GOOD_CORS
    lifecycle: bytes | None = None
    cors_status: int = 200
    put_status: int = 200
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)


def oss_error(status: int, code: str) -> bytes:
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
            f"<Message>scripted</Message><RequestId>1</RequestId></Error>").encode()


def scripted_handler(script: ScriptedOss) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"
        answers: ClassVar[ScriptedOss] = script

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-oss-request-id", "scripted")
            self.end_headers()
            self.wfile.write(body)

        def _record(self) -> bytes:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.requests.append((self.command, self.path, dict(self.headers), body))
            return body

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._record()
            if "cors" in parse_qs(urlsplit(self.path).query, keep_blank_values=True):
                if script.cors_status != 200:
                    self._answer(script.cors_status, oss_error(script.cors_status, "AccessDenied"))
                elif script.cors is None:
                    self._answer(404, oss_error(404, "NoSuchCORSConfiguration"))
                else:
                    self._answer(200, script.cors)
            elif script.lifecycle is None:
                self._answer(404, oss_error(404, "NoSuchLifecycle"))
            else:
                self._answer(200, script.lifecycle)

        def do_PUT(self) -> None:  # noqa: N802 - http.server's name
            body = self._record()
            if script.put_status == 200:
                script.lifecycle = body
                self._answer(200, b"")
            else:
                self._answer(script.put_status, oss_error(script.put_status, "InvalidArgument"))

    return Handler


def run_cli(live_server: LiveServers, script: ScriptedOss, *extra: str) -> int:
    server = live_server.handler(scripted_handler(script))
    return main(["--bucket", "up-bucket", "--region", "cn-hangzhou", "--endpoint", server.url,
                 "--upload-dir", "uploads/", "--origins", PAGE, *extra], env=FAKE_ENV)


def test_cli_writes_the_merged_rules_signed_and_with_their_md5(
    live_server: LiveServers, capsys: pytest.CaptureFixture[str]
) -> None:
    script = ScriptedOss(lifecycle=OTHER_RULES)
    assert run_cli(live_server, script, "--abort-days", "4") == 0
    assert [(m, p) for m, p, _, _ in script.requests] == [
        ("GET", "/up-bucket/?cors="), ("GET", "/up-bucket/?lifecycle="),
        ("PUT", "/up-bucket/?lifecycle=")]
    _, _, headers, body = script.requests[-1]
    assert headers["Authorization"].startswith("OSS4-HMAC-SHA256 Credential=LTAI-fake-id/")
    assert headers["Content-MD5"] == base64.b64encode(hashlib.md5(body).digest()).decode()
    assert [canonical(r) for r in rules_of(body)] == [
        canonical(r) for r in rules_of(merge_rule(OTHER_RULES, abort_rule("uploads/", 4)))]
    out = capsys.readouterr()
    assert f"lifecycle rule {RULE_ID}" in out.out and "after 4 days" in out.out
    assert "CORS not checked" not in out.out
    assert "fake-secret" not in out.out + out.err


def test_cli_on_a_bucket_without_rules_writes_only_its_rule_with_the_default_days(
    live_server: LiveServers,
) -> None:
    script = ScriptedOss(lifecycle=None)
    assert run_cli(live_server, script) == 0
    [rule] = rules_of(script.requests[-1][3])
    assert rule.findtext("AbortMultipartUpload/Days") == str(DEFAULT_ABORT_DAYS) == "3"


def test_cli_stops_before_writing_when_the_cors_rule_cannot_carry_parts(
    live_server: LiveServers, capsys: pytest.CaptureFixture[str]
) -> None:
    script = ScriptedOss(cors=cors(([PAGE], ["POST", "GET"], ["x-oss-request-id"])))
    assert run_cli(live_server, script) == 1
    assert [m for m, _, _, _ in script.requests] == ["GET"]
    err = capsys.readouterr().err
    assert err.startswith("upload_bucket: the CORS rule for https://upload.example.com lacks "
                          "PUT, ExposeHeader ETag")


def test_cli_goes_on_when_cors_cannot_be_read_and_says_so(
    live_server: LiveServers, capsys: pytest.CaptureFixture[str]
) -> None:
    script = ScriptedOss(cors_status=403)
    assert run_cli(live_server, script) == 0
    assert "CORS not checked (GET ?cors on up-bucket failed: 403 AccessDenied)" in (
        capsys.readouterr().out)
    assert script.requests[-1][0] == "PUT"


def test_a_refused_put_exits_1_with_the_oss_code_and_no_secret(
    live_server: LiveServers, capsys: pytest.CaptureFixture[str]
) -> None:
    script = ScriptedOss(put_status=400)
    assert run_cli(live_server, script) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("upload_bucket: PutBucketLifecycle on up-bucket failed: "
                           "400 InvalidArgument")


def test_missing_credentials_exit_1_before_any_call(
    live_server: LiveServers, capsys: pytest.CaptureFixture[str]
) -> None:
    script = ScriptedOss()
    server = live_server.handler(scripted_handler(script))
    assert main(["--bucket", "b", "--region", "cn-hangzhou", "--endpoint", server.url,
                 "--upload-dir", "uploads/", "--origins", PAGE], env={}) == 1
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in capsys.readouterr().err
    assert script.requests == []


# --- both deploy paths and the local cloud agree ----------------------------------------

def test_template_declares_the_rule_the_syaml_hook_writes(ros_template: dict[str, Any]) -> None:
    props = ros_template["Resources"]["UploadBucket"]["Properties"]
    [rule] = props["LifecycleConfiguration"]["Rule"]
    assert rule == {"ID": RULE_ID, "Prefix": {"Ref": "UploadDir"}, "Status": "Enabled",
                    "AbortMultipartUpload": {"Days": {"Ref": "AbortIncompleteUploadDays"}}}
    days = ros_template["Parameters"]["AbortIncompleteUploadDays"]
    assert (days["Type"], days["Default"], days["MinValue"]) == ("Number", DEFAULT_ABORT_DAYS, 1)


def test_template_upload_bucket_cors_passes_the_hooks_check(ros_template: dict[str, Any]) -> None:
    [rule] = ros_template["Resources"]["UploadBucket"]["Properties"]["CORSConfiguration"][
        "CORSRule"]
    assert rule["AllowedOrigin"] == {"Ref": "AllowedOrigins"}  # the function's origins too
    assert cors_problems(cors(([PAGE], rule["AllowedMethod"], rule["ExposeHeader"])), [PAGE]
                         ) == []


def upload_bucket_hook(s_yaml: dict[str, Any]) -> list[str]:
    """The pre-deploy command line running deploy.upload_bucket, vars resolved, split."""
    hooks = fc3_resources(s_yaml)["signer"]["actions"]["pre-deploy"]
    [run] = [h["run"] for h in hooks if "-m deploy.upload_bucket" in h["run"]]
    return shlex.split(resolve(run, s_yaml["vars"]))


def test_syaml_hook_sets_up_the_upload_bucket_with_the_functions_origins(
    s_yaml: dict[str, Any],
) -> None:
    argv = upload_bucket_hook(s_yaml)
    assert argv[:3] == [".venv/bin/python", "-m", "deploy.upload_bucket"]
    args = parse_args(argv[3:])  # the CLI accepts the hook's command line as written
    variables = s_yaml["vars"]
    env = fc3_resources(s_yaml)["signer"]["props"]["environmentVariables"]
    assert args.bucket == variables["bucket"] != variables["webBucket"]
    assert resolve(env["OSS_BUCKET"], variables) == args.bucket
    assert args.upload_dir == resolve(env["OSS_UPLOAD_DIR"], variables)
    assert args.origins == resolve(env["CORS_ALLOWED_ORIGINS"], variables)
    assert args.region == variables["region"]
    assert args.abort_days == DEFAULT_ABORT_DAYS == int(variables["abortIncompleteUploadDays"])


def test_local_cloud_upload_bucket_cors_passes_the_same_check(storage_cloud: LocalCloud) -> None:
    bucket = storage_cloud.emulator.buckets.get(storage_cloud.bucket)
    assert bucket is not None
    [rule] = bucket.cors_rules
    assert cors_problems(cors((list(rule.allowed_origins), list(rule.allowed_methods),
                               list(rule.expose_headers))), [storage_cloud.website_origin]) == []


# --- the CLI against the local cloud's emulator ------------------------------------------

def emulator_rules(cloud: LocalCloud, method: str = "GET", body: bytes = b"") -> Answer:
    """Get (or Put/Delete) the upload bucket's lifecycle on the emulator, as its admin."""
    creds = cloud.admin_credentials
    return send(cloud.emulator.port, Call(method, cloud.bucket, "", {"lifecycle": ""}, {}, body),
                Principal(creds.access_key_id, creds.access_key_secret))


def test_cli_reads_merges_and_writes_the_rules_of_the_local_clouds_upload_bucket(
    storage_cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    """The read-merge-write against the emulator's Get/PutBucketLifecycle, not a script."""
    cloud = storage_cloud
    creds = cloud.admin_credentials
    env = {"ALIBABA_CLOUD_ACCESS_KEY_ID": creds.access_key_id,
           "ALIBABA_CLOUD_ACCESS_KEY_SECRET": creds.access_key_secret}

    def run(*extra: str) -> int:
        return main(["--bucket", cloud.bucket, "--region", cloud.region, "--endpoint",
                     cloud.oss_url, "--upload-dir", "uploads/", "--origins",
                     cloud.website_origin, *extra], env=env)

    assert emulator_rules(cloud).code == "NoSuchLifecycle"
    try:
        assert run() == 0
        [only] = rules_of(emulator_rules(cloud).body)
        assert canonical(only) == canonical(abort_rule("uploads/", DEFAULT_ABORT_DAYS))

        assert emulator_rules(cloud, "PUT", OTHER_RULES).status == 200
        assert run("--abort-days", "4") == 0
        merged = emulator_rules(cloud).body
        assert [canonical(r) for r in rules_of(merged)] == [
            canonical(r) for r in rules_of(merge_rule(OTHER_RULES, abort_rule("uploads/", 4)))]
        assert run("--abort-days", "4") == 0  # a second run changes nothing
        assert [canonical(r) for r in rules_of(emulator_rules(cloud).body)] == [
            canonical(r) for r in rules_of(merged)]
    finally:
        emulator_rules(cloud, "DELETE")
    out = capsys.readouterr()
    assert f"lifecycle rule {RULE_ID}" in out.out and "after 4 days" in out.out
    assert creds.access_key_secret not in out.out + out.err
