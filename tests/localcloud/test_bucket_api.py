"""Buckets over HTTP and the service level, as the official SDK sees them.

PutBucket, GetBucketInfo/Location/Stat, Get/PutBucketAcl, Block Public Access,
ListObjectVersions (each object's null version), DeleteBucket, ListBuckets and
DescribeRegions; and the order OSS checks things in: the bucket first (404 NoSuchBucket
whatever the signature), then the caller, except where the bucket may be new.
"""

from __future__ import annotations

import http.client
import itertools
from dataclasses import replace

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.identity import Principal
from tests.localcloud.objectkit import ADMIN, Cloud, outcome
from tests.localcloud.signedhttp import Answer, Call, sign

UNKNOWN = Principal("FAKE-AK-NOBODY-BUCKETS", "fake-nobody-secret-0000")
FORGED = Principal(ADMIN.access_key_id, "not-the-admin-secret")
_NAMES = itertools.count()


def new_name() -> str:
    return f"made-over-http-{next(_NAMES)}"


def test_a_bucket_made_over_http_is_described_listed_and_removed(ops: Cloud) -> None:
    client, name = ops.client(), new_name()

    made = client.put_bucket(oss.PutBucketRequest(
        bucket=name, acl="private",
        create_bucket_configuration=oss.CreateBucketConfiguration(storage_class="IA")))
    info = client.get_bucket_info(oss.GetBucketInfoRequest(bucket=name)).bucket_info
    location = client.get_bucket_location(oss.GetBucketLocationRequest(bucket=name))
    client.put_object(oss.PutObjectRequest(bucket=name, key="a.txt", body=b"12345"))
    stat = client.get_bucket_stat(oss.GetBucketStatRequest(bucket=name))

    assert (made.status_code, made.headers["Location"]) == (200, f"/{name}")
    assert {
        "name": info.name, "acl": info.acl, "storage_class": info.storage_class,
        "redundancy": info.data_redundancy_type, "location": info.location,
        "extranet": info.extranet_endpoint, "intranet": info.intranet_endpoint,
        "block_public_access": info.block_public_access, "sse": info.sse_rule.sse_algorithm,
        "monitor": info.access_monitor, "replication": info.cross_region_replication,
    } == {
        "name": name, "acl": "private", "storage_class": "IA", "redundancy": "LRS",
        "location": "oss-cn-hangzhou", "extranet": ops.emulator.url,
        "intranet": ops.emulator.url, "block_public_access": True, "sse": "None",
        "monitor": "Disabled", "replication": "Disabled",
    }
    assert location.location == "oss-cn-hangzhou"
    assert (stat.storage, stat.object_count, stat.standard_storage,
            stat.multi_part_upload_count) == (5, 1, 5, 0)
    assert stat.last_modified_time > 0

    listed = client.list_buckets(oss.ListBucketsRequest(prefix=name))
    assert [(b.name, b.region, b.location, b.storage_class, b.extranet_endpoint)
            for b in listed.buckets] == [(name, "cn-hangzhou", "oss-cn-hangzhou", "IA",
                                          ops.emulator.url)]

    not_empty = outcome(lambda: client.delete_bucket(oss.DeleteBucketRequest(bucket=name)))
    client.delete_object(oss.DeleteObjectRequest(bucket=name, key="a.txt"))
    deleted = client.delete_bucket(oss.DeleteBucketRequest(bucket=name))
    gone = outcome(lambda: client.get_bucket_info(oss.GetBucketInfoRequest(bucket=name)))

    assert (not_empty, deleted.status_code, gone) == ("409 BucketNotEmpty", 204,
                                                      "404 NoSuchBucket")
    assert ops.emulator.buckets.get(name) is None
    assert not (ops.emulator.store.root / name).exists()


