"""V4 query signing (presigned URLs): the SDK's known answers and the multipart vectors.

Vectors from oss-multipart.md §3.4: the first three are alibabacloud-oss-python-sdk-v2's
``tests/unit/signer/test_v4.py`` (``test_auth_query``, ``..._with_token``,
``..._with_additional_headers``); the multipart ones were computed with the SDK's SignerV4
and an independent implementation, which agree.
"""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import parse_qsl

import pytest
from uploadsign import policy
from uploadsign.credentials import TemporaryCredentials

SDK_QUERY = {"param1": "value1", "+param1": "value3", "|param1": "value4", "+param2": "",
             "|param2": "", "param2": ""}
#: abc, ZAbc and XYZ are present but signed only when listed as additional headers.
SDK_HEADERS = {"x-oss-head1": "value", "content-type": "application/octet-stream",
               "abc": "value", "ZAbc": "value", "XYZ": "value"}
SDK_URI = "/bucket/1234+-/123/1.txt"
UPLOAD_ID = "0004B9895DBBB6EC9"
MULTIPART_URI = "/bucket/dir/a b.bin"


def creds(token: str = "") -> TemporaryCredentials:
    return TemporaryCredentials("ak", "sk", token, datetime(2030, 1, 1, tzinfo=timezone.utc))


def at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, timezone.utc)


def signature_of(query: str) -> str:
    last_name, last_value = parse_qsl(query, keep_blank_values=True)[-1]
    assert last_name == "x-oss-signature"  # appended last, outside the canonical query
    return last_value


@pytest.mark.parametrize(
    ("unix", "token", "additional", "expected"),
    [
        pytest.param(1702781677, "", (),
                     "a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe",
                     id="test_auth_query"),
        pytest.param(1702785388, "token", (),
                     "3817ac9d206cd6dfc90f1c09c00be45005602e55898f26f5ddb06d7892e1f8b5",
                     id="test_auth_query_with_token"),
        pytest.param(1702783809, "", ("ZAbc", "abc"),
                     "6bd984bfe531afb6db1f7550983a741b103a8c58e5e14f83ea474c2322dfa2b7",
                     id="test_auth_query_with_additional_headers"),
    ],
)
def test_presigned_query_matches_the_sdk_known_answers(
    unix: int, token: str, additional: tuple[str, ...], expected: str
) -> None:
    query = policy.presign_query(
        "PUT", SDK_URI, query=SDK_QUERY, headers=SDK_HEADERS, additional=additional,
        creds=creds(token), now=at(unix), region="cn-hangzhou", expires_seconds=599,
    )
    assert signature_of(query) == expected


def test_canonical_request_of_the_sdk_vector_is_the_documented_one() -> None:
    params = {**SDK_QUERY, "x-oss-signature-version": "OSS4-HMAC-SHA256",
              "x-oss-credential": "ak/20231217/cn-hangzhou/oss/aliyun_v4_request",
              "x-oss-date": "20231217T025437Z", "x-oss-expires": "599"}
    assert policy.canonical_request("PUT", SDK_URI, params, SDK_HEADERS, ()) == (
        "PUT\n/bucket/1234%2B-/123/1.txt\n"
        "%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2&"
        "x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&"
        "x-oss-date=20231217T025437Z&x-oss-expires=599&x-oss-signature-version=OSS4-HMAC-SHA256\n"
        "content-type:application/octet-stream\nx-oss-head1:value\n\n\nUNSIGNED-PAYLOAD"
    )


def test_additional_headers_are_listed_lower_case_sorted_in_the_query() -> None:
    query = dict(parse_qsl(policy.presign_query(
        "PUT", SDK_URI, query={}, headers=SDK_HEADERS, additional=("ZAbc", "abc", "x-oss-head1"),
        creds=creds(), now=at(1702783809), region="cn-hangzhou", expires_seconds=599,
    )))
    # x-oss-* is signed by default, so the SDKs drop it from the list.
    assert query["x-oss-additional-headers"] == "abc;zabc"


@pytest.mark.parametrize(
    ("method", "query", "headers", "expected"),
    [
        pytest.param("POST", {"uploads": ""}, {"content-type": "video/mp4"},
                     "c8cec20c19e309cdc6f038aecf79029e1cf50ec0a526f0b6237d000758e38b47",
                     id="initiate"),
        pytest.param("PUT", {"partNumber": "1", "uploadId": UPLOAD_ID}, {},
                     "b967c489b2d8fd1182ca4526d9140cd7364aad601836861c31813d7891a5ca06",
                     id="upload-part"),
        pytest.param("POST", {"uploadId": UPLOAD_ID}, {"content-type": "application/xml"},
                     "2d31765b61634c5b09ad92d46325788c4f33abadb90c4b483755f46541afc67a",
                     id="complete"),
        pytest.param("DELETE", {"uploadId": UPLOAD_ID}, {},
                     "3740562d71f88005bedc3a7e8c4a05947f1ff152b86ce6817b8edcbbd56bfb91",
                     id="abort"),
    ],
)
def test_presigned_multipart_calls_match_the_reference_vectors(
    method: str, query: dict[str, str], headers: dict[str, str], expected: str
) -> None:
    signed = policy.presign_query(
        method, MULTIPART_URI, query=query, headers=headers, additional=(), creds=creds(),
        now=at(1702781677), region="cn-hangzhou", expires_seconds=3600,
    )
    assert signature_of(signed) == expected


def test_a_valueless_subresource_is_written_bare_and_the_token_is_signed() -> None:
    signed = policy.presign_query(
        "POST", MULTIPART_URI, query={"uploads": ""}, headers={}, additional=(),
        creds=creds("FAKE/token+="), now=at(1702781677), region="cn-hangzhou",
        expires_seconds=60,
    )
    assert "&uploads&" in f"&{signed}&"
    assert "x-oss-security-token=FAKE%2Ftoken%2B%3D" in signed
    unsigned = policy.presign_query(
        "POST", MULTIPART_URI, query={"uploads": ""}, headers={}, additional=(),
        creds=creds("FAKE/other"), now=at(1702781677), region="cn-hangzhou", expires_seconds=60,
    )
    assert signature_of(signed) != signature_of(unsigned)
