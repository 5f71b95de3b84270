"""Object tags: set on upload, read, replaced, removed and copied as OSS documents.

A tag change keeps the object's bytes, metadata and Last-Modified; tags OSS's rules
refuse (more than 10, a key over 128 or a value over 256 characters, a character
outside letters, digits, space and ``+ - = . _ : /``, a repeated key, a header pair that
is not ``key`` or ``key=value``) are 400 InvalidTag with the EC of OSS's error pages,
and nothing changes.
"""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import pytest

from tests.localcloud.objectkit import Cloud
from tests.localcloud.signedhttp import Call


def tags_of(ops: Cloud, key: str) -> dict[str, str]:
    result = ops.client().get_object_tagging(oss.GetObjectTaggingRequest(
        bucket=ops.bucket, key=key))
    return {str(t.key): str(t.value) for t in result.tag_set.tags or []}


def test_tags_set_on_upload_are_read_replaced_and_removed(ops: Cloud) -> None:
    client = ops.client()
    client.put_object(oss.PutObjectRequest(bucket=ops.bucket, key="k", body=b"data",
                                           tagging="stage=draft&team=a%20b",
                                           metadata={"owner": "alice"}))
    before = ops.stored("k")
    head = client.head_object(oss.HeadObjectRequest(bucket=ops.bucket, key="k"))

    read = tags_of(ops, "k")
    client.put_object_tagging(oss.PutObjectTaggingRequest(
        bucket=ops.bucket, key="k", tagging=oss.Tagging(tag_set=oss.TagSet(
            tags=[oss.Tag(key="stage", value="final")]))))
    replaced = tags_of(ops, "k")
    client.delete_object_tagging(oss.DeleteObjectTaggingRequest(bucket=ops.bucket, key="k"))
    after = ops.stored("k")

    assert (head.tagging_count, read, replaced) == (
        2, {"stage": "draft", "team": "a b"}, {"stage": "final"})
    assert tags_of(ops, "k") == {}
    assert before is not None and after is not None
    assert (after[0].last_modified, after[0].metadata, after[1]) == (
        before[0].last_modified, before[0].metadata, before[1])


def test_a_copy_keeps_the_source_tags_or_takes_the_requests(ops: Cloud) -> None:
    ops.put("src", b"data", x_oss_tagging="a=1")

    for directive, key in (("", "kept"), ("REPLACE", "replaced"), ("Replace", "again")):
        headers = {"x-oss-copy-source": f"/{ops.bucket}/src", "x-oss-tagging": "b=2"}
        if directive:
            headers["x-oss-tagging-directive"] = directive
        assert ops.send(Call("PUT", ops.bucket, key, headers=headers)).status == 200

    assert [tags_of(ops, k) for k in ("kept", "replaced", "again")] == [
        {"a": "1"}, {"b": "2"}, {"b": "2"}]


REFUSED_HEADERS = {
    "a pair with two =": ("a=b=c", "0010-00000219"),
    "eleven tags": ("&".join(f"k{n}=v" for n in range(11)), "0010-00000217"),
    "a key of 129 characters": ("k" * 129 + "=v", "0010-00000217"),
    "a value of 257 characters": ("k=" + "v" * 257, "0010-00000217"),
    "a character OSS does not allow": ("k=%3Cscript%3E", "0010-00000217"),
    "a key twice": ("k=1&k=2", "0010-00000217"),
    "an empty key": ("=v", "0010-00000217"),
}


@pytest.mark.parametrize(("header", "ec"), REFUSED_HEADERS.values(),
                         ids=REFUSED_HEADERS.keys())
def test_a_put_with_tags_oss_refuses_stores_nothing(ops: Cloud, header: str, ec: str) -> None:
    answer = ops.send(Call("PUT", ops.bucket, "k", headers={"x-oss-tagging": header},
                           body=b"data"))

    assert (answer.status, answer.code, answer.headers.get("x-oss-ec")) == (
        400, "InvalidTag", ec)
    assert ops.keys() == []


def _tagging(*pairs: tuple[str, str]) -> bytes:
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f"<Tagging><TagSet>{tags}</TagSet></Tagging>".encode()


REFUSED_BODIES = {
    "a key of 129 characters": (_tagging(("k" * 129, "v")), 400, "InvalidTag"),
    "a value of 257 characters": (_tagging(("k", "v" * 257)), 400, "InvalidTag"),
    "eleven tags": (_tagging(*((f"k{n}", "v") for n in range(11))), 400, "InvalidTag"),
    "no TagSet": (b"<Tagging/>", 400, "MalformedXML"),
    "not XML": (b"<Tagging>", 400, "MalformedXML"),
}


@pytest.mark.parametrize(("body", "status", "code"), REFUSED_BODIES.values(),
                         ids=REFUSED_BODIES.keys())
def test_a_refused_put_object_tagging_keeps_the_tags(
    ops: Cloud, body: bytes, status: int, code: str
) -> None:
    ops.put("k", b"data", x_oss_tagging="a=1")
    before = ops.stored("k")

    answer = ops.send(Call("PUT", ops.bucket, "k", {"tagging": ""}, body=body))

    assert (answer.status, answer.code) == (status, code)
    assert ops.stored("k") == before


def test_tagging_a_missing_object_is_no_such_key(ops: Cloud) -> None:
    answer = ops.send(Call("PUT", ops.bucket, "none", {"tagging": ""},
                           body=_tagging(("a", "1"))))
    assert (answer.status, answer.code) == (404, "NoSuchKey")
    assert ops.keys() == []
