"""Put/Get/DeleteBucketLifecycle: a bucket's rules are stored as given, replaced whole,
answered back, removed; bad documents are refused as OSS refuses them (reference §6)."""

from __future__ import annotations

import alibabacloud_oss_v2 as oss
import pytest

from tests.localcloud.objectkit import Cloud, outcome, principal
from tests.localcloud.signedhttp import Call

ABORT_RULE = (b"<LifecycleConfiguration><Rule><ID>abort-mpu</ID><Prefix>uploads/</Prefix>"
              b"<Status>Enabled</Status><AbortMultipartUpload><Days>3</Days>"
              b"</AbortMultipartUpload></Rule></LifecycleConfiguration>")


def lifecycle(method: str, ops: Cloud, body: bytes = b"") -> Call:
    return Call(method, ops.bucket, "", {"lifecycle": ""}, {}, body)


def test_the_sdk_puts_reads_back_and_deletes_the_rules(ops: Cloud) -> None:
    client = ops.client()
    rules = [oss.LifecycleRule(id="abort-mpu", prefix="uploads/", status="Enabled",
                               abort_multipart_upload=oss.LifecycleRuleAbortMultipartUpload(
                                   days=3)),
             oss.LifecycleRule(id="expire-logs", prefix="logs/", status="Disabled",
                               expiration=oss.LifecycleRuleExpiration(days=30))]
    client.put_bucket_lifecycle(oss.PutBucketLifecycleRequest(
        bucket=ops.bucket, lifecycle_configuration=oss.LifecycleConfiguration(rules=rules)))

    got = client.get_bucket_lifecycle(oss.GetBucketLifecycleRequest(bucket=ops.bucket))
    read = got.lifecycle_configuration
    assert read is not None and read.rules is not None
    assert [(r.id, r.prefix, r.status) for r in read.rules] == [
        ("abort-mpu", "uploads/", "Enabled"), ("expire-logs", "logs/", "Disabled")]
    assert read.rules[0].abort_multipart_upload is not None
    assert read.rules[0].abort_multipart_upload.days == 3

    client.delete_bucket_lifecycle(oss.DeleteBucketLifecycleRequest(bucket=ops.bucket))
    assert outcome(lambda: client.get_bucket_lifecycle(
        oss.GetBucketLifecycleRequest(bucket=ops.bucket))) == "404 NoSuchLifecycle"


def test_a_put_replaces_every_rule_and_get_answers_the_document_as_given(ops: Cloud) -> None:
    first = ops.send(lifecycle("PUT", ops, ABORT_RULE.replace(b"abort-mpu", b"old")))
    second = ops.send(lifecycle("PUT", ops, ABORT_RULE))
    got = ops.send(lifecycle("GET", ops))

    assert [first.status, second.status] == [200, 200]
    assert (got.status, got.headers["content-type"], got.body) == (
        200, "application/xml", ABORT_RULE)


def test_without_rules_get_and_delete_are_404_no_such_lifecycle(ops: Cloud) -> None:
    for method in ("GET", "DELETE"):
        answer = ops.send(lifecycle(method, ops))
        assert (answer.status, answer.code) == (404, "NoSuchLifecycle")
        assert b"<Message>No Row found in Lifecycle Table.</Message>" in answer.body
    ops.send(lifecycle("PUT", ops, ABORT_RULE))
    assert ops.send(lifecycle("DELETE", ops)).status == 204
    assert ops.send(lifecycle("DELETE", ops)).code == "NoSuchLifecycle"


def rule(inner: str) -> bytes:
    return f"<LifecycleConfiguration><Rule>{inner}</Rule></LifecycleConfiguration>".encode()


