"""The operations the emulator serves, by name, and how the router checks each permission.

Owns the table the router dispatches on: for each operation of
:mod:`localcloud.oss.operations` the emulator serves, the handler that serves it, and for
the operations whose permission the router checks with the table's RAM action
(``Operation.action``) before the handler runs, which check: ``owner`` (a signed caller
whose RAM policy allows the action on the bucket itself; no ACL grants it) or ``acl``
(the bucket's ACL, else the caller's RAM policy on the bucket). Every other row of the
operations table is a 501. Also the readings of OSS behaviour the router makes
(:class:`RoutingSettings`). Built once per emulator: no request runs this module's code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from localcloud.identity import Principal
from localcloud.oss.appendobject import AppendObject
from localcloud.oss.bucketapi import BucketApi
from localcloud.oss.buckets import BucketConfig, BucketRegistry
from localcloud.oss.copyobject import DEFAULT_COPY_MAX_BYTES
from localcloud.oss.deletemulti import DeleteMultipleObjects
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.lifecycle import BucketLifecycle
from localcloud.oss.multipartupload import MultipartUpload
from localcloud.oss.objectacl import ObjectAcl
from localcloud.oss.objects import ObjectApi
from localcloud.oss.objecttagging import ObjectTagging
from localcloud.oss.serviceapi import ServiceApi
from localcloud.oss.store import ObjectStore

#: Serves one operation: (request, bucket, key — "" at bucket level —, caller).
Handler = Callable[[Request, BucketConfig, str, Principal | None], Response]
#: Serves one service-level operation (no bucket addressed): (request).
ServiceHandler = Callable[[Request], Response]
#: How the router checks an operation before its handler (see the module docstring).
RouterCheck = Literal["owner", "acl"]


@dataclass(frozen=True)
class RoutingSettings:
    """Readings of OSS behaviour that the router makes and a test may relax.

    ``reject_unknown_query``: a query key that is neither a subresource nor a parameter
    of the matched operation nor part of a signature is a 501 (OSS ignores keys it does
    not know, UNCONFIRMED for each one; an unknown key may as well be an operation the
    emulator does not know, so the stricter reading refuses it). ``copy_max_bytes``: the
    largest object CopyObject copies (see :data:`copyobject.DEFAULT_COPY_MAX_BYTES`).
    ``require_quoted_part_etag``: CompleteMultipartUpload takes a part's ETag only as
    UploadPart returned it, quotes included (UNCONFIRMED whether OSS also takes it bare).
    """

    reject_unknown_query: bool = True
    copy_max_bytes: int = DEFAULT_COPY_MAX_BYTES
    require_quoted_part_etag: bool = True


class EmulatorParts(Protocol):
    """What the table is built from: the emulator's stores and its three adapters."""

    store: ObjectStore
    buckets: BucketRegistry
    objects: ObjectApi
    bucket_api: BucketApi
    multipart: MultipartUpload

    def endpoint_of(self, request: Request) -> str:
        """The endpoint URL buckets report."""
        ...

    def copy_object(self, request: Request, bucket: BucketConfig, key: str,
                    principal: Principal | None) -> Response:
        """CopyObject with the emulator's routing settings."""
        ...

    def complete_upload(self, request: Request, bucket: BucketConfig, key: str,
                        principal: Principal | None) -> Response:
        """CompleteMultipartUpload with the emulator's settings and callback key."""
        ...

    def post_object(self, request: Request, bucket: BucketConfig, key: str,
                    principal: Principal | None) -> Response:
        """PostObject with the emulator's settings and callback key."""
        ...


@dataclass(frozen=True)
class ServedOperations:
    """The handler of each served operation, the router's checks, the service handlers."""

    handlers: Mapping[str, Handler]
    router_checks: Mapping[str, RouterCheck]
    service_handlers: Mapping[str, ServiceHandler]


def served_operations(parts: EmulatorParts) -> ServedOperations:
    """Return the table of the operations ``parts`` serve."""
    store, objects, multipart, bucket_api = (parts.store, parts.objects, parts.multipart,
                                             parts.bucket_api)
    service = ServiceApi(parts.buckets, parts.endpoint_of)
    acls = ObjectAcl(store)
    tagging = ObjectTagging(store)
    lifecycle = BucketLifecycle(parts.buckets)
    # The handlers that check their own permission (object-level rules, keys first).
    handlers: dict[str, Handler] = {
        "PutObject": objects.put_object,
        "CopyObject": parts.copy_object,
        "GetObject": objects.get_object,
        "HeadObject": objects.head_object,
        "GetObjectMeta": objects.head_object,
        "DeleteObject": objects.delete_object,
        "GetObjectAcl": acls.get,
        "PutObjectAcl": acls.put,
        "GetObjectTagging": tagging.get,
        "PutObjectTagging": tagging.put,
        "DeleteObjectTagging": tagging.delete,
        "DeleteMultipleObjects": DeleteMultipleObjects(store),
        "PostObject": parts.post_object,
        "AppendObject": AppendObject(store),
        "InitiateMultipartUpload": multipart.initiate,
        "UploadPart": multipart.upload_part,
        "UploadPartCopy": multipart.upload_part_copy,
        "CompleteMultipartUpload": parts.complete_upload,
        "AbortMultipartUpload": multipart.abort,
        "ListParts": multipart.list_parts,
        "ListMultipartUploads": multipart.list_uploads,
    }
    owner_checked: dict[str, Handler] = {
        "DeleteBucket": bucket_api.delete_bucket,
        "GetBucketAcl": bucket_api.get_bucket_acl,
        "PutBucketAcl": bucket_api.put_bucket_acl,
        "GetBucketLocation": bucket_api.get_bucket_location,
        "GetBucketStat": bucket_api.get_bucket_stat,
        "GetBucketVersioning": bucket_api.get_bucket_versioning,
        "GetBucketPublicAccessBlock": bucket_api.get_public_access_block,
        "PutBucketPublicAccessBlock": bucket_api.put_public_access_block,
        "DeleteBucketPublicAccessBlock": bucket_api.delete_public_access_block,
        "PutBucketLifecycle": lifecycle.put,
        "GetBucketLifecycle": lifecycle.get,
        "DeleteBucketLifecycle": lifecycle.delete,
    }
    acl_checked: dict[str, Handler] = {
        "GetBucketInfo": bucket_api.get_bucket_info,
        "ListObjects": objects.list_objects,
        "ListObjectsV2": objects.list_objects_v2,
        "ListObjectVersions": objects.list_object_versions,
    }
    checks: dict[str, RouterCheck] = {**dict.fromkeys(owner_checked, "owner"),
                                      **dict.fromkeys(acl_checked, "acl")}
    return ServedOperations(
        handlers={**handlers, **owner_checked, **acl_checked},
        router_checks=checks,
        service_handlers={"ListBuckets": service.list_buckets,
                          "DescribeRegions": service.describe_regions},
    )
