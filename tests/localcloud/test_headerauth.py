"""OSS V4 header and presigned-query verification against published vectors and the official SDK.

The SDK (``alibabacloud_oss_v2``) is used only as an independent oracle: it signs requests
in-process and the verifier must accept exactly those and refuse every tampered variant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from alibabacloud_oss_v2.credentials import StaticCredentialsProvider
from alibabacloud_oss_v2.signer import SignerV4
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.errors import OssError
from localcloud.oss.headerauth import HeaderAuthSettings, verify_header_auth
from localcloud.oss.v4canonical import canonical_query, canonical_request, canonical_uri

VECTOR_PARAMS = {
    "param1": "value1",
    "+param1": "value3",
    "|param1": "value4",
    "+param2": "",
    "|param2": "",
    "param2": "",
}
VECTOR_HEADERS = {
    "x-oss-head1": "value",
    "abc": "value",
    "zabc": "value",
    "xyz": "value",
    "content-type": "text/plain",
    "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
}
VECTOR_KEY = "1234+-/123/1.txt"


def _utc(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, tz=timezone.utc)


def _vector_query() -> list[tuple[str, str]]:
    return parse_qsl(urlencode(VECTOR_PARAMS, quote_via=quote), keep_blank_values=True)


def _lookup_for(*principals: Principal) -> Callable[[str], Principal | None]:
    return IdentityStore(principals).lookup


@pytest.mark.parametrize(
    ("unix", "token", "additional", "signature"),
    [
        (1702743657, None, "", "e21d18daa82167720f9b1047ae7e7f1ce7cb77a31e8203a7d5f4624fa0284afe"),
        (
            1702784856,
            "token",
            "",
            "b94a3f999cf85bcdc00d332fbd3734ba03e48382c36fa4d5af5df817395bd9ea",
        ),
        (
            1702747512,
            None,
            "abc;zabc",
            "4a4183c187c07c8947db7620deb0a6b38d9fbdd34187b6dbaccb316fa251212f",
        ),
    ],
)
def test_published_sdk_header_vectors_are_accepted(
    unix: int, token: str | None, additional: str, signature: str
) -> None:
    signed_at = _utc(unix)
    date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    headers = dict(VECTOR_HEADERS, **{"x-oss-date": date})
    if token:
        headers["x-oss-security-token"] = token
    extra = f",AdditionalHeaders={additional}" if additional else ""
    headers["authorization"] = (
        f"OSS4-HMAC-SHA256 Credential=ak/{date[:8]}/cn-hangzhou/oss/aliyun_v4_request"
        f"{extra},Signature={signature}"
    )
    principal = Principal("ak", "sk", security_token=token)

    got = verify_header_auth(
        "PUT",
        "/" + VECTOR_KEY,
        _vector_query(),
        headers,
        bucket="bucket",
        key=VECTOR_KEY,
        lookup=_lookup_for(principal),
        now=signed_at + timedelta(seconds=30),
    )

    assert got == principal


def test_published_sdk_presign_vector_is_accepted() -> None:
    signed_at = _utc(1702781677)
    query = _vector_query() + [
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-date", signed_at.strftime("%Y%m%dT%H%M%SZ")),
        ("x-oss-expires", "599"),
        ("x-oss-credential", "ak/20231217/cn-hangzhou/oss/aliyun_v4_request"),
        ("x-oss-signature", "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe"),
    ]
    headers = {
        "x-oss-head1": "value",
        "abc": "value",
        "zabc": "value",
        "xyz": "value",
        "content-type": "application/octet-stream",
    }

    got = verify_header_auth(
        "PUT",
        "/",
        query,
        headers,
        bucket="bucket",
        key=VECTOR_KEY,
        lookup=_lookup_for(Principal("ak", "sk")),
        now=signed_at + timedelta(seconds=60),
    )

    assert got is not None and got.access_key_id == "ak"


# §11.2(b): the worked example of the OSS V4 header-signature document. The AccessKey id is
# not part of the signature, so an obviously fake one stands in for the documented masked id.
DOC_CANONICAL = (
    "PUT\n/examplebucket/exampleobject\n\n"
    "content-disposition:attachment\ncontent-length:3\ncontent-md5:ICy5YqxZB1uWSwcVLSNLcA==\n"
    "content-type:text/plain\nx-oss-content-sha256:UNSIGNED-PAYLOAD\n"
    "x-oss-date:20250411T064124Z\n\ncontent-disposition;content-length\nUNSIGNED-PAYLOAD"
)
DOC_HEADERS = {
    "content-disposition": "attachment",
    "content-length": "3",
    "content-md5": "ICy5YqxZB1uWSwcVLSNLcA==",
    "content-type": "text/plain",
    "x-oss-content-sha256": "UNSIGNED-PAYLOAD",
    "x-oss-date": "20250411T064124Z",
    "authorization": (
        "OSS4-HMAC-SHA256 Credential=FAKE-AK-DOC/20250411/cn-hangzhou/oss/aliyun_v4_request,"
        "AdditionalHeaders=content-disposition;content-length,"
        "Signature=d3694c2dfc5371ee6acd35e88c4871ac95a7ba01d3a2f476768fe61218590097"
    ),
}
DOC_NOW = datetime(2025, 4, 11, 6, 42, tzinfo=timezone.utc)


def test_documented_canonical_request_is_rebuilt_exactly() -> None:
    canonical = canonical_request(
        "PUT",
        canonical_uri("examplebucket", "exampleobject"),
        canonical_query([]),
        DOC_HEADERS,
        ("content-disposition", "content-length"),
    )

    assert canonical == DOC_CANONICAL


def test_documented_header_signature_is_accepted() -> None:
    principal = Principal("FAKE-AK-DOC", "yourAccessKeySecret")

    got = verify_header_auth(
        "PUT",
        "/examplebucket/exampleobject",
        [],
        DOC_HEADERS,
        bucket="examplebucket",
        key="exampleobject",
        lookup=_lookup_for(principal),
        now=DOC_NOW,
    )

    assert got == principal


def test_request_without_credentials_is_anonymous() -> None:
    got = verify_header_auth(
        "GET",
        "/b/k",
        [("prefix", "x")],
        {"host": "b.localhost"},
        bucket="b",
        key="k",
        lookup=_lookup_for(),
        now=DOC_NOW,
    )

    assert got is None


# --- requests signed by the official SDK --------------------------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
SDK_AK = "FAKE-AK-SDK-0001"
SDK_SECRET = "fake-sdk-secret-0001"
SDK_TOKEN = "fake-sts-token-0001"


@dataclass(frozen=True)
class Wire:
    """A signed request as the emulator's HTTP shell hands it to the verifier."""

    method: str
    raw_query: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    bucket: str | None
    key: str | None

    def verify(
        self, principal: Principal, *, now: datetime = NOW, raw: bool = True
    ) -> Principal | None:
        return verify_header_auth(
            self.method,
            "/",
            self.query,
            self.headers,
            bucket=self.bucket,
            key=self.key,
            lookup=_lookup_for(principal),
            now=now,
            raw_query=self.raw_query if raw else None,
        )


