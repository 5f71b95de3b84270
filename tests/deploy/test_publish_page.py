"""deploy/publish_page.py: the page and its config.js land in the page bucket with the right
types and ACL — proven against the local OSS emulator through the real SDK — and bad
input fails with a clear message that never shows a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from deploy.publish_page import (
    Credentials,
    PageFile,
    PublishError,
    blocked_levels,
    config_js,
    content_type_for,
    credentials_from_env,
    credentials_from_json,
    main,
    needs_path_style,
    page_files,
    publish,
)
from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.forms import fetch, request

FUNCTION_URL = "https://oss-upload-signer-abcdef.cn-hangzhou.fcapp.run"
FAKE_SECRET = "FAKE-SECRET-never-printed-0000"


@pytest.fixture(scope="module")
def cloud(storage_cloud: LocalCloud) -> LocalCloud:
    """The emulator alone (no function, nothing published): the script does the publishing."""
    return storage_cloud


@pytest.fixture
def site(tmp_path: Path) -> Path:
    src = tmp_path / "web"
    (src / "js").mkdir(parents=True)
    (src / "index.html").write_text("<!doctype html><title>up</title>", encoding="utf-8")
    (src / "style.css").write_text("body{}", encoding="utf-8")
    (src / "js" / "app.js").write_text("export const a = 1;", encoding="utf-8")
    (src / "README.md").write_text("not published", encoding="utf-8")
    (src / "config.js").write_text("stale", encoding="utf-8")
    (src / ".DS_Store").write_bytes(b"\0")
    return src


def admin_json(cloud: LocalCloud, path: Path) -> Path:
    creds = cloud.admin_credentials
    path.write_text(json.dumps({"AccessKeyId": creds.access_key_id,
                                "AccessKeySecret": creds.access_key_secret}))
    return path


def anonymous_get(cloud: LocalCloud, key: str) -> tuple[int, str, bytes]:
    return fetch(f"{cloud.oss_url}/{cloud.web_bucket}/{key}")


def run_script(cloud: LocalCloud, site: Path, creds_file: Path, *extra: str) -> int:
    return main(
        ["--endpoint", cloud.oss_url, "--web-bucket", cloud.web_bucket, "--region", cloud.region,
         "--src", str(site), "--function-url", FUNCTION_URL + "/",
         "--credentials-json", str(creds_file), *extra],
        env={},
    )


def test_page_and_config_are_published_public_read_with_their_types(
    cloud: LocalCloud, site: Path, tmp_path: Path
) -> None:
    status = run_script(cloud, site, admin_json(cloud, tmp_path / "c.json"),
                        "--prefix", "public/", "--max-bytes", "2048",
                        "--allowed-types", "image/png, text/plain")
    assert status == 0

    expected = {
        "public/index.html": ("text/html; charset=utf-8", b"<!doctype html><title>up</title>"),
        "public/style.css": ("text/css; charset=utf-8", b"body{}"),
        "public/js/app.js": ("text/javascript; charset=utf-8", b"export const a = 1;"),
    }
    for key, (content_type, body) in expected.items():
        assert anonymous_get(cloud, key) == (200, content_type, body)

    code, content_type, body = anonymous_get(cloud, "public/config.js")
    assert (code, content_type) == (200, "text/javascript; charset=utf-8")
    prefix, _, rest = body.decode().partition(" = ")
    assert prefix == "window.OSS_UPLOAD_CONFIG"
    assert json.loads(rest.rstrip().rstrip(";")) == {
        "apiBase": FUNCTION_URL, "maxBytes": 2048, "allowedTypes": ["image/png", "text/plain"],
    }
    listed = admin_client(cloud).list_objects_v2(
        oss.ListObjectsV2Request(bucket=cloud.web_bucket, prefix="public/")
    )
    assert sorted(o.key for o in listed.contents or []) == sorted([*expected, "public/config.js"])
    # ... in the page bucket, which the website origin serves; nothing in the upload bucket.
    status, _, body = request("GET", f"{cloud.website_url}public/index.html",
                              headers={"Host": cloud.website_origin.split("//", 1)[1]})
    assert (status, body) == (200, b"<!doctype html><title>up</title>")
    assert not admin_client(cloud).is_object_exist(cloud.bucket, "public/index.html")


def test_private_acl_keeps_the_page_unreadable_anonymously(
    cloud: LocalCloud, site: Path, tmp_path: Path
) -> None:
    assert run_script(cloud, site, admin_json(cloud, tmp_path / "c.json"),
                      "--prefix", "private/", "--acl", "private") == 0
    assert anonymous_get(cloud, "private/index.html")[0] == 403


def test_wrong_secret_fails_with_the_oss_error_code_and_no_secret(
    cloud: LocalCloud, site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds_file = tmp_path / "bad.json"
    creds_file.write_text(json.dumps({"AccessKeyId": cloud.admin_credentials.access_key_id,
                                      "AccessKeySecret": FAKE_SECRET}))
    assert run_script(cloud, site, creds_file, "--prefix", "bad/") == 1
    err = capsys.readouterr().err
    assert "403" in err and "SignatureDoesNotMatch" in err
    assert FAKE_SECRET not in err


def test_credentials_come_from_the_environment_with_an_optional_token() -> None:
    creds = credentials_from_env({
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "FAKE-AK-1",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": FAKE_SECRET,
        "ALIBABA_CLOUD_SECURITY_TOKEN": "FAKE-TOKEN-1",
    })
    assert creds == Credentials("FAKE-AK-1", FAKE_SECRET, "FAKE-TOKEN-1")
    assert FAKE_SECRET not in repr(creds) and "FAKE-TOKEN-1" not in repr(creds)


def test_sts_shaped_credentials_json_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "sts.json"
    path.write_text(json.dumps({"RequestId": "r", "Credentials": {
        "AccessKeyId": "STS.FAKE", "AccessKeySecret": FAKE_SECRET, "SecurityToken": "FAKE-T"}}))
    assert credentials_from_json(path) == Credentials("STS.FAKE", FAKE_SECRET, "FAKE-T")


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"AccessKeyId": "FAKE-AK"}', '{"AccessKeySecret": "x"}',
     '{"AccessKeyId": "", "AccessKeySecret": "x"}'],
    ids=["not-json", "not-object", "no-secret", "no-key-id", "empty-key-id"],
)
def test_unusable_credentials_json_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(PublishError) as caught:
        credentials_from_json(path)
    assert str(path) in str(caught.value)


def test_missing_environment_credentials_exit_1_naming_the_variables(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--web-bucket", "b", "--region", "cn-hangzhou", "--src", str(site),
                   "--function-url", FUNCTION_URL], env={})
    assert status == 1
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in capsys.readouterr().err


def test_page_bucket_comes_from_web_bucket_when_no_argument_names_it(
    cloud: LocalCloud, site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--endpoint", cloud.oss_url, "--region", cloud.region, "--src", str(site),
                   "--function-url", FUNCTION_URL, "--prefix", "from-env/",
                   "--credentials-json", str(admin_json(cloud, tmp_path / "c.json"))],
                  env={"WEB_BUCKET": cloud.web_bucket})
    assert status == 0
    assert capsys.readouterr().out == (
        f"publish_page: 4 objects to oss://{cloud.web_bucket}/from-env/\n")
    assert anonymous_get(cloud, "from-env/index.html")[0] == 200


def test_no_page_bucket_exits_1_naming_the_argument_and_the_variable(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--region", "cn-hangzhou", "--src", str(site),
                   "--function-url", FUNCTION_URL], env={"ALIBABA_CLOUD_ACCESS_KEY_ID": "FAKE"})
    assert status == 1
    assert capsys.readouterr().err == (
        "publish_page: no page bucket: pass --web-bucket or set WEB_BUCKET\n")


def service_error(status: int, code: str) -> oss.exceptions.OperationError:
    return oss.exceptions.OperationError(name="op", error=oss.exceptions.ServiceError(
        status_code=status, code=code, message="refused", request_id="r", ec="",
        timestamp="", request_target=""))


class RefusingClient:
    """An OSS client whose every PutObject is refused with the given OSS error.

    Its Block Public Access settings cannot be read (501, as the emulator answers the
    account level), so the refusal itself is what the publisher reports.
    """

    def __init__(self, status: int, code: str) -> None:
        self.status, self.code = status, code

    def get_public_access_block(self, request: object) -> None:
        raise service_error(501, "NotImplemented")

    def get_bucket_public_access_block(self, request: object) -> None:
        raise service_error(501, "NotImplemented")

    def put_object(self, request: oss.PutObjectRequest) -> None:
        raise service_error(self.status, self.code)


class SwitchClient:
    """An OSS client reporting the given Block Public Access switches; writes nothing."""

    def __init__(self, account: bool, bucket: bool) -> None:
        self.account, self.bucket = account, bucket
        self.puts: list[str] = []

    @staticmethod
    def _answer(on: bool) -> oss.GetBucketPublicAccessBlockResult:
        return oss.GetBucketPublicAccessBlockResult(
            public_access_block_configuration=oss.PublicAccessBlockConfiguration(
                block_public_access=on))

    def get_public_access_block(self, request: object) -> object:
        return self._answer(self.account)

    def get_bucket_public_access_block(self, request: object) -> object:
        return self._answer(self.bucket)

    def put_object(self, request: oss.PutObjectRequest) -> None:
        self.puts.append(str(request.key))


def test_public_read_refused_with_access_denied_names_block_public_access_in_one_line() -> None:
    # The deploy path: real OSS refuses public-read objects while Block Public Access is on.
    page = [PageFile("index.html", b"x", "text/html; charset=utf-8")]
    with pytest.raises(PublishError) as caught:
        publish(RefusingClient(403, "AccessDenied"), "my-page", page, "public-read", "no-cache")
    assert str(caught.value) == (
        "PutObject index.html failed: 403 AccessDenied; public-read objects are refused while "
        'OSS "Block Public Access" is on: turn it off for the page bucket my-page only '
        "(bucket and account level; keep it on for the upload bucket)")


@pytest.mark.parametrize(
    ("status", "code", "acl"),
    [(403, "AccessDenied", "private"), (403, "AccessDenied", None),
     (403, "SignatureDoesNotMatch", "public-read"), (404, "NoSuchBucket", "public-read")],
    ids=["private-acl", "default-acl", "other-403", "no-bucket"],
)
def test_other_refusals_do_not_mention_block_public_access(
    status: int, code: str, acl: str | None
) -> None:
    page = [PageFile("index.html", b"x", "text/html; charset=utf-8")]
    with pytest.raises(PublishError) as caught:
        publish(RefusingClient(status, code), "my-page", page, acl, "no-cache")
    assert str(caught.value) == f"PutObject index.html failed: {status} {code}"


@pytest.mark.parametrize(
    "url",
    ["ftp://x.example", "oss-upload-signer.fcapp.run", "https://", "https://x.example/?a=1",
     "javascript:alert(1)"],
    ids=["ftp", "no-scheme", "no-host", "query", "javascript"],
)
def test_function_url_must_be_plain_http_or_https(url: str) -> None:
    with pytest.raises(PublishError):
        config_js(url)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("index.html", "text/html; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"),
     ("a.CSS", "text/css; charset=utf-8"), ("logo.svg", "image/svg+xml"),
     ("data.bin", "application/octet-stream")],
)
def test_content_types_follow_the_file_suffix(name: str, expected: str) -> None:
    assert content_type_for(name) == expected


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [("http://127.0.0.1:9000", True), ("http://localhost:9000", True), ("127.0.0.1:9000", True),
     ("https://oss-cn-hangzhou.aliyuncs.com", False), ("oss-cn-hangzhou.aliyuncs.com", False),
     (None, False)],
)
def test_path_style_only_for_ip_or_localhost_endpoints(
    endpoint: str | None, expected: bool
) -> None:
    assert needs_path_style(endpoint) is expected


def test_page_files_skip_docs_dotfiles_and_the_stale_config(site: Path) -> None:
    assert [f.key for f in page_files(site)] == ["index.html", "js/app.js", "style.css"]


@pytest.fixture
def blocked_bucket(cloud: LocalCloud) -> Iterator[str]:
    """A page bucket created over HTTP, as ossutil or an SDK creates it: Block Public Access
    on (OSS's default for such buckets since 2025-10-13; the emulator's too)."""
    client = admin_client(cloud)
    name = "fresh-page-bucket"
    client.put_bucket(oss.PutBucketRequest(bucket=name))
    yield name
    listed = client.list_objects_v2(oss.ListObjectsV2Request(bucket=name))
    for item in listed.contents or []:
        client.delete_object(oss.DeleteObjectRequest(bucket=name, key=item.key))
    client.delete_bucket(oss.DeleteBucketRequest(bucket=name))


def publish_into(cloud: LocalCloud, bucket: str, site: Path, creds: Path, *extra: str) -> int:
    return main(
        ["--endpoint", cloud.oss_url, "--web-bucket", bucket, "--region", cloud.region,
         "--src", str(site), "--function-url", FUNCTION_URL, "--credentials-json", str(creds),
         *extra],
        env={},
    )


def test_public_read_publish_is_refused_up_front_naming_block_public_access(
    cloud: LocalCloud, blocked_bucket: str, site: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = publish_into(cloud, blocked_bucket, site, admin_json(cloud, tmp_path / "c.json"))
    assert status == 1
    assert capsys.readouterr().err == (
        'publish_page: OSS "Block Public Access" is on at bucket level; public-read objects '
        'are refused while OSS "Block Public Access" is on: turn it off for the page bucket '
        f"{blocked_bucket} only (bucket and account level; keep it on for the upload bucket)\n")
    # Checked before the first PutObject: no half-published page.
    listed = admin_client(cloud).list_objects_v2(oss.ListObjectsV2Request(bucket=blocked_bucket))
    assert not listed.contents


def test_the_same_bucket_publishes_once_its_block_public_access_is_off(
    cloud: LocalCloud, blocked_bucket: str, site: Path, tmp_path: Path
) -> None:
    admin_client(cloud).put_bucket_public_access_block(oss.PutBucketPublicAccessBlockRequest(
        bucket=blocked_bucket,
        public_access_block_configuration=oss.PublicAccessBlockConfiguration(
            block_public_access=False)))
    assert publish_into(cloud, blocked_bucket, site, admin_json(cloud, tmp_path / "c.json")) == 0
    assert admin_client(cloud).is_object_exist(blocked_bucket, "index.html")


def test_private_objects_are_not_held_up_by_block_public_access(
    cloud: LocalCloud, blocked_bucket: str, site: Path, tmp_path: Path
) -> None:
    creds = admin_json(cloud, tmp_path / "c.json")
    assert publish_into(cloud, blocked_bucket, site, creds, "--acl", "private") == 0
    assert admin_client(cloud).is_object_exist(blocked_bucket, "index.html")


@pytest.mark.parametrize(
    ("account", "bucket", "levels"),
    [(True, False, ["account"]), (False, True, ["bucket"]), (True, True, ["account", "bucket"]),
     (False, False, [])],
)
def test_both_block_public_access_levels_are_read(
    account: bool, bucket: bool, levels: list[str]
) -> None:
    client = SwitchClient(account, bucket)
    assert blocked_levels(client, "my-page") == levels
    page = [PageFile("index.html", b"x", "text/html; charset=utf-8")]
    if levels:
        with pytest.raises(PublishError, match=f"is on at {' and '.join(levels)} level; "):
            publish(client, "my-page", page, "public-read", "no-cache")
        assert client.puts == []
    else:
        assert publish(client, "my-page", page, "public-read", "no-cache") == ["index.html"]
