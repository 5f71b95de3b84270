"""The credential scope must be the bucket's on every signed path, or OSS's error answers.

A V4 credential is ``<AccessKeyId>/<YYYYMMDD>/<region>/oss/aliyun_v4_request``. Every
emulated bucket lives in the local cloud's region (cn-hangzhou). A scope naming another
region (``cn-beijing``), the endpoint-style name (``oss-cn-hangzhou``), another product,
another terminator or another day than ``x-oss-date`` is refused, before the key is even
looked up, on PostObject V4, header V4 and presigned V4 alike; V1 carries no scope.

Errors: PostObject region 0002-00000715 (documented response), product 0002-00000716
(wording modelled on 715); header region 0002-00000226 and product 0002-00000227 (real
responses); presigned region 0002-00000228 with "query string" (UNCONFIRMED), product
without EC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import alibabacloud_oss_v2 as oss
import pytest
from alibabacloud_oss_v2.credentials import StaticCredentialsProvider
from alibabacloud_oss_v2.signer import SignerV4
from alibabacloud_oss_v2.types import HttpRequest, SigningContext

from localcloud.config import REGION
from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.oss.errors import OssError
from localcloud.oss.headerauth import HeaderAuthSettings, verify_header_auth
from localcloud.oss.postobject.signature import AuthRules, authenticate
from tests.e2e.forms import post_form, request
from tests.localcloud.formbuilder import (
    Part,
    Signer,
    field,
    file_part,
    v4_form,
)
from tests.localcloud.objectkit import sdk_client
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, identities, make_env, post
from tests.localcloud.signedhttp import error_fields

Expected = tuple[int, str, str, str | None]

POST_REGION = "The signing region in credential is invalid."
POST_PRODUCT = "The signing product in credential is invalid."
HEADER_REGION = (400, "InvalidArgument", "Invalid signing region in Authorization header.",
                 "0002-00000226")
HEADER_PRODUCT = (400, "InvalidArgument", "Invalid signing product in Authorization header.",
                  "0002-00000227")
QUERY_REGION = (400, "InvalidArgument", "Invalid signing region in query string.",
                "0002-00000228")
QUERY_PRODUCT = (400, "InvalidArgument", "Invalid signing product in query string.", None)
OTHER_REGIONS = ("cn-beijing", "oss-cn-hangzhou", "beijing", "CN-HANGZHOU",
                 "cn-hangzhou-internal")


def _refusal(error: OssError) -> Expected:
    return error.status, error.code, error.message, error.ec


def test_the_local_cloud_region_is_cn_hangzhou() -> None:
    assert REGION == "cn-hangzhou"


# --- PostObject V4 -------------------------------------------------------------------------

def _credential(region: str = REGION, product: str = "oss", terminator: str = "aliyun_v4_request",
                date: str = f"{FIXED_NOW:%Y%m%d}", ak: str = LONG.access_key_id) -> str:
    return f"{ak}/{date}/{region}/{product}/{terminator}"


def _with_credential(parts: list[Part], credential: str) -> list[Part]:
    return [field("x-oss-credential", credential) if p.name == "x-oss-credential" else p
            for p in parts]


@pytest.mark.parametrize("region", OTHER_REGIONS)
def test_a_form_signed_for_another_region_is_refused_and_nothing_is_spooled(
    tmp_path: Path, region: str
) -> None:
    env = make_env(tmp_path)
    signer = Signer(LONG.access_key_id, LONG.secret, region=region)

    with pytest.raises(OssError) as caught:
        post(env, [*v4_form(signer, FIXED_NOW, BUCKET), file_part(b"x")])

    assert _refusal(caught.value) == (400, "InvalidArgument", POST_REGION, "0002-00000715")
    assert caught.value.extra == {"ArgumentName": "x-oss-credential",
                                  "ArgumentValue": _credential(region=region)}
    assert env.spooled() == []


FORM_SCOPES: dict[str, tuple[str, Expected]] = {
    "product-s3": (_credential(product="s3"),
                   (400, "InvalidArgument", POST_PRODUCT, "0002-00000716")),
    "product-upper-case": (_credential(product="OSS"),
                           (400, "InvalidArgument", POST_PRODUCT, "0002-00000716")),
    "terminator-aws4": (_credential(terminator="aws4_request"),
                        (400, "InvalidArgument",
                         f"Invalid x-oss-credential: '{_credential(terminator='aws4_request')}'.",
                         "0002-00000710")),
    "date-differs-from-x-oss-date": (
        _credential(date="20261127"),
        (400, "InvalidArgument", "The date in x-oss-credential does not match x-oss-date.",
         "0002-00000709")),
    # The scope is checked before the key is looked up: the region error, not
    # InvalidAccessKeyId.
    "unknown-key-and-other-region": (
        _credential(region="cn-beijing", ak="FAKE-AK-NOBODY"),
        (400, "InvalidArgument", POST_REGION, "0002-00000715")),
}


@pytest.mark.parametrize(("credential", "expected"), FORM_SCOPES.values(),
                         ids=FORM_SCOPES.keys())
def test_a_form_whose_scope_is_not_the_buckets_is_refused(
    tmp_path: Path, credential: str, expected: Expected
) -> None:
    env = make_env(tmp_path)
    parts = _with_credential([*v4_form(LONG, FIXED_NOW, BUCKET), file_part(b"x")], credential)

    with pytest.raises(OssError) as caught:
        post(env, parts)

    assert _refusal(caught.value) == expected
    assert env.spooled() == []


def test_a_form_signed_for_the_buckets_region_is_accepted(tmp_path: Path) -> None:
    upload = post(make_env(tmp_path), [*v4_form(LONG, FIXED_NOW, BUCKET), file_part(b"x")])
    upload.temp_path.unlink()
    assert upload.access_key_id == LONG.access_key_id


def test_the_form_region_rule_can_be_relaxed_to_any_region() -> None:
    signer = Signer(LONG.access_key_id, LONG.secret, region="cn-beijing")
    fields = {p.name.lower(): p.value.decode() for p in v4_form(signer, FIXED_NOW, BUCKET)}
    rules = AuthRules(timedelta(minutes=15), timedelta(days=7), False, True, region=None)

    auth = authenticate(fields, FIXED_NOW, identities().lookup, rules)

    assert auth is not None and auth.principal.access_key_id == LONG.access_key_id


# --- over HTTP: the field case's kind, as a client sees it ----------------------------------

SDK_BUCKET = "scope-bucket"
ADMIN = Principal("FAKE-AK-SCOPE-ADMIN", "fake-scope-secret-0000")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    store = identities()
    store.add(ADMIN)
    emu = Emulator.start(tmp_path_factory.mktemp("scope"), lookup=store.lookup)
    emu.buckets.put(BucketConfig(name=SDK_BUCKET))
    try:
        yield emu
    finally:
        emu.stop()


def client_for(emu: Emulator, region: str, version: str = "v4") -> oss.Client:
    return sdk_client(emu.port, ADMIN, region=region, signature_version=version)


def stored(emu: Emulator, key: str) -> bool:
    return bool(client_for(emu, REGION).is_object_exist(SDK_BUCKET, key))


@pytest.mark.parametrize("region", ["cn-beijing", "oss-cn-hangzhou"])
def test_a_posted_form_for_another_region_gets_osss_xml_and_nothing_is_stored(
    emulator: Emulator, region: str
) -> None:
    now = datetime.now(timezone.utc)
    signer = Signer(LONG.access_key_id, LONG.secret, region=region)
    key = f"uploads/post-{region}"
    parts = [*v4_form(signer, now, SDK_BUCKET, key=key), file_part(b"x")]

    status, headers, answer = post_form(f"{emulator.url}/{SDK_BUCKET}", parts)

    fields = error_fields(answer)
    assert (status, fields["Code"], fields["Message"], fields["EC"]) == (
        400, "InvalidArgument", POST_REGION, "0002-00000715")
    assert (fields["ArgumentName"], fields["ArgumentValue"]) == (
        "x-oss-credential", f"{LONG.access_key_id}/{now:%Y%m%d}/{region}/oss/aliyun_v4_request")
    assert headers["x-oss-ec"] == "0002-00000715"
    assert not stored(emulator, key)


@pytest.mark.parametrize("region", ["cn-beijing", "oss-cn-hangzhou", "beijing"])
def test_the_sdk_signing_headers_for_another_region_is_refused_and_nothing_is_stored(
    emulator: Emulator, region: str
) -> None:
    key = f"sdk-header-{region}"

    with pytest.raises(oss.exceptions.OperationError) as caught:
        client_for(emulator, region).put_object(
            oss.PutObjectRequest(bucket=SDK_BUCKET, key=key, body=b"x"))

    error = caught.value.unwrap()
    assert isinstance(error, oss.exceptions.ServiceError)
    assert (error.status_code, error.code, error.message, error.ec) == HEADER_REGION
    assert not stored(emulator, key)


@pytest.mark.parametrize("region", ["cn-beijing", "oss-cn-hangzhou"])
def test_a_url_presigned_for_another_region_is_refused(emulator: Emulator, region: str) -> None:
    client_for(emulator, REGION).put_object(
        oss.PutObjectRequest(bucket=SDK_BUCKET, key="presigned", body=b"x"))
    presigned = client_for(emulator, region).presign(
        oss.GetObjectRequest(bucket=SDK_BUCKET, key="presigned"),
        expires=timedelta(minutes=5))

    status, headers, body = request("GET", presigned.url)

    fields = error_fields(body)
    assert (status, fields["Code"], fields["Message"], fields.get("EC")) == QUERY_REGION
    assert headers["x-oss-ec"] == QUERY_REGION[3]


def test_v1_signatures_carry_no_scope_so_the_client_region_does_not_matter(
    emulator: Emulator,
) -> None:
    client = client_for(emulator, "cn-beijing", version="v1")

    client.put_object(oss.PutObjectRequest(bucket=SDK_BUCKET, key="v1-any-region", body=b"x"))

    assert stored(emulator, "v1-any-region")


def test_the_sdk_signing_for_the_buckets_region_is_accepted(emulator: Emulator) -> None:
    client_for(emulator, REGION).put_object(
        oss.PutObjectRequest(bucket=SDK_BUCKET, key="right-region", body=b"x"))

    assert stored(emulator, "right-region")


# --- header and presigned V4: every part of the scope (the verifier core) ------------------

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def _lookup() -> Callable[[str], Principal | None]:
    return IdentityStore([ADMIN]).lookup


def sdk_signed(*, region: str = REGION, product: str = "oss", presign: bool = False,
               ) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """A GET signed in-process by the official SDK; return (query pairs, lower-case headers)."""
    req = HttpRequest("GET", f"http://{SDK_BUCKET}.oss-{REGION}.aliyuncs.com/{quote('k')}")
    context = SigningContext(
        product=product, region=region, bucket=SDK_BUCKET, key="k", request=req,
        credentials=StaticCredentialsProvider(ADMIN.access_key_id,
                                              ADMIN.access_key_secret).get_credentials(),
        signing_time=NOW,
    )
    if presign:
        context.auth_method_query = True
        context.expiration_time = NOW + timedelta(minutes=5)
    SignerV4().sign(context)
    query = parse_qsl(urlsplit(req.url).query, keep_blank_values=True)
    return query, {k.lower(): v for k, v in req.headers.items()}


def verify(query: list[tuple[str, str]], headers: dict[str, str],
           settings: HeaderAuthSettings | None = None) -> Principal | None:
    return verify_header_auth("GET", "/", query, headers, bucket=SDK_BUCKET, key="k",
                              lookup=_lookup(), now=NOW,
                              settings=settings or HeaderAuthSettings())


def _edit_header_credential(old: str, new: str) -> Callable[[], tuple[list[tuple[str, str]],
                                                                      dict[str, str]]]:
    def build() -> tuple[list[tuple[str, str]], dict[str, str]]:
        query, headers = sdk_signed()
        headers["authorization"] = headers["authorization"].replace(old, new)
        return query, headers
    return build


def _edit_query_credential(old: str, new: str) -> Callable[[], tuple[list[tuple[str, str]],
                                                                     dict[str, str]]]:
    def build() -> tuple[list[tuple[str, str]], dict[str, str]]:
        query, headers = sdk_signed(presign=True)
        return [(k, v.replace(old, new) if k == "x-oss-credential" else v)
                for k, v in query], headers
    return build


SIGNED_SCOPES: dict[str, tuple[Callable[[], tuple[list[tuple[str, str]], dict[str, str]]],
                               Expected]] = {
    "header-region-cn-beijing": (lambda: sdk_signed(region="cn-beijing"), HEADER_REGION),
    "header-region-endpoint-style": (lambda: sdk_signed(region="oss-cn-hangzhou"),
                                     HEADER_REGION),
    "header-product-s3": (lambda: sdk_signed(product="s3"), HEADER_PRODUCT),
    "header-terminator-aws4": (
        _edit_header_credential("/aliyun_v4_request", "/aws4_request"),
        (400, "InvalidArgument",
         f"Invalid credential: '{ADMIN.access_key_id}/20260301/cn-hangzhou/oss/aws4_request'",
         "0002-00000213")),
    "header-date-differs-from-x-oss-date": (
        _edit_header_credential("/20260301/", "/20260228/"),
        (400, "InvalidArgument", "The date in x-oss-credential does not match x-oss-date.",
         "0002-00000223")),
    "query-region-cn-beijing": (lambda: sdk_signed(region="cn-beijing", presign=True),
                                QUERY_REGION),
    "query-region-endpoint-style": (lambda: sdk_signed(region="oss-cn-hangzhou", presign=True),
                                    QUERY_REGION),
    "query-product-s3": (lambda: sdk_signed(product="s3", presign=True), QUERY_PRODUCT),
    "query-terminator-aws4": (
        _edit_query_credential("/aliyun_v4_request", "/aws4_request"),
        (400, "InvalidArgument",
         f"Invalid credential: '{ADMIN.access_key_id}/20260301/cn-hangzhou/oss/aws4_request'",
         "0002-00000224")),
    "query-date-differs-from-x-oss-date": (
        _edit_query_credential("/20260301/", "/20260228/"),
        (400, "InvalidArgument", "The date in x-oss-credential does not match x-oss-date.",
         "0002-00000223")),
}


@pytest.mark.parametrize(("build", "expected"), SIGNED_SCOPES.values(),
                         ids=SIGNED_SCOPES.keys())
def test_a_signed_request_whose_scope_is_not_the_buckets_is_refused(
    build: Callable[[], tuple[list[tuple[str, str]], dict[str, str]]], expected: Expected
) -> None:
    query, headers = build()

    with pytest.raises(OssError) as caught:
        verify(query, headers)

    assert _refusal(caught.value) == expected


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
def test_the_buckets_own_scope_is_accepted(presign: bool) -> None:
    assert verify(*sdk_signed(presign=presign)) == ADMIN


@pytest.mark.parametrize("presign", [False, True], ids=["header", "query"])
def test_the_region_rule_can_be_relaxed_to_any_region(presign: bool) -> None:
    query, headers = sdk_signed(region="cn-beijing", presign=presign)

    assert verify(query, headers, HeaderAuthSettings(region=None)) == ADMIN
