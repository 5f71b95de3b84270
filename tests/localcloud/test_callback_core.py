"""Upload-callback pieces: parsing the ``callback`` field, filling the body, signing it."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.oss.callback import (
    BODY_TYPE_FORM,
    BODY_TYPE_JSON,
    CallbackSpec,
    callback_failed_error,
    parse_callback,
    pub_key_url_header,
    render_callback_body,
    sign_callback,
    verify_callback,
)
from localcloud.oss.errors import OssError
from tests.localcloud.formbuilder import file_part, v4_form
from tests.localcloud.postkit import BUCKET, FIXED_NOW, LONG, make_env, post
from tests.support.callback_vectors import DOC_PUBLIC_KEY, DOC_VECTOR, SECOND_VECTOR


def encoded(doc: Any) -> str:
    text = doc if isinstance(doc, str) else json.dumps(doc)
    return base64.b64encode(text.encode()).decode()


def test_a_full_callback_field_is_parsed() -> None:
    spec = parse_callback(encoded({
        "callbackUrl": "http://127.0.0.1:8080/cb;https://backup.example.test/cb",
        "callbackHost": "app.example.test", "callbackBody": "bucket=${bucket}",
        "callbackBodyType": BODY_TYPE_JSON, "callbackSNI": True,
    }))
    assert spec == CallbackSpec(
        urls=("http://127.0.0.1:8080/cb", "https://backup.example.test/cb"),
        host="app.example.test", body="bucket=${bucket}", body_type=BODY_TYPE_JSON, sni=True)


def test_defaults_and_an_empty_url_meaning_no_callback() -> None:
    spec = parse_callback(encoded({"callbackUrl": "", "callbackBody": "a=${size}"}))
    assert spec == CallbackSpec(urls=(), host=None, body="a=${size}", body_type=BODY_TYPE_FORM,
                                sni=False)


GOOD = {"callbackUrl": "http://127.0.0.1/cb", "callbackBody": "b=${bucket}"}


@pytest.mark.parametrize(
    "value",
    [
        "!!not base64!!",
        encoded("not json"),
        encoded([1, 2]),
        encoded({"callbackBody": "b=${bucket}"}),
        encoded({**GOOD, "callbackUrl": ";".join(f"http://h{i}.test/" for i in range(6))}),
        encoded({**GOOD, "callbackUrl": "http://127.0.0.1:99999/cb"}),
        encoded({**GOOD, "callbackUrl": "ftp://127.0.0.1/cb"}),
        encoded({**GOOD, "callbackBody": ""}),
        encoded({**GOOD, "callbackBodyType": "text/plain"}),
        encoded({**GOOD, "callbackBody": "b=${bucket"}),
        encoded({**GOOD, "callbackBody": "b=${nosuchvar}"}),
        encoded({**GOOD, "callbackSNI": "maybe"}),
        encoded({**GOOD, "callbackHost": 7}),
    ],
    ids=["base64", "json", "array", "no-url", "six-urls", "bad-port", "scheme", "empty-body",
         "body-type", "unterminated-var", "unknown-var", "sni", "host-type"],
)
def test_invalid_callback_fields_are_400_invalid_argument(value: str) -> None:
    with pytest.raises(OssError) as caught:
        parse_callback(value)
    error = caught.value
    assert (error.status, error.code, error.message, error.extra) == (
        400, "InvalidArgument", "The callback configuration is not json format.",
        {"ArgumentName": "callback", "ArgumentValue": ""})


DOC_VARIABLES = {
    "bucket": "callback-test", "object": "test.txt", "etag": "D8E8FCA2DC0F896FD7CB4CB0031BA249",
    "size": "5", "mimeType": "text/plain", "imageInfo.height": "", "imageInfo.width": "",
    "imageInfo.format": "", "x:var1": "for-callback-test",
}


def test_form_body_reproduces_the_documented_callback_request() -> None:
    body = ("bucket=${bucket}&object=${object}&etag=${etag}&size=${size}&mimeType=${mimeType}"
            "&imageInfo.height=${imageInfo.height}&imageInfo.width=${imageInfo.width}"
            "&imageInfo.format=${imageInfo.format}&x:var1=${x:var1}")
    spec = CallbackSpec(urls=("http://h/",), host=None, body=body, body_type=BODY_TYPE_FORM,
                        sni=False)
    assert render_callback_body(spec, DOC_VARIABLES) == (
        b"bucket=callback-test&object=test.txt&etag=D8E8FCA2DC0F896FD7CB4CB0031BA249&size=5"
        b"&mimeType=text%2Fplain&imageInfo.height=&imageInfo.width=&imageInfo.format="
        b"&x:var1=for-callback-test")


def test_json_body_quotes_bare_placeholders_and_escapes_quoted_ones() -> None:
    spec = CallbackSpec(urls=("http://h/",), host=None,
                        body='{"bucket":${bucket},"object":"${object}","v":${x:var1}}',
                        body_type=BODY_TYPE_JSON, sni=False)
    rendered = render_callback_body(spec, {"bucket": "b", "object": 'say "hi"/\u56fe',
                                           "x:var1": "1"})
    assert json.loads(rendered) == {"bucket": "b", "object": 'say "hi"/\u56fe', "v": "1"}


def test_a_fresh_key_signs_callbacks_that_verify_and_tampering_breaks_them() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    signature = sign_callback(key, "/cb%20path", "a=1", b"bucket=b")
    assert verify_callback(pem, "/cb%20path", "?a=1", b"bucket=b", signature)
    assert not verify_callback(pem, "/cb%20path", "?a=1", b"bucket=c", signature)
    assert not verify_callback(pem, "/other", "?a=1", b"bucket=b", signature)


@pytest.mark.parametrize("vector", [DOC_VECTOR, SECOND_VECTOR], ids=["doc", "second"])
def test_published_oss_callback_signatures_verify_with_our_recipe(vector: dict[str, Any]) -> None:
    # The emulator's verify takes the query with its "?" (as it appears in the URL).
    path, body, authorization = vector["path"], vector["body"], vector["authorization"]
    query = f"?{vector['query']}" if vector["query"] else ""
    assert verify_callback(DOC_PUBLIC_KEY, path, query, body, authorization)
    assert not verify_callback(DOC_PUBLIC_KEY, path, query, body + b" ", authorization)


def test_public_key_url_header_is_base64_of_the_url() -> None:
    assert pub_key_url_header("http://gosspublic.alicdn.com/callback_pub_key_v1.pem") == (
        "aHR0cDovL2dvc3NwdWJsaWMuYWxpY2RuLmNvbS9jYWxsYmFja19wdWJfa2V5X3YxLnBlbQ==")


def test_callback_failure_is_203_callback_failed_with_its_ec() -> None:
    error = callback_failed_error("Error status : 502.")
    assert (error.status, error.code, error.message, error.ec) == (
        203, "CallbackFailed", "Error status : 502.", "0007-00000203")


def test_a_form_callback_reaches_the_upload_with_its_variables(tmp_path: Path) -> None:
    value = encoded({**GOOD, "callbackBody": "b=${bucket}&v=${x:var1}"})
    parts = [*v4_form(LONG, FIXED_NOW, BUCKET,
                      extra_fields=[("callback", value), ("x:var1", "one")]), file_part(b"x")]
    upload = post(make_env(tmp_path), parts)
    upload.temp_path.unlink()
    assert upload.callback == parse_callback(value)
    assert upload.callback_vars == {"x:var1": "one"}
    empty = encoded({"callbackUrl": "", "callbackBody": "b=${bucket}"})
    parts = [*v4_form(LONG, FIXED_NOW, BUCKET, extra_fields=[("callback", empty)]),
             file_part(b"x")]
    upload = post(make_env(tmp_path), parts)
    upload.temp_path.unlink()
    assert upload.callback is None