def _sdk_signed(
    method: str = "PUT",
    *,
    bucket: str | None = "upload-bucket",
    key: str | None = "user dirs/photo 1+2.jpg",
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
    additional: set[str] | None = None,
    presign_seconds: int | None = None,
) -> Wire:
    host = f"http://{bucket}.oss-cn-hangzhou.aliyuncs.com" if bucket else "http://oss.example"
    url = host + "/" + (quote(key) if key else "")
    if params:
        url += "?" + urlencode(params, quote_via=quote)
    request = HttpRequest(method, url, headers=dict(headers or {}))
    context = SigningContext(
        product="oss",
        region="cn-hangzhou",
        bucket=bucket,
        key=key,
        request=request,
        credentials=StaticCredentialsProvider(SDK_AK, SDK_SECRET, token).get_credentials(),
        signing_time=NOW,
        additional_headers=additional,
    )
    if presign_seconds is not None:
        context.auth_method_query = True
        context.expiration_time = NOW + timedelta(seconds=presign_seconds)
    SignerV4().sign(context)
    raw_query = urlsplit(request.url).query
    return Wire(
        method=method,
        raw_query=raw_query,
        query=parse_qsl(raw_query, keep_blank_values=True),
        headers={k.lower(): v for k, v in request.headers.items()},
        bucket=bucket,
        key=key,
    )


