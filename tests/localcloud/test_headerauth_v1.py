"""V1 header signatures (``Authorization: OSS ak:sig``) against the SDK's SignerV1 as oracle.

The SDK signs; the emulator's verifier must accept exactly that and refuse any edit of a
signed part. A live round trip runs the SDK, configured for V1, against the emulator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import alibabacloud_oss_v2 as oss
import pytest
from alibabacloud_oss_v2.credentials import StaticCredentialsProvider
from alibabacloud_oss_v2.signer import SignerV1
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.oss.errors import OssError
from localcloud.oss.headerauth import verify_header_auth
from tests.localcloud.objectkit import sdk_client

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
AK = "FAKE-AK-V1-0001"
SECRET = "fake-v1-secret-0001"
TOKEN = "FAKE-V1-TOKEN-0001"
BUCKET = "v1-bucket"
KEY = "dir/photo 1+2.jpg"

LONG = Principal(AK, SECRET)
STS = Principal(AK, SECRET, security_token=TOKEN, expiration=NOW + timedelta(hours=1))


def _lookup(principal: Principal) -> Callable[[str], Principal | None]:
    return IdentityStore([principal]).lookup


@dataclass(frozen=True)
class Wire:
    method: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    key: str | None = KEY

    def verify(self, principal: Principal = LONG, now: datetime = NOW) -> Principal | None:
        return verify_header_auth(self.method, "/", self.query, self.headers, bucket=BUCKET,
                                  key=self.key, lookup=_lookup(principal), now=now)


def sdk_signed(method: str = "PUT", *, key: str | None = KEY,
               params: dict[str, str] | None = None, headers: dict[str, str] | None = None,
               token: str | None = None) -> Wire:
    url = f"http://{BUCKET}.oss-cn-hangzhou.aliyuncs.com/" + (quote(key) if key else "")
    if params:
        url += "?" + urlencode(params, quote_via=quote)
    request = HttpRequest(method, url, headers=dict(headers or {}))
    context = SigningContext(
        product="oss", region="cn-hangzhou", bucket=BUCKET, key=key, request=request,
        credentials=StaticCredentialsProvider(AK, SECRET, token).get_credentials(),
        signing_time=NOW,
    )
    SignerV1().sign(context)
    assert request.headers["Authorization"].startswith(f"OSS {AK}:")
    return Wire(method, parse_qsl(urlsplit(request.url).query, keep_blank_values=True),
                {k.lower(): v for k, v in request.headers.items()}, key)


CASES: dict[str, dict[str, object]] = {
    "put with md5, type and metadata": dict(headers={
        "Content-Type": "image/jpeg", "Content-MD5": "1B2M2Y8AsgTpLAgcHOrGvw==",
        "x-oss-meta-owner": "alice", "x-oss-object-acl": "private"}),
    "get with signed sub-resource": dict(method="GET", params={"acl": ""}),
    "list with unsigned parameters": dict(method="GET", key=None,
                                          params={"list-type": "2", "prefix": "a/b/"}),
    "get with response override": dict(method="GET",
                                       params={"response-content-type": "text/plain"}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_sdk_v1_signed_requests_are_accepted(case: dict[str, object]) -> None:
    assert sdk_signed(**case).verify() == LONG  # type: ignore[arg-type]


def test_sdk_v1_signed_sts_request_with_its_token_is_accepted() -> None:
    wire = sdk_signed(token=TOKEN)
    assert wire.verify(STS) == STS


def _edit(wire: Wire, **changes: str) -> Wire:
    return replace(wire, headers={**wire.headers, **changes})


TAMPERS: dict[str, Callable[[Wire], Wire]] = {
    "method": lambda w: replace(w, method="DELETE"),
    "key": lambda w: replace(w, key="dir/other.jpg"),
    "content-type": lambda w: _edit(w, **{"content-type": "text/html"}),
    "content-md5": lambda w: _edit(w, **{"content-md5": "AAAAAAAAAAAAAAAAAAAAAA=="}),
    "oss header value": lambda w: _edit(w, **{"x-oss-meta-owner": "mallory"}),
    "added oss header": lambda w: _edit(w, **{"x-oss-forbid-overwrite": "true"}),
    "signed sub-resource added": lambda w: replace(w, query=[*w.query, ("acl", "")]),
    "signature": lambda w: _edit(w, authorization=f"OSS {AK}:AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=TAMPERS.keys())
def test_a_tampered_v1_request_is_signature_does_not_match(
    tamper: Callable[[Wire], Wire]
) -> None:
    wire = sdk_signed(headers={"Content-Type": "image/jpeg", "x-oss-meta-owner": "alice",
                               "Content-MD5": "1B2M2Y8AsgTpLAgcHOrGvw=="})
    with pytest.raises(OssError) as caught:
        tamper(wire).verify()
    assert (caught.value.status, caught.value.code) == (403, "SignatureDoesNotMatch")
    assert SECRET not in str(caught.value.extra)


def test_an_unlisted_query_parameter_is_not_signed_in_v1() -> None:
    wire = sdk_signed(method="GET", key=None, params={"list-type": "2"})
    assert replace(wire, query=[*wire.query, ("max-keys", "5")]).verify() == LONG


@pytest.mark.parametrize(("edit", "status", "code"), [
    (lambda w: _edit(w, authorization=f"OSS FAKE-AK-NOBODY:{w.headers['authorization'][-28:]}"),
     403, "InvalidAccessKeyId"),
    (lambda w: _edit(w, authorization="OSS no-colon"), 400, "InvalidArgument"),
    (lambda w: _edit(w, date="not a date"), 400, "InvalidArgument"),
    (lambda w: replace(w, headers={k: v for k, v in w.headers.items() if k != "date"}),
     403, "AccessDenied"),
], ids=["unknown-key", "malformed-header", "bad-date", "no-date"])
def test_malformed_or_unknown_v1_credentials_are_refused(
    edit: Callable[[Wire], Wire], status: int, code: str
) -> None:
    with pytest.raises(OssError) as caught:
        edit(sdk_signed()).verify()
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize("offset", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_a_v1_date_outside_the_skew_window_is_request_time_too_skewed(
    offset: timedelta
) -> None:
    with pytest.raises(OssError) as caught:
        sdk_signed().verify(now=NOW + offset)
    assert (caught.value.status, caught.value.code) == (403, "RequestTimeTooSkewed")


@pytest.mark.parametrize(("principal", "token", "code"), [
    (STS, None, "InvalidAccessKeyId"),
    (STS, "FAKE-V1-TOKEN-OTHER", "InvalidSecurityToken"),
    (LONG, TOKEN, "InvalidSecurityToken"),
], ids=["sts-without-token", "sts-wrong-token", "token-on-long-lived-key"])
def test_v1_security_token_rules_match_v4(
    principal: Principal, token: str | None, code: str
) -> None:
    with pytest.raises(OssError) as caught:
        sdk_signed(token=token).verify(principal)
    assert caught.value.code == code


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.start(tmp_path, lookup=IdentityStore([
        Principal(AK, SECRET, policies=({"Version": "1", "Statement": [
            {"Effect": "Allow", "Action": ["oss:*"], "Resource": ["*"]}]},)),
    ]).lookup)
    emu.buckets.put(BucketConfig(name=BUCKET))
    try:
        yield emu
    finally:
        emu.stop()


def test_the_sdk_configured_for_v1_round_trips_through_the_emulator(emulator: Emulator) -> None:
    client = sdk_client(emulator.port, Principal(AK, SECRET), signature_version="v1")
    data = b"signed the old way\n"
    client.put_object(oss.PutObjectRequest(bucket=BUCKET, key=KEY, body=data,
                                           content_type="text/plain",
                                           metadata={"owner": "alice"}))
    got = client.get_object(oss.GetObjectRequest(bucket=BUCKET, key=KEY))
    assert (got.body.read(), got.content_type, got.metadata) == (
        data, "text/plain", {"owner": "alice"})
    listed = client.list_objects_v2(oss.ListObjectsV2Request(bucket=BUCKET, prefix="dir/"))
    assert [o.key for o in listed.contents or []] == [KEY]
    wrong = sdk_client(emulator.port, Principal(AK, "fake-wrong"), signature_version="v1")
    with pytest.raises(oss.exceptions.OperationError) as caught:
        wrong.get_object(oss.GetObjectRequest(bucket=BUCKET, key=KEY))
    assert "SignatureDoesNotMatch" in str(caught.value)
