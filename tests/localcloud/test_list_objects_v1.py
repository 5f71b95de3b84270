"""ListObjects (V1, ``GET /bucket/`` without ``list-type``) pages and groups keys as OSS does.

Also ListObjectsV2's ``fetch-owner``, the one V2 parameter its own tests do not cover.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from xml.etree import ElementTree

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.oss.listing import ListParams, list_page, render_list_v1
from localcloud.oss.store import ObjectMeta
from tests.localcloud.objectkit import Cloud
from tests.localcloud.signedhttp import Call

KEYS = ["a/1", "a/2", "a/b/3", "b", "c d/e", "z"]


def page_of(body: bytes) -> dict[str, object]:
    root = ElementTree.fromstring(body)
    out: dict[str, object] = {"root": root.tag}
    for child in root:
        if child.tag == "Contents":
            contents = out.setdefault("Contents", [])
            assert isinstance(contents, list)
            contents.append(child.findtext("Key"))
        elif child.tag == "CommonPrefixes":
            prefixes = out.setdefault("CommonPrefixes", [])
            assert isinstance(prefixes, list)
            prefixes.append(child.findtext("Prefix"))
        else:
            out[child.tag] = child.text or ""
    return out


@pytest.fixture
def listed(ops: Cloud) -> Cloud:
    for key in KEYS:
        ops.put(key, key.encode())
    return ops


def list_call(ops: Cloud, **query: str) -> Call:
    return Call("GET", ops.bucket, "", {name.replace("_", "-"): v for name, v in query.items()})


def test_a_full_listing_has_every_element_in_the_references_order(listed: Cloud) -> None:
    answer = listed.send(list_call(listed))

    assert (answer.status, answer.headers["content-type"]) == (200, "application/xml")
    root = ElementTree.fromstring(answer.body)
    assert [child.tag for child in root][:6] == ["Name", "Prefix", "Marker", "MaxKeys",
                                                 "Delimiter", "IsTruncated"]
    assert page_of(answer.body) == {
        "root": "ListBucketResult", "Name": listed.bucket, "Prefix": "", "Marker": "",
        "MaxKeys": "100", "Delimiter": "", "IsTruncated": "false", "Contents": KEYS}
    first = root.find("Contents")
    assert first is not None
    assert [child.tag for child in first] == ["Key", "LastModified", "ETag", "Type", "Size",
                                              "StorageClass", "Owner"]
    assert (first.findtext("ETag"), first.findtext("Size"), first.findtext("Owner/ID")) == (
        '"' + hashlib.md5(b"a/1").hexdigest().upper() + '"', "3", "localcloud")


PAGES = {
    "prefix": ({"prefix": "a/"}, {"Prefix": "a/", "Contents": ["a/1", "a/2", "a/b/3"]}),
    "delimiter": ({"delimiter": "/"}, {"Delimiter": "/", "Contents": ["b", "z"],
                                       "CommonPrefixes": ["a/", "c d/"]}),
    "prefix and delimiter": ({"prefix": "a/", "delimiter": "/"}, {
        "Prefix": "a/", "Delimiter": "/", "Contents": ["a/1", "a/2"],
        "CommonPrefixes": ["a/b/"]}),
    "marker": ({"marker": "a/b/3"}, {"Marker": "a/b/3", "Contents": ["b", "c d/e", "z"]}),
    "max-keys": ({"max_keys": "2"}, {"MaxKeys": "2", "IsTruncated": "true",
                                     "NextMarker": "a/2", "Contents": ["a/1", "a/2"]}),
    "url encoding": ({"prefix": "c d/", "encoding_type": "url"}, {
        "Prefix": "c%20d%2F", "EncodingType": "url", "Contents": ["c%20d%2Fe"]}),
}


@pytest.mark.parametrize("case", PAGES.values(), ids=PAGES.keys())
def test_listing_parameters(listed: Cloud, case: tuple[dict[str, str], dict[str, object]]
                            ) -> None:
    query, changes = case
    expected: dict[str, object] = {
        "root": "ListBucketResult", "Name": listed.bucket, "Prefix": "", "Marker": "",
        "MaxKeys": "100", "Delimiter": "", "IsTruncated": "false", **changes}

    answer = listed.send(list_call(listed, **query))

    assert page_of(answer.body) == expected


def test_paging_by_next_marker_never_repeats_a_common_prefix() -> None:
    keys = ["a/1", "a/2", "a/3", "b/1", "c"]
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc)
    metas = [ObjectMeta(key=k, size=0, etag="E", crc64=0, content_type="x/y",
                        last_modified=moment) for k in keys]
    seen: list[str] = []
    marker = ""
    while True:
        params = ListParams(delimiter="/", max_keys=1, marker=marker)
        page = list_page(metas, params)
        seen += [m.key for m in page.contents] + list(page.common_prefixes)
        rendered = render_list_v1("bk", params, page)
        assert (b"<NextMarker>" in rendered) == (page.next_marker is not None)
        if page.next_marker is None:
            break
        marker = page.next_marker
    assert seen == ["a/", "b/", "c"]


@pytest.mark.parametrize("query", [{"max_keys": "0"}, {"max_keys": "1001"},
                                   {"max_keys": "ten"}, {"encoding_type": "base64"},
                                   {"prefix": "p" * 1024}, {"marker": "m" * 1024}])
def test_invalid_listing_parameters_are_invalid_argument(
    listed: Cloud, query: dict[str, str]
) -> None:
    answer = listed.send(list_call(listed, **query))
    assert (answer.status, answer.code) == (400, "InvalidArgument")


def test_the_official_sdks_v1_paginator_sees_every_key(listed: Cloud) -> None:
    client = listed.client()
    seen: list[str] = []
    for page in client.list_objects_paginator().iter_page(
        oss.ListObjectsRequest(bucket=listed.bucket, max_keys=2)
    ):
        seen += [o.key or "" for o in page.contents or []]
    top = client.list_objects(oss.ListObjectsRequest(bucket=listed.bucket, delimiter="/"))

    assert seen == KEYS
    assert ([p.prefix for p in top.common_prefixes or []], [o.key for o in top.contents or []]
            ) == (["a/", "c d/"], ["b", "z"])


def test_anonymous_listing_of_a_private_bucket_is_access_denied(listed: Cloud) -> None:
    answer = listed.send(list_call(listed, prefix="a/"), None)
    assert (answer.status, answer.code) == (403, "AccessDenied")


@pytest.mark.parametrize(("fetch_owner", "owner"), [(True, "localcloud"), (False, None)])
def test_list_objects_v2_shows_each_owner_only_with_fetch_owner(
    listed: Cloud, fetch_owner: bool, owner: str | None
) -> None:
    result = listed.client().list_objects_v2(oss.ListObjectsV2Request(
        bucket=listed.bucket, fetch_owner=fetch_owner, max_keys=1))
    first = (result.contents or [])[0]
    assert (first.key, first.owner.id if first.owner else None) == ("a/1", owner)