EXEC = Principal(SDK_AK, SDK_SECRET)
STS = Principal(SDK_AK, SDK_SECRET, security_token=SDK_TOKEN, expiration=NOW + timedelta(hours=1))

SDK_CASES = {
    "put with metadata": dict(
        headers={
            "Content-Type": "image/jpeg",
            "x-oss-meta-owner": "alice",
            "Cache-Control": "no-cache",
        }
    ),
    "list with slash prefix": dict(
        method="GET", key=None, params={"list-type": "2", "prefix": "user dirs/", "delimiter": "/"}
    ),
    "bucket-less request": dict(method="GET", bucket=None, key=None),
    "additional headers": dict(
        headers={"Content-Disposition": "attachment", "x-oss-meta-a": "1"},
        additional={"content-disposition", "host-not-present"},
    ),
    "presigned get": dict(method="GET", presign_seconds=600),
    "presigned list with slash prefix": dict(
        method="GET", key=None, params={"prefix": "a/b/"}, presign_seconds=3600
    ),
}


@pytest.mark.parametrize("case", SDK_CASES.values(), ids=SDK_CASES.keys())
def test_sdk_signed_request_is_accepted(case: dict[str, object]) -> None:
    wire = _sdk_signed(**case)  # type: ignore[arg-type]

    assert wire.verify(EXEC) == EXEC


@pytest.mark.parametrize("presign", [None, 900], ids=["header", "presigned"])
def test_sdk_signed_sts_request_with_token_is_accepted(presign: int | None) -> None:
    wire = _sdk_signed(token=SDK_TOKEN, presign_seconds=presign)

    assert wire.verify(STS) == STS


def test_ordinary_query_is_accepted_without_the_raw_query_text() -> None:
    wire = _sdk_signed(method="GET", key=None, params={"prefix": "a/b/", "max-keys": "5"})

    assert wire.verify(EXEC, raw=False) == EXEC


def _edit_headers(wire: Wire, **changes: str) -> Wire:
    return replace(wire, headers={**wire.headers, **changes})


def _edit_query(wire: Wire, name: str, value: str) -> Wire:
    query = [(k, value if k == name else v) for k, v in wire.query]
    if name not in dict(wire.query):
        query.append((name, value))
    raw = urlencode(query, quote_via=quote)
    return replace(wire, query=query, raw_query=raw)


BASE = dict(
    headers={
        "Content-Type": "text/plain",
        "x-oss-meta-owner": "alice",
        "Content-Disposition": "inline",
    },
    params={"acl": ""},
    additional={"content-disposition"},
)

TAMPERS: dict[str, Callable[[Wire], Wire]] = {
    "method": lambda w: replace(w, method="DELETE"),
    "key": lambda w: replace(w, key="user dirs/other.jpg"),
    "bucket": lambda w: replace(w, bucket="other-bucket"),
    "query value": lambda w: _edit_query(w, "acl", "x"),
    "added query param": lambda w: _edit_query(w, "versionId", "1"),
    "content-type": lambda w: _edit_headers(w, **{"content-type": "text/html"}),
    "x-oss-meta header": lambda w: _edit_headers(w, **{"x-oss-meta-owner": "mallory"}),
    "added x-oss header": lambda w: _edit_headers(w, **{"x-oss-object-acl": "public-read"}),
    "additional header": lambda w: _edit_headers(w, **{"content-disposition": "attachment"}),
    "date within skew": lambda w: _edit_headers(w, **{"x-oss-date": "20260301T120100Z"}),
}


