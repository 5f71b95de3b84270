"""V1 presigned URLs (``OSSAccessKeyId``, ``Expires``, ``Signature``) are verified.

They were once taken as anonymous requests (a private object answered 403, a public one
was served whatever the signature or expiry). Now a valid URL acts as its signer, with
its signer's permissions; an expired, tampered, unknown-key or token-less one is refused
and changes nothing. URLs are made by the official SDK's V1 presigner and sent raw.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.identity import Principal
from tests.localcloud.objectkit import ADMIN, Cloud, principal, sdk_client
from tests.localcloud.signedhttp import Answer

STS = Principal("FAKE-STS-V1-PRESIGN", "fake-sts-v1-secret-0000",
                security_token="fake-token-v1-presign")
READER = principal("v1reader", ("oss:GetObject", "acs:oss:*:*:*"))


def v1_client(ops: Cloud, who: Principal) -> oss.Client:
    ops.identities.add(who)
    return sdk_client(ops.port, who, signature_version="v1")


def presign(ops: Cloud, request: object, who: Principal = ADMIN, *,
            expires_in: timedelta = timedelta(minutes=10)) -> oss.PresignResult:
    expiration = datetime.now(timezone.utc) + expires_in
    return v1_client(ops, who).presign(request, expiration=expiration)


def fetch(url: str, method: str, headers: Mapping[str, str] | None = None,
          body: bytes = b"") -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(method, f"{parts.path}?{parts.query}", body=body or None,
                     headers=dict(headers or {}))
        answer = conn.getresponse()
        return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()},
                      answer.read())
    finally:
        conn.close()


def with_query(url: str, **changes: str | None) -> str:
    """The URL with query parameters replaced (None: removed)."""
    parts = urlsplit(url)
    pairs = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            pairs.pop(name, None)
        else:
            pairs[name] = value
    return parts._replace(query=urlencode(pairs)).geturl()


def test_a_v1_presigned_get_put_and_head_act_as_their_signer(ops: Cloud) -> None:
    ops.put("private.txt", b"private bytes", Content_Type="text/plain")

    got = fetch(presign(ops, oss.GetObjectRequest(bucket=ops.bucket, key="private.txt")).url,
                "GET")
    put = presign(ops, oss.PutObjectRequest(bucket=ops.bucket, key="new.txt",
                                            content_type="text/csv"))
    stored = fetch(put.url, "PUT", put.signed_headers, b"a,b\n")
    head = fetch(presign(ops, oss.HeadObjectRequest(bucket=ops.bucket, key="new.txt")).url,
                 "HEAD")

    assert (got.status, got.body) == (200, b"private bytes")
    assert stored.status == 200
    new = ops.stored("new.txt")
    assert new is not None and (new[0].content_type, new[1]) == ("text/csv", b"a,b\n")
    assert (head.status, head.headers["content-length"]) == (200, "4")


def test_a_v1_presigned_url_of_sts_credentials_carries_its_token(ops: Cloud) -> None:
    ops.put("k", b"v")
    url = presign(ops, oss.GetObjectRequest(bucket=ops.bucket, key="k"), STS).url

    assert "security-token=" in url
    assert fetch(url, "GET").status == 200
    assert fetch(with_query(url, security_token=None), "GET").code == "InvalidAccessKeyId"
    assert fetch(with_query(url, security_token="other"), "GET").code == (
        "InvalidSecurityToken")


def test_a_v1_presigned_url_has_its_signers_permissions(ops: Cloud) -> None:
    ops.put("k", b"v")
    read = presign(ops, oss.GetObjectRequest(bucket=ops.bucket, key="k"), READER).url
    write = presign(ops, oss.PutObjectRequest(bucket=ops.bucket, key="k"), READER)

    assert fetch(read, "GET").status == 200
    assert fetch(write.url, "PUT", write.signed_headers, b"new").status == 403
    assert ops.stored("k") is not None and ops.stored("k")[1] == b"v"  # type: ignore[index]


VALID = timedelta(minutes=10)
REFUSED = {
    "expired": (timedelta(seconds=-5), {}, 403, "AccessDenied", b"Request has expired."),
    "tampered signature": (VALID, {"Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, 403,
                           "SignatureDoesNotMatch", b"StringToSign"),
    "Expires moved later": (VALID, {"Expires": "4102444800"}, 403, "SignatureDoesNotMatch",
                            b"SignatureDoesNotMatch"),
    "unknown AccessKey": (VALID, {"OSSAccessKeyId": "FAKE-AK-NOBODY-V1"}, 403,
                          "InvalidAccessKeyId", b"FAKE-AK-NOBODY-V1"),
    "no Signature": (VALID, {"Signature": None}, 403, "AccessDenied", b"OSSAccessKeyId"),
    "Expires not a number": (VALID, {"Expires": "soon"}, 400, "InvalidArgument", b"Expires"),
}


@pytest.mark.parametrize(("expires_in", "changes", "status", "code", "detail"),
                         REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_v1_presigned_put_is_refused_and_stores_nothing(
    ops: Cloud, expires_in: timedelta, changes: dict[str, str | None],
    status: int, code: str, detail: bytes,
) -> None:
    ops.put("k", b"original")
    signed = presign(ops, oss.PutObjectRequest(bucket=ops.bucket, key="k"),
                     expires_in=expires_in)

    answer = fetch(with_query(signed.url, **changes), "PUT", signed.signed_headers, b"new")

    assert (answer.status, answer.code) == (status, code)
    assert detail in answer.body
    stored = ops.stored("k")
    assert stored is not None and stored[1] == b"original"
