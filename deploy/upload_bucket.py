"""Set up the existing upload bucket for multipart uploads (s.yaml's pre-deploy hook).

On the ``s deploy`` path the upload bucket exists before the deploy (README, "Route 1"),
so what template.yml declares on ``UploadBucket`` is done here, against the live bucket:

- **Lifecycle**: one rule, ID :data:`RULE_ID`, that aborts multipart uploads left
  incomplete under the upload dir after N days (``<AbortMultipartUpload><Days>``).
  PutBucketLifecycle replaces every rule of the bucket, so the bucket's rules are read
  first (GetBucketLifecycle; 404 ``NoSuchLifecycle`` = none), the rule with this ID is
  replaced in place or appended, and every other rule is written back verbatim
  (:func:`merge_rule`: XML in, XML out, so elements the SDK does not model survive).
- **CORS**: checked, never written (PutBucketCors would also replace the rules an operator
  made by hand): for each page origin, the first rule whose ``AllowedOrigin`` matches it
  (OSS applies the first match) must allow ``POST`` (PostObject) and ``PUT`` (parts) and
  expose ``ETag`` (the browser reads each part's ETag; Uppy and ali-oss refuse a part
  without it). A missing or short rule stops the deploy naming what is missing
  (:func:`cors_problems`); a configuration that cannot be read (no ``oss:GetBucketCors``)
  is reported and skipped.

Facts from ../shared/reference/oss-multipart.md sections 6 (lifecycle XML, ``PUT
/?lifecycle`` overwrites all rules, exactly one of Days or CreatedBeforeDate) and 7 (CORS
elements, first matching rule wins, ExposeHeader ETag mandatory). UNCONFIRMED: whether OSS
refuses a rule whose prefix overlaps another rule's; such a refusal is reported with OSS's
code and nothing is changed.

Credentials and client as :mod:`deploy.publish_page` (``ALIBABA_CLOUD_*`` variables or
``--credentials-json``; path-style for an IP or localhost endpoint); secrets never reach
output. Raw calls through ``alibabacloud-oss-v2``'s ``invoke_operation``. Never imports the
signing function.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from deploy.publish_page import PublishError, load_credentials, make_client, service_error

#: The lifecycle rule this project owns on the upload bucket (template.yml uses it too).
RULE_ID = "abort-incomplete-multipart-uploads"
#: Days after the last part upload that an incomplete upload is aborted (s.yaml's default).
DEFAULT_ABORT_DAYS = 3
#: What the page's origins need from the upload bucket's CORS rule (both deploy paths).
REQUIRED_CORS_METHODS = ("POST", "PUT")
REQUIRED_CORS_EXPOSE = ("ETag",)
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class BucketSetupError(Exception):
    """Why the upload bucket could not be set up; the message is safe to print."""


def abort_rule(upload_dir: str, days: int) -> ET.Element:
    """Return the ``<Rule>`` aborting incomplete uploads under ``upload_dir`` after ``days``.

    Raises BucketSetupError for ``days`` < 1 or an empty prefix (a rule for the whole
    bucket would also abort uploads this project does not own).
    """
    if days < 1:
        raise BucketSetupError(f"--abort-days must be at least 1, got {days}")
    if not upload_dir:
        raise BucketSetupError("--upload-dir must not be empty")
    rule = ET.Element("Rule")
    ET.SubElement(rule, "ID").text = RULE_ID
    ET.SubElement(rule, "Prefix").text = upload_dir
    ET.SubElement(rule, "Status").text = "Enabled"
    abort = ET.SubElement(rule, "AbortMultipartUpload")
    ET.SubElement(abort, "Days").text = str(days)
    return rule


def _parse(body: bytes, root_tag: str) -> ET.Element:
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise BucketSetupError(f"OSS answered an unreadable {root_tag}: {exc}") from exc
    if root.tag != root_tag:
        raise BucketSetupError(f"OSS answered <{root.tag}>, expected <{root_tag}>")
    return root


def merge_rule(existing: bytes | None, rule: ET.Element) -> bytes:
    """Return the LifecycleConfiguration XML to PUT: ``existing`` with ``rule`` merged by ID.

    ``existing`` is GetBucketLifecycle's body, or None when the bucket has no rules. The
    rule with the same ``<ID>`` is replaced where it stands; without one, ``rule`` is
    appended. Every other rule is kept as read. Raises BucketSetupError for a body that
    is not a LifecycleConfiguration.
    """
    if existing is None or not existing.strip():
        root = ET.Element("LifecycleConfiguration")
    else:
        root = _parse(existing, "LifecycleConfiguration")
    rule_id = rule.findtext("ID")
    for index, child in enumerate(list(root)):
        if child.tag == "Rule" and child.findtext("ID") == rule_id:
            rule.tail = child.tail
            root[index] = rule
            break
    else:
        root.append(rule)
    return (XML_DECLARATION + ET.tostring(root, encoding="unicode")).encode()


def origin_matches(pattern: str, origin: str) -> bool:
    """True when a CORS ``AllowedOrigin`` (at most one ``*``) matches ``origin``."""
    if "*" not in pattern:
        return pattern == origin
    head, _, tail = pattern.partition("*")
    return len(origin) >= len(head) + len(tail) and origin.startswith(head) and (
        origin.endswith(tail))


def cors_problems(configuration: bytes | None, origins: Sequence[str]) -> list[str]:
    """Return what the bucket's CORS lacks for each page origin (empty: nothing).

    ``configuration`` is GetBucketCors's body, or None when the bucket has no CORS rules.
    """
    rules = [] if configuration is None else _parse(configuration, "CORSConfiguration"
                                                     ).findall("CORSRule")
    problems = []
    for origin in origins:
        rule = next((r for r in rules if any(origin_matches((o.text or "").strip(), origin)
                                             for o in r.findall("AllowedOrigin"))), None)
        if rule is None:
            problems.append(f"no CORS rule allows the origin {origin}")
            continue
        methods = {(m.text or "").strip().upper() for m in rule.findall("AllowedMethod")}
        exposed = {(h.text or "").strip().lower() for h in rule.findall("ExposeHeader")}
        lacking = [m for m in REQUIRED_CORS_METHODS if m not in methods]
        lacking += [f"ExposeHeader {h}" for h in REQUIRED_CORS_EXPOSE if h.lower() not in exposed]
        if lacking:
            problems.append(f"the CORS rule for {origin} lacks {', '.join(lacking)}")
    return problems


def _get_config(client: Any, bucket: str, sub: str, absent_code: str) -> bytes | None:
    """GET ``/?<sub>``; None when OSS answers 404 ``absent_code`` (no configuration)."""
    import alibabacloud_oss_v2 as oss

    op = oss.OperationInput(op_name=f"GetBucket{sub.capitalize()}", method="GET",
                            parameters={sub: ""}, bucket=bucket,
                            op_metadata={"sub-resource": [sub]})
    try:
        output = client.invoke_operation(op)
    except oss.exceptions.OperationError as exc:
        status, code = service_error(exc)
        if status == 404 and code == absent_code:
            return None
        raise BucketSetupError(f"GET ?{sub} on {bucket} failed: {status} {code}") from exc
    return bytes(output.http_response.content)


def put_lifecycle(client: Any, bucket: str, body: bytes) -> None:
    """PUT ``/?lifecycle`` with ``body`` (Content-MD5 set, as the SDK's own call does)."""
    import alibabacloud_oss_v2 as oss

    digest = base64.b64encode(hashlib.md5(body).digest()).decode()
    op = oss.OperationInput(op_name="PutBucketLifecycle", method="PUT",
                            headers={"Content-Type": "application/xml", "Content-MD5": digest},
                            parameters={"lifecycle": ""}, body=body, bucket=bucket,
                            op_metadata={"sub-resource": ["lifecycle"]})
    try:
        client.invoke_operation(op)
    except oss.exceptions.OperationError as exc:
        status, code = service_error(exc)
        raise BucketSetupError(f"PutBucketLifecycle on {bucket} failed: {status} {code}"
                               ) from exc


def set_up(client: Any, bucket: str, upload_dir: str, days: int,
           origins: Sequence[str]) -> list[str]:
    """Check CORS, then merge and write the lifecycle rule; return the lines to print.

    Raises BucketSetupError (nothing written) when the CORS rule falls short or OSS
    refuses a call.
    """
    lines = []
    try:
        problems = cors_problems(_get_config(client, bucket, "cors", "NoSuchCORSConfiguration"),
                                 origins)
    except BucketSetupError as exc:
        lines.append(f"CORS not checked ({exc})")
        problems = []
    if problems:
        raise BucketSetupError("; ".join(problems) + " (README, \"CORS\")")
    existing = _get_config(client, bucket, "lifecycle", "NoSuchLifecycle")
    put_lifecycle(client, bucket, merge_rule(existing, abort_rule(upload_dir, days)))
    lines.append(f"lifecycle rule {RULE_ID}: abort incomplete uploads under {upload_dir} "
                 f"after {days} days")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bucket", required=True, help="the upload bucket (never the page's)")
    parser.add_argument("--region", required=True, help="region ID, e.g. cn-hangzhou")
    parser.add_argument("--endpoint", help="OSS endpoint; default: the region's public one")
    parser.add_argument("--credentials-json", type=Path,
                        help="JSON credentials; default: the ALIBABA_CLOUD_* variables")
    parser.add_argument("--upload-dir", required=True, help="key prefix of the uploads")
    parser.add_argument("--abort-days", type=int, default=DEFAULT_ABORT_DAYS,
                        help="days before an incomplete multipart upload is aborted")
    parser.add_argument("--origins", required=True,
                        help="comma list of the page's origins (CORS_ALLOWED_ORIGINS)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 1 failure, with a one-line reason)."""
    args = parse_args(argv)
    origins = [o.strip() for o in args.origins.split(",") if o.strip()]
    try:
        creds = load_credentials(args.credentials_json, os.environ if env is None else env)
        client = make_client(args.region, args.endpoint, creds)
        lines = set_up(client, args.bucket, args.upload_dir, args.abort_days, origins)
    except (BucketSetupError, PublishError) as exc:
        print(f"upload_bucket: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(f"upload_bucket: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