ABORT = "<ID>a</ID><Prefix>p/</Prefix><Status>Enabled</Status>"
REFUSED = {
    "not XML": (b"<LifecycleConfiguration><Rule>", "MalformedXML", None),
    "another root": (b"<CORSConfiguration/>", "MalformedXML", None),
    "no rule": (b"<LifecycleConfiguration/>", "MalformedXML", None),
    "no status": (rule("<Prefix>p/</Prefix><Expiration><Days>1</Days></Expiration>"),
                  "MalformedXML", None),
    "status neither Enabled nor Disabled": (
        rule("<Prefix>p/</Prefix><Status>On</Status><Expiration><Days>1</Days></Expiration>"),
        "MalformedXML", None),
    "no prefix": (rule("<Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"),
                  "MalformedXML", None),
    "no action": (rule("<Prefix>p/</Prefix><Status>Enabled</Status>"), "MalformedXML", None),
    "an unknown element": (rule(ABORT + "<Explode/><Expiration><Days>1</Days></Expiration>"),
                           "MalformedXML", None),
    "abort with neither Days nor CreatedBeforeDate": (
        rule(ABORT + "<AbortMultipartUpload></AbortMultipartUpload>"), "InvalidArgument",
        "0014-00000073"),
    "abort with both": (
        rule(ABORT + "<AbortMultipartUpload><Days>3</Days><CreatedBeforeDate>"
             "2017-01-01T00:00:00.000Z</CreatedBeforeDate></AbortMultipartUpload>"),
        "InvalidArgument", "0014-00000074"),
    "abort after 0 days": (rule(ABORT + "<AbortMultipartUpload><Days>0</Days>"
                                "</AbortMultipartUpload>"), "InvalidArgument", None),
    "abort before a time that is not midnight": (
        rule(ABORT + "<AbortMultipartUpload><CreatedBeforeDate>2017-01-01T08:00:00.000Z"
             "</CreatedBeforeDate></AbortMultipartUpload>"), "InvalidArgument", None),
    "abort matched by tag": (
        rule(ABORT + "<Tag><Key>k</Key><Value>v</Value></Tag><AbortMultipartUpload><Days>3"
             "</Days></AbortMultipartUpload>"), "InvalidArgument", None),
    "two rules with one ID": (
        ABORT_RULE.replace(b"</LifecycleConfiguration>", ABORT_RULE[24:]), "InvalidArgument",
        None),
}


@pytest.mark.parametrize(("body", "code", "ec"), REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_configuration_is_refused_and_the_rules_stay(
    ops: Cloud, body: bytes, code: str, ec: str | None
) -> None:
    ops.send(lifecycle("PUT", ops, ABORT_RULE))

    answer = ops.send(lifecycle("PUT", ops, body))

    assert (answer.status, answer.code, answer.headers.get("x-oss-ec")) == (400, code, ec)
    assert ops.send(lifecycle("GET", ops)).body == ABORT_RULE


def test_a_wrong_content_md5_is_invalid_digest(ops: Cloud) -> None:
    answer = ops.send(Call("PUT", ops.bucket, "", {"lifecycle": ""},
                           {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, ABORT_RULE))
    assert (answer.status, answer.code) == (400, "InvalidDigest")


def test_only_a_caller_granted_the_lifecycle_action_on_the_bucket_may_use_it(
    ops: Cloud,
) -> None:
    """Bucket-owner operations: the RAM action on the bucket, never the bucket ACL."""
    assert ops.send(Call("PUT", ops.bucket, "", {"acl": ""},
                         {"x-oss-acl": "public-read-write"})).status == 200
    writer = principal("lcwriter", ("oss:PutBucketLifecycle", f"acs:oss:*:*:{ops.bucket}"))
    objects_only = principal("lcobjects", ("oss:*", f"acs:oss:*:*:{ops.bucket}/*"))
    for who in (writer, objects_only):
        ops.identities.add(who)

    assert ops.send(lifecycle("PUT", ops, ABORT_RULE), writer).status == 200
    assert [(a.status, a.code) for a in (
        ops.send(lifecycle("GET", ops), writer),
        ops.send(lifecycle("PUT", ops, ABORT_RULE), objects_only),
        ops.send(lifecycle("DELETE", ops), None),
    )] == [(403, "AccessDenied")] * 3
