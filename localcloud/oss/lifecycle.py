"""PutBucketLifecycle, GetBucketLifecycle, DeleteBucketLifecycle: a bucket's lifecycle rules.

Owns checking a ``LifecycleConfiguration`` body and keeping it with the bucket
(:attr:`BucketConfig.lifecycle`). The emulator stores the rules as given and answers them
back on Get; it never runs them: no object expires, changes storage class or has its
incomplete multipart uploads aborted because of a rule.

Shape (``../shared/reference/oss-multipart.md`` §6, sources S22, S9, S23)::

    <LifecycleConfiguration>
      <Rule><ID>abort-mpu</ID><Prefix>uploads/</Prefix><Status>Enabled</Status>
        <AbortMultipartUpload><Days>3</Days></AbortMultipartUpload>
      </Rule>
    </LifecycleConfiguration>

PUT replaces every rule of the bucket (§6); answers 200 with no body. Get answers the
stored document (200, ``application/xml``). Delete answers 204. Refusals:

- not XML, another root, no ``Rule``, an element this module does not know, a ``Rule``
  without ``Status`` Enabled/Disabled or ``Prefix``, or with no action: 400 MalformedXML
  (OSS's own codes for these are UNCONFIRMED; MalformedXML is the stricter reading);
- ``AbortMultipartUpload`` with neither or both of ``Days`` and ``CreatedBeforeDate``:
  400 InvalidArgument, EC 0014-00000073 / 0014-00000074 (§6; the Code and Message are
  UNCONFIRMED); a ``Days`` that is no positive integer or a ``CreatedBeforeDate`` that is
  not a UTC midnight (``2017-01-01T00:00:00.000Z``): 400 InvalidArgument (UNCONFIRMED);
- a ``Content-MD5`` that does not match: 400 InvalidDigest;
- Get or Delete on a bucket without rules: 404 NoSuchLifecycle "No Row found in
  Lifecycle Table." (OSS's GetBucketLifecycle documentation; for Delete OSS's answer is
  UNCONFIRMED and the emulator refuses too, the stricter reading).
"""

from __future__ import annotations

import re
from dataclasses import replace
from xml.etree.ElementTree import Element

from localcloud.identity import Principal
from localcloud.oss import xmlbody
from localcloud.oss.buckets import BucketConfig, BucketRegistry
from localcloud.oss.errors import OssError, invalid_argument, malformed_xml
from localcloud.oss.httpmessages import Request, Response

#: OSS documents at most 1000 rules a bucket (UNCONFIRMED in the reference).
MAX_RULES = 1000
#: The longest rule ID OSS documents (255 characters; UNCONFIRMED in the reference).
MAX_ID_LENGTH = 255
ACTIONS = frozenset({"Expiration", "Transition", "AbortMultipartUpload",
                     "NoncurrentVersionExpiration", "NoncurrentVersionTransition"})
RULE_CHILDREN = ACTIONS | {"ID", "Prefix", "Status", "Tag", "Filter", "AtimeBase"}
_MIDNIGHT = re.compile(r"\d{4}-\d{2}-\d{2}T00:00:00\.000Z")


def no_such_lifecycle() -> OssError:
    """The bucket has no lifecycle rules (OSS GetBucketLifecycle's documented 404)."""
    return OssError(404, "NoSuchLifecycle", "No Row found in Lifecycle Table.")


def _check_abort(rule: Element) -> None:
    """Exactly one of Days (a positive integer) or CreatedBeforeDate (UTC midnight)."""
    abort = rule.find("AbortMultipartUpload")
    if abort is None:
        return
    fields = xmlbody.children(abort)
    if set(fields) - {"Days", "CreatedBeforeDate"}:
        raise malformed_xml()
    if not fields:
        raise invalid_argument("AbortMultipartUpload must have Days or CreatedBeforeDate.",
                               ec="0014-00000073")
    if len(fields) == 2:
        raise invalid_argument("AbortMultipartUpload must not have both Days and "
                               "CreatedBeforeDate.", ec="0014-00000074")
    days = fields.get("Days")
    if days is not None and not (days.strip().isdigit() and int(days) > 0):
        raise invalid_argument("Days must be a positive integer.", name="Days", value=days)
    date = fields.get("CreatedBeforeDate")
    if date is not None and not _MIDNIGHT.fullmatch(date.strip()):
        raise invalid_argument("CreatedBeforeDate must be a UTC midnight in ISO 8601.",
                               name="CreatedBeforeDate", value=date)
    # Rules cannot pick parts by tag (§6): a tagged rule aborting uploads is refused.
    if rule.find("Tag") is not None or rule.find("Filter") is not None:
        raise invalid_argument("AbortMultipartUpload cannot be used with Tag or Filter.")


def check_configuration(body: bytes) -> None:
    """Refuse a ``LifecycleConfiguration`` OSS would refuse (see the module docstring)."""
    root = xmlbody.parse(body, "LifecycleConfiguration")
    rules = list(root)
    if not rules or len(rules) > MAX_RULES or any(r.tag != "Rule" for r in rules):
        raise malformed_xml()
    ids: set[str] = set()
    for rule in rules:
        tags = [child.tag for child in rule]
        once = [tag for tag in tags if tag not in ("Tag", "Transition",
                                                    "NoncurrentVersionTransition")]
        fields = xmlbody.children(rule)
        if (set(tags) - RULE_CHILDREN or len(once) != len(set(once))
                or fields.get("Status") not in ("Enabled", "Disabled")
                or "Prefix" not in fields or not ACTIONS & set(tags)):
            raise malformed_xml()
        rule_id = fields.get("ID", "")
        if len(rule_id) > MAX_ID_LENGTH or (rule_id and rule_id in ids):
            raise invalid_argument("Rule IDs must be unique and at most 255 characters.",
                                   name="ID", value=rule_id)
        ids.add(rule_id)
        _check_abort(rule)


class BucketLifecycle:
    """The three lifecycle operations on the registry's buckets (bucket-owner operations:
    the router checks ``oss:<Operation>`` on the bucket before they run)."""

    def __init__(self, buckets: BucketRegistry) -> None:
        self._buckets = buckets

    def put(self, request: Request, bucket: BucketConfig, key: str,
            principal: Principal | None) -> Response:
        """Replace the bucket's rules with the body's (stored as given)."""
        del key, principal
        body = xmlbody.read_body(request)
        xmlbody.check_content_md5(request, body)
        check_configuration(body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise malformed_xml() from None
        self._buckets.put(replace(bucket, lifecycle=text))
        return Response(200)

    def get(self, request: Request, bucket: BucketConfig, key: str,
            principal: Principal | None) -> Response:
        """Answer the stored ``LifecycleConfiguration``; 404 NoSuchLifecycle without one."""
        del request, key, principal
        if bucket.lifecycle is None:
            raise no_such_lifecycle()
        return Response(200, dict(xmlbody.XML), bucket.lifecycle.encode("utf-8"))

    def delete(self, request: Request, bucket: BucketConfig, key: str,
               principal: Principal | None) -> Response:
        """Remove every rule; 404 NoSuchLifecycle when there are none (UNCONFIRMED)."""
        del request, key, principal
        if bucket.lifecycle is None:
            raise no_such_lifecycle()
        self._buckets.put(replace(bucket, lifecycle=None))
        return Response(204)