def test_list_buckets_pages_by_name_with_prefix_and_marker(ops: Cloud) -> None:
    client = ops.client()
    prefix = new_name()
    for suffix in ("-c", "-a", "-b"):
        client.put_bucket(oss.PutBucketRequest(bucket=prefix + suffix))

    first = client.list_buckets(oss.ListBucketsRequest(prefix=prefix, max_keys=2))
    second = client.list_buckets(oss.ListBucketsRequest(prefix=prefix, max_keys=2,
                                                        marker=first.next_marker))

    assert ([b.name for b in first.buckets], first.is_truncated, first.next_marker) == (
        [prefix + "-a", prefix + "-b"], True, prefix + "-b")
    assert ([b.name for b in second.buckets], second.is_truncated) == ([prefix + "-c"], False)


PUT_BUCKET_REFUSALS = {
    "the name is taken": ({}, "ops-a", "409 BucketAlreadyExists"),
    "an unknown storage class": (
        {"create_bucket_configuration": oss.CreateBucketConfiguration(storage_class="Cold")},
        None, "400 InvalidArgument"),
    "an unknown ACL": ({"acl": "everyone"}, None, "400 InvalidArgument"),
    "a public ACL (a new bucket blocks public access)": ({"acl": "public-read"}, None,
                                                         "403 AccessDenied"),
    "bucket tags (not modelled)": ({"bucket_tagging": "k=v"}, None, "501 NotImplemented"),
}


@pytest.mark.parametrize(("fields", "name", "expected"), PUT_BUCKET_REFUSALS.values(),
                         ids=PUT_BUCKET_REFUSALS.keys())
def test_a_refused_put_bucket_makes_no_bucket(
    ops: Cloud, fields: dict[str, object], name: str | None, expected: str
) -> None:
    client = ops.client()
    target = ops.bucket if name == "ops-a" else (name or new_name())
    before = ops.emulator.buckets.names()

    answer = outcome(lambda: client.put_bucket(oss.PutBucketRequest(bucket=target,
                                                                    **fields)))

    assert answer == expected
    assert ops.emulator.buckets.names() == before


def test_a_bucket_name_oss_refuses_is_refused_after_the_caller_is_checked(ops: Cloud) -> None:
    # The SDK checks names itself, so this one goes out raw.
    ops.identities.add(ADMIN)
    refused = ops.send(Call("PUT", "Upper-Case"), ADMIN)
    unknown = ops.send(Call("PUT", "Upper-Case"), UNKNOWN)

    assert [(a.status, a.code) for a in (refused, unknown)] == [
        (400, "InvalidBucketName"), (403, "InvalidAccessKeyId")]
    assert ops.emulator.buckets.get("Upper-Case") is None


def test_a_new_bucket_blocks_public_access_until_it_is_turned_off(ops: Cloud) -> None:
    client, name = ops.client(), new_name()
    client.put_bucket(oss.PutBucketRequest(bucket=name))
    client.put_object(oss.PutObjectRequest(bucket=name, key="page.html", body=b"<p>hi</p>"))

    def public_bucket() -> oss.PutBucketAclResult:
        return client.put_bucket_acl(oss.PutBucketAclRequest(bucket=name, acl="public-read"))

    def public_object() -> oss.PutObjectAclResult:
        return client.put_object_acl(oss.PutObjectAclRequest(bucket=name, key="page.html",
                                                             acl="public-read"))

    def read() -> int:
        return ops.send(Call("GET", name, "page.html"), None).status

    blocked = (outcome(public_bucket), outcome(public_object), read())
    # The ACL set from Python, as an application cannot while public access is blocked.
    ops.emulator.buckets.put(replace(ops.emulator.buckets.require(name), acl="public-read"))
    ignored = read()  # a public ACL already there grants nothing while blocked
    client.put_bucket_public_access_block(oss.PutBucketPublicAccessBlockRequest(
        bucket=name, public_access_block_configuration=oss.PublicAccessBlockConfiguration(
            block_public_access=False)))
    setting = client.get_bucket_public_access_block(
        oss.GetBucketPublicAccessBlockRequest(bucket=name))
    opened = (outcome(public_bucket), outcome(public_object), read())

    assert blocked == ("403 AccessDenied", "403 AccessDenied", 403)
    assert ignored == 403
    assert setting.public_access_block_configuration.block_public_access is False
    assert opened == ("200", "200", 200)
    assert client.get_bucket_acl(oss.GetBucketAclRequest(bucket=name)).acl == "public-read"


