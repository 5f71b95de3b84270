"""DeleteMultipleObjects (``POST /?delete``): all or nothing, verbose or quiet, as OSS."""

from __future__ import annotations

import base64
import hashlib
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import pytest

from tests.localcloud.objectkit import Cloud, principal
from tests.localcloud.signedhttp import Call


def md5_of(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def delete_body(*keys: str, quiet: bool | None = None) -> bytes:
    parts = ["<Delete>"]
    if quiet is not None:
        parts.append(f"<Quiet>{'true' if quiet else 'false'}</Quiet>")
    parts += [f"<Object><Key>{key}</Key></Object>" for key in keys]
    return ("".join(parts) + "</Delete>").encode()


def delete_call(ops: Cloud, body: bytes, *, md5: str | None = None,
                query: dict[str, str] | None = None) -> Call:
    headers = {"Content-Type": "application/xml", "Content-MD5": md5 or md5_of(body)}
    return Call("POST", ops.bucket, "", {"delete": "", **(query or {})}, headers, body)


def deleted_keys(body: bytes) -> tuple[str, list[str], list[str]]:
    root = ElementTree.fromstring(body)
    return (root.tag, [e.text or "" for e in root.findall("EncodingType")],
            [e.text or "" for e in root.findall("Deleted/Key")])


def test_verbose_mode_lists_every_key_including_missing_ones(ops: Cloud) -> None:
    for key in ("a", "b/c", "keep"):
        ops.put(key, key.encode())

    answer = ops.send(delete_call(ops, delete_body("a", "b/c", "never-existed")))

    assert (answer.status, answer.headers["content-type"]) == (200, "application/xml")
    assert deleted_keys(answer.body) == ("DeleteResult", [], ["a", "b/c", "never-existed"])
    assert ops.keys() == ["keep"]


def test_quiet_mode_answers_no_body_when_every_delete_succeeded(ops: Cloud) -> None:
    ops.put("a", b"a")
    answer = ops.send(delete_call(ops, delete_body("a", quiet=True)))
    assert (answer.status, answer.body) == (200, b"")
    assert ops.keys() == []


def test_url_encoding_type_encodes_the_keys_in_the_answer(ops: Cloud) -> None:
    ops.put("dir/a b&c", b"x")
    answer = ops.send(delete_call(ops, delete_body("dir/a b&amp;c"),
                                  query={"encoding-type": "url"}))
    assert deleted_keys(answer.body) == ("DeleteResult", ["url"], ["dir%2Fa%20b%26c"])
    assert ops.keys() == []


def test_keys_with_control_characters_arrive_as_character_references(ops: Cloud) -> None:
    # XML 1.0 cannot carry U+0001..U+001F even as references; OSS's SDKs send them so
    # (alibabacloud-oss-v2 writes &#01;) and OSS reads them.
    controls = "".join(map(chr, range(1, 32)))
    ops.put("a" + controls, b"x")
    ops.put("keep\x7e", b"y")

    sdk = ops.client().delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=ops.bucket, encoding_type="url", objects=[oss.DeleteObject(key="a" + controls)]))
    hex_reference = ops.send(delete_call(ops, delete_body("keep&#x7e;")))

    assert [d.key for d in sdk.deleted_objects] == ["a" + controls]
    assert hex_reference.status == 200
    assert ops.keys() == []


def test_a_literal_private_use_stand_in_is_not_read_as_a_control_character(
    ops: Cloud,
) -> None:
    ops.put("a\x01", b"x")
    answer = ops.send(delete_call(ops, delete_body("a\U000f0001")))
    assert (answer.status, answer.code) == (400, "MalformedXML")
    assert ops.keys() == ["a\x01"]


def test_the_official_sdk_deletes_a_batch(ops: Cloud) -> None:
    keys = ["x/1", "x/2 two", "x/三"]
    client = ops.client()
    for key in keys:
        client.put_object(oss.PutObjectRequest(bucket=ops.bucket, key=key, body=b"v"))

    result = client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=ops.bucket, objects=[oss.DeleteObject(key=key) for key in keys]))

    assert sorted(d.key or "" for d in result.deleted_objects or []) == sorted(keys)
    assert ops.keys() == []


BODY = delete_body("a")
REFUSALS = {
    "no Content-MD5": (BODY, "", 400, "MissingArgument"),
    "wrong Content-MD5": (BODY, md5_of(b"other"), 400, "InvalidDigest"),
    "not XML": (b"<Delete><Object>", None, 400, "MalformedXML"),
    "another root": (b"<Remove><Object><Key>a</Key></Object></Remove>", None, 400,
                     "MalformedXML"),
    "no objects": (b"<Delete><Quiet>true</Quiet></Delete>", None, 400, "MalformedXML"),
    "quiet not a boolean": (b"<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object>"
                            b"</Delete>", None, 400, "MalformedXML"),
    "a DTD": (b'<!DOCTYPE d [<!ENTITY e "a">]><Delete><Object><Key>&e;</Key></Object>'
              b"</Delete>", None, 400, "MalformedXML"),
    "1001 objects": (delete_body(*(f"k{i}" for i in range(1001))), None, 400,
                     "MalformedXML"),
    "over 2 MB": (delete_body("a") + b" " * (2 * 1024 * 1024), None, 400, "MalformedXML"),
    "an object without a key": (b"<Delete><Object><Key>a</Key></Object><Object></Object>"
                                b"</Delete>", None, 400, "UserKeyMustBeSpecified"),
    "a version": (b"<Delete><Object><Key>a</Key><VersionId>CAEQ</VersionId></Object>"
                  b"</Delete>", None, 501, "NotImplemented"),
    "an invalid key": (delete_body("a", "/leading-slash"), None, 400, "InvalidObjectName"),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
def test_a_refused_batch_deletes_nothing(
    ops: Cloud, case: tuple[bytes, str | None, int, str]
) -> None:
    body, md5, status, code = case
    ops.put("a", b"a")
    call = delete_call(ops, body, md5=md5)
    if md5 == "":
        call = Call(call.method, call.bucket, "", call.query,
                    {"Content-Type": "application/xml"}, body)

    answer = ops.send(call)

    assert (answer.status, answer.code) == (status, code)
    assert ops.keys() == ["a"]


def test_a_batch_partly_outside_the_callers_policy_deletes_nothing(ops: Cloud) -> None:
    for key in ("mine/1", "theirs/1"):
        ops.put(key, b"v")
    deleter = principal("deleter", ("oss:DeleteObject", f"acs:oss:*:*:{ops.bucket}/mine/*"))
    ops.identities.add(deleter)

    refused = ops.send(delete_call(ops, delete_body("mine/1", "theirs/1")), deleter)
    allowed = ops.send(delete_call(ops, delete_body("mine/1")), deleter)

    assert (refused.status, refused.code, allowed.status) == (403, "AccessDenied", 200)
    assert ops.keys() == ["theirs/1"]


def test_anonymous_batch_delete_on_a_private_bucket_is_denied_before_the_body(
    ops: Cloud,
) -> None:
    ops.put("a", b"a")
    answer = ops.send(delete_call(ops, b"not even xml", md5="bogus"), None)
    assert (answer.status, answer.code) == (403, "AccessDenied")
    assert ops.keys() == ["a"]