@pytest.mark.parametrize("tamper", TAMPERS.values(), ids=TAMPERS.keys())
def test_tampered_header_signed_request_is_rejected_with_signature_mismatch(
    tamper: Callable[[Wire], Wire],
) -> None:
    wire = tamper(_sdk_signed(**BASE))  # type: ignore[arg-type]

    with pytest.raises(OssError) as caught:
        wire.verify(EXEC)

    assert (caught.value.status, caught.value.code) == (403, "SignatureDoesNotMatch")
    assert caught.value.ec == "0002-00000201"


def test_unsigned_header_may_change_without_breaking_the_signature() -> None:
    wire = _edit_headers(_sdk_signed(**BASE), **{"user-agent": "other", "xyz": "1"})  # type: ignore[arg-type]

    assert wire.verify(EXEC) == EXEC


@pytest.mark.parametrize("presign", [None, 900], ids=["header", "presigned"])
def test_wrong_secret_is_rejected_with_signature_mismatch(presign: int | None) -> None:
    wire = _sdk_signed(presign_seconds=presign)

    with pytest.raises(OssError) as caught:
        wire.verify(Principal(SDK_AK, "another-fake-secret"))

    assert (caught.value.status, caught.value.code) == (403, "SignatureDoesNotMatch")
    assert "another-fake-secret" not in repr(caught.value.__dict__)


def test_tampered_presigned_expiry_is_rejected_with_signature_mismatch() -> None:
    wire = _edit_query(_sdk_signed(presign_seconds=600), "x-oss-expires", "3600")

    with pytest.raises(OssError) as caught:
        wire.verify(EXEC)

    assert caught.value.code == "SignatureDoesNotMatch"


IDENTITY_CASES = {
    "unknown key": (Principal("FAKE-AK-OTHER", SDK_SECRET), None, 403, "InvalidAccessKeyId"),
    "expired sts key": (
        replace(STS, expiration=NOW - timedelta(seconds=1)),
        SDK_TOKEN,
        403,
        "InvalidAccessKeyId",
    ),
    "sts key without token": (STS, None, 403, "InvalidAccessKeyId"),
    "wrong token": (STS, "fake-sts-token-9999", 403, "InvalidSecurityToken"),
    "token on long-term key": (EXEC, SDK_TOKEN, 403, "InvalidSecurityToken"),
}