def test_the_local_clouds_own_buckets_do_not_block_public_access(ops: Cloud) -> None:
    info = ops.client().get_bucket_info(oss.GetBucketInfoRequest(bucket=ops.bucket))
    assert info.bucket_info.block_public_access is False


# --- which check comes first ------------------------------------------------------------

ORDER = {
    "unknown AccessKey, missing bucket": (Call("GET", "no-such-bucket-x", "k"), UNKNOWN,
                                          404, "NoSuchBucket"),
    "wrong secret, missing bucket": (Call("GET", "no-such-bucket-x", "", {"acl": ""}),
                                     FORGED, 404, "NoSuchBucket"),
    "anonymous, missing bucket": (Call("PUT", "no-such-bucket-x", "k", body=b"x"), None,
                                  404, "NoSuchBucket"),
    "unknown AccessKey, missing bucket, bucket info": (
        Call("GET", "no-such-bucket-x", "", {"bucketInfo": ""}), UNKNOWN, 404,
        "NoSuchBucket"),
    "unknown AccessKey, PutBucket": (Call("PUT", "no-such-bucket-x"), UNKNOWN, 403,
                                     "InvalidAccessKeyId"),
    "unknown AccessKey, PutBucketAcl on a new name": (
        Call("PUT", "no-such-bucket-x", "", {"acl": ""}, {"x-oss-acl": "private"}),
        UNKNOWN, 403, "InvalidAccessKeyId"),
    "anonymous, PutBucket": (Call("PUT", "no-such-bucket-x"), None, 403, "AccessDenied"),
    "admin, PutBucketAcl on a new name (no bucket is made)": (
        Call("PUT", "no-such-bucket-x", "", {"acl": ""}, {"x-oss-acl": "private"}), ADMIN,
        404, "NoSuchBucket"),
    "unknown AccessKey, existing bucket": (Call("GET", "{bucket}", "k"), UNKNOWN, 403,
                                           "InvalidAccessKeyId"),
}


@pytest.mark.parametrize(("call", "who", "status", "code"), ORDER.values(), ids=ORDER.keys())
def test_the_bucket_is_found_before_the_caller_is_checked(
    ops: Cloud, call: Call, who: Principal | None, status: int, code: str
) -> None:
    ops.identities.add(ADMIN)
    if call.bucket == "{bucket}":
        call = Call(call.method, ops.bucket, call.key, call.query, call.headers, call.body)

    answer = ops.send(call, who)

    assert (answer.status, answer.code) == (status, code)
    assert ops.emulator.buckets.get("no-such-bucket-x") is None


# --- the service level -----------------------------------------------------------------

def test_the_service_level_needs_a_known_signed_caller(ops: Cloud) -> None:
    calls = {"ListBuckets": Call("GET", ""),
             "DescribeRegions": Call("GET", "", "", {"regions": ""})}
    answers = {(name, who): ops.send(call, principal)
               for name, call in calls.items()
               for who, principal in (("anonymous", None), ("unknown", UNKNOWN),
                                      ("admin", ADMIN))}
    assert {key: (a.status, a.code) for key, a in answers.items()} == {
        ("ListBuckets", "anonymous"): (403, "AccessDenied"),
        ("ListBuckets", "unknown"): (403, "InvalidAccessKeyId"),
        ("ListBuckets", "admin"): (200, ""),
        ("DescribeRegions", "anonymous"): (403, "AccessDenied"),
        ("DescribeRegions", "unknown"): (403, "InvalidAccessKeyId"),
        ("DescribeRegions", "admin"): (200, ""),
    }