@pytest.mark.parametrize(
    ("holder", "token", "status", "code"), IDENTITY_CASES.values(), ids=IDENTITY_CASES.keys()
)
def test_identity_problems_are_rejected_as_oss_does(
    holder: Principal, token: str | None, status: int, code: str
) -> None:
    wire = _sdk_signed(token=token)

    with pytest.raises(OssError) as caught:
        wire.verify(holder)

    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize("offset", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_header_request_outside_the_skew_window_is_rejected(offset: timedelta) -> None:
    wire = _sdk_signed()

    with pytest.raises(OssError) as caught:
        wire.verify(EXEC, now=NOW + offset)

    assert (caught.value.status, caught.value.code) == (403, "RequestTimeTooSkewed")
    assert caught.value.extra["MaxAllowedSkewMilliseconds"] == "900000"


def test_header_request_inside_the_skew_window_is_accepted() -> None:
    assert _sdk_signed().verify(EXEC, now=NOW + timedelta(minutes=14)) == EXEC


def test_expired_presigned_url_is_rejected_with_access_denied() -> None:
    wire = _sdk_signed(presign_seconds=600)

    with pytest.raises(OssError) as caught:
        wire.verify(EXEC, now=NOW + timedelta(seconds=601))

    assert (caught.value.status, caught.value.code, caught.value.message) == (
        403,
        "AccessDenied",
        "Request has expired.",
    )


def test_presigned_url_used_long_before_its_date_is_rejected() -> None:
    wire = _sdk_signed(presign_seconds=600)

    with pytest.raises(OssError) as caught:
        wire.verify(EXEC, now=NOW - timedelta(minutes=16))

    assert (caught.value.code, caught.value.ec) == ("AccessDenied", "0002-00000235")


def test_a_bucket_in_another_region_refuses_the_scope_with_invalid_signing_region() -> None:
    wire = _sdk_signed()

    with pytest.raises(OssError) as caught:
        verify_header_auth(
            wire.method,
            "/",
            wire.query,
            wire.headers,
            bucket=wire.bucket,
            key=wire.key,
            lookup=_lookup_for(EXEC),
            now=NOW,
            settings=HeaderAuthSettings(region="cn-shanghai"),
        )

    assert (caught.value.status, caught.value.code, caught.value.message, caught.value.ec) == (
        400, "InvalidArgument", "Invalid signing region in Authorization header.",
        "0002-00000226",
    )


CRED = "OSS4-HMAC-SHA256 Credential=a/"

MALFORMED = {
    "unknown scheme": {"authorization": "Bearer abc"},
    "no credential": {"authorization": "OSS4-HMAC-SHA256 Signature=00"},
    "no signature": {
        "authorization": "OSS4-HMAC-SHA256 Credential=a/20260301/cn-hangzhou/oss/aliyun_v4_request"
    },
    "short credential": {"authorization": "OSS4-HMAC-SHA256 Credential=a/20260301,Signature=00"},
    "bad credential date": {
        "authorization": CRED + "2026-03-01/cn-hangzhou/oss/aliyun_v4_request,Signature=00"
    },
    "garbage field": {"authorization": "OSS4-HMAC-SHA256 nonsense"},
    "bad x-oss-date": {
        "authorization": CRED + "20260301/cn-hangzhou/oss/aliyun_v4_request,Signature=00",
        "x-oss-date": "yesterday",
    },
    "credential date differs from x-oss-date": {
        "authorization": CRED + "20260302/cn-hangzhou/oss/aliyun_v4_request,Signature=00",
        "x-oss-date": "20260301T120000Z",
    },
    "wrong product": {
        "authorization": CRED + "20260301/cn-hangzhou/s3/aliyun_v4_request,Signature=00",
        "x-oss-date": "20260301T120000Z",
    },
}


@pytest.mark.parametrize("headers", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_authorization_is_a_400_invalid_argument(headers: dict[str, str]) -> None:
    headers = {"x-oss-date": "20260301T120000Z", **headers}

    with pytest.raises(OssError) as caught:
        verify_header_auth(
            "GET", "/", [], headers, bucket="b", key="k", lookup=_lookup_for(EXEC), now=NOW
        )

    assert (caught.value.status, caught.value.code) == (400, "InvalidArgument")


MALFORMED_QUERY = {
    "bad version": [("x-oss-signature-version", "OSS2"), ("x-oss-signature", "00")],
    "missing credential": [
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-signature", "00"),
    ],
    "non-numeric expires": [
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-credential", f"{SDK_AK}/20260301/cn-hangzhou/oss/aliyun_v4_request"),
        ("x-oss-date", "20260301T120000Z"),
        ("x-oss-expires", "soon"),
        ("x-oss-signature", "00"),
    ],
    "expires beyond seven days": [
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
        ("x-oss-credential", f"{SDK_AK}/20260301/cn-hangzhou/oss/aliyun_v4_request"),
        ("x-oss-date", "20260301T120000Z"),
        ("x-oss-expires", "604801"),
        ("x-oss-signature", "00"),
    ],
}


@pytest.mark.parametrize("query", MALFORMED_QUERY.values(), ids=MALFORMED_QUERY.keys())
def test_malformed_presigned_query_is_a_400_invalid_argument(query: list[tuple[str, str]]) -> None:
    with pytest.raises(OssError) as caught:
        verify_header_auth(
            "GET", "/", query, {}, bucket="b", key="k", lookup=_lookup_for(EXEC), now=NOW
        )

    assert (caught.value.status, caught.value.code) == (400, "InvalidArgument")