def test_describe_regions_answers_oss_regions_and_refuses_an_unknown_one(ops: Cloud) -> None:
    client = ops.client()

    every = client.describe_regions(oss.DescribeRegionsRequest())
    one = client.describe_regions(oss.DescribeRegionsRequest(regions="oss-cn-hangzhou"))
    unknown = outcome(lambda: client.describe_regions(
        oss.DescribeRegionsRequest(regions="oss-moon-1")))

    assert len(every.region_info) > 1
    assert [(r.region, r.internet_endpoint, r.internal_endpoint, r.accelerate_endpoint)
            for r in one.region_info] == [
        ("oss-cn-hangzhou", "oss-cn-hangzhou.aliyuncs.com",
         "oss-cn-hangzhou-internal.aliyuncs.com", "oss-accelerate.aliyuncs.com")]
    assert unknown == "404 NoSuchRegion"


# --- versions of a bucket whose versioning was never enabled -----------------------------

def test_each_object_is_listed_as_its_null_version_and_deleted_by_it(ops: Cloud) -> None:
    client = ops.client()
    for key in ("a/1", "a/2", "b"):
        ops.put(key, b"x")

    versions = client.list_object_versions(oss.ListObjectVersionsRequest(
        bucket=ops.bucket, max_keys=2))
    status = client.get_bucket_versioning(oss.GetBucketVersioningRequest(bucket=ops.bucket))
    deleted = client.delete_multiple_objects(oss.DeleteMultipleObjectsRequest(
        bucket=ops.bucket, objects=[oss.DeleteObject(key=v.key, version_id=v.version_id)
                                    for v in versions.version]))
    enable = outcome(lambda: client.put_bucket_versioning(oss.PutBucketVersioningRequest(
        bucket=ops.bucket,
        versioning_configuration=oss.VersioningConfiguration(status="Enabled"))))

    assert [(v.key, v.version_id, v.is_latest) for v in versions.version] == [
        ("a/1", "null", True), ("a/2", "null", True)]
    assert (versions.is_truncated, versions.next_key_marker) == (True, "a/2")
    assert status.version_status is None
    assert [(d.key, d.version_id) for d in deleted.deleted_objects] == [
        ("a/1", "null"), ("a/2", "null")]
    assert ops.keys() == ["b"]
    assert enable == "501 NotImplemented"


def test_a_virtual_hosted_request_names_its_bucket_even_before_it_exists(ops: Cloud) -> None:
    ops.identities.add(ADMIN)
    name = new_name()

    def virtual(method: str, host: str) -> tuple[int, str]:
        call = Call(method, name)
        headers = sign(call, ADMIN, f"{host}:{ops.port}")
        conn = http.client.HTTPConnection("127.0.0.1", ops.port, timeout=30)
        try:
            conn.request(method, "/", headers=headers)
            answer = conn.getresponse()
            return answer.status, Answer(answer.status, {}, answer.read()).code
        finally:
            conn.close()

    missing = virtual("GET", f"{name}.oss-cn-hangzhou.aliyuncs.com")
    made = virtual("PUT", f"{name}.localhost")
    listed = virtual("GET", f"{name}.oss-cn-hangzhou.aliyuncs.com")

    assert (missing, made, listed) == ((404, "NoSuchBucket"), (200, ""), (200, ""))
    assert ops.emulator.buckets.get(name) is not None


def test_a_host_naming_no_bucket_is_the_service(ops: Cloud) -> None:
    # ali-oss with an IP endpoint sends ListBuckets with Host ".oss-<region>.aliyuncs.com".
    ops.identities.add(ADMIN)
    call = Call("GET", "")
    headers = sign(call, ADMIN, ".oss-cn-hangzhou.aliyuncs.com")
    conn = http.client.HTTPConnection("127.0.0.1", ops.port, timeout=30)
    try:
        conn.request("GET", "/", headers=headers)
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()

    assert answer.status == 200
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult>')
