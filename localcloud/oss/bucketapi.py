"""The bucket itself over HTTP: Put/DeleteBucket, GetBucketInfo/Location/Stat, ACL, BPA.

Owns each operation's request reading, permission rule and XML answer. The local
cloud's own buckets are still configured in Python (:meth:`BucketRegistry.put`); these
operations let an application make, inspect and remove buckets as it does on OSS. A new
bucket blocks public access, as OSS's do (Block Public Access; the official SDK's
integration tests read it on after PutBucket and turn it off before a public ACL), and
Put/Get/DeleteBucketPublicAccessBlock change it. A bucket lives in the local cloud's one
region; its endpoint is the emulator's URL (``http://127.0.0.1:<port>``), reported with
its scheme because it serves plain HTTP only: OSS reports a bare host name, and a client
that builds an endpoint from one assumes HTTPS. No socket code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape

from localcloud.config import REGION
from localcloud.identity import Principal
from localcloud.oss import xmlbody
from localcloud.oss.buckets import (
    BUCKET_ACLS,
    BUCKET_STORAGE_CLASSES,
    REDUNDANCY_TYPES,
    BucketConfig,
    BucketRegistry,
    refuse_public_acl,
)
from localcloud.oss.errors import OssError, invalid_argument, malformed_xml, not_implemented
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.listing import owner_xml
from localcloud.oss.objectacl import access_control_policy
from localcloud.oss.partstore import UploadStore
from localcloud.oss.store import ObjectStore
from localcloud.oss.xmlbody import iso_time

H_ACL = "x-oss-acl"
LOCATION = f"oss-{REGION}"
#: The resource group every bucket reports: the emulator has no resource groups, and OSS
#: puts a bucket created without one in the account's default group.
RESOURCE_GROUP_ID = "rg-localcloud-default"

#: Storage classes grouped as GetBucketStat reports them (its element name prefixes).
_STAT_CLASSES = (("Standard", "Standard"), ("IA", "InfrequentAccess"),
                 ("Archive", "Archive"), ("ColdArchive", "ColdArchive"),
                 ("DeepColdArchive", "DeepColdArchive"))

#: Returns the endpoint URL clients reach the emulator at, for a request.
EndpointOf = Callable[[Request], str]


def bucket_not_empty() -> OssError:
    """DeleteBucket on a bucket holding objects or unfinished uploads (OSS 409 page)."""
    return OssError(409, "BucketNotEmpty", "The bucket you tried to delete is not empty.")


def _acl_header(request: Request) -> str:
    acl = request.header(H_ACL)
    if acl not in BUCKET_ACLS:
        raise invalid_argument("no such bucket access control exists", name=H_ACL, value=acl)
    return acl


def _public_access_block(blocked: bool) -> bytes:
    return (f"{xmlbody.XML_DECLARATION}<PublicAccessBlockConfiguration><BlockPublicAccess>"
            f"{'true' if blocked else 'false'}</BlockPublicAccess>"
            "</PublicAccessBlockConfiguration>").encode()


def _create_configuration(body: bytes) -> tuple[str, str]:
    """Read ``CreateBucketConfiguration``: (storage class, redundancy type)."""
    if not body.strip():
        return "Standard", "LRS"
    fields = xmlbody.children(xmlbody.parse(body, "CreateBucketConfiguration"))
    unknown = set(fields) - {"StorageClass", "DataRedundancyType"}
    if unknown:
        # A setting the emulator does not model must not be dropped silently.
        raise not_implemented()
    storage_class = fields.get("StorageClass") or "Standard"
    redundancy = fields.get("DataRedundancyType") or "LRS"
    if storage_class not in BUCKET_STORAGE_CLASSES:
        raise invalid_argument("no such storage class exists", name="StorageClass",
                               value=storage_class)
    if redundancy not in REDUNDANCY_TYPES:
        raise invalid_argument("no such data redundancy type exists",
                               name="DataRedundancyType", value=redundancy)
    return storage_class, redundancy


@dataclass
class BucketApi:
    """The bucket-level operations over one registry, object store and upload store."""

    store: ObjectStore
    buckets: BucketRegistry
    uploads: UploadStore
    endpoint_of: EndpointOf

    def put_bucket(self, request: Request, name: str) -> Response:
        """Create ``name`` (private by default) in the local cloud's region."""
        acl = _acl_header(request) if request.header(H_ACL) else "private"
        storage_class, redundancy = _create_configuration(xmlbody.read_body(request))
        config = BucketConfig(name=name, acl=acl, storage_class=storage_class,
                              redundancy=redundancy, created=request.now,
                              block_public_access=True)
        # A public ACL at creation meets the new bucket's Block Public Access (the
        # stricter reading: UNCONFIRMED whether OSS refuses it or creates it blocked).
        refuse_public_acl(config, acl)
        self.buckets.create(config)
        return Response(200, {"Location": f"/{name}"})

    def delete_bucket(self, request: Request, bucket: BucketConfig, key: str,
                      principal: Principal | None) -> Response:
        """Remove an empty bucket; objects or unfinished uploads left make it 409."""
        del request, key, principal
        if self.store.list(bucket.name) or self.uploads.count(bucket.name):
            raise bucket_not_empty()
        self.buckets.delete(bucket.name)
        return Response(204)

    def get_bucket_acl(self, request: Request, bucket: BucketConfig, key: str,
                       principal: Principal | None) -> Response:
        """Answer the bucket's ACL as ``AccessControlPolicy``."""
        del request, key, principal
        return Response(200, dict(xmlbody.XML), access_control_policy(bucket.acl))

    def put_bucket_acl(self, request: Request, bucket: BucketConfig, key: str,
                       principal: Principal | None) -> Response:
        """Set the bucket's ACL from ``x-oss-acl``; nothing else about it changes."""
        del key, principal
        # A missing header is UNCONFIRMED; it is refused as an invalid value rather than
        # read as "private".
        acl = _acl_header(request)
        refuse_public_acl(bucket, acl)
        self.buckets.put(replace(bucket, acl=acl))
        return Response(200)

    def get_public_access_block(self, request: Request, bucket: BucketConfig, key: str,
                                principal: Principal | None) -> Response:
        """Answer ``PublicAccessBlockConfiguration``: whether public access is blocked."""
        del request, key, principal
        return Response(200, dict(xmlbody.XML), _public_access_block(bucket.block_public_access))

    def put_public_access_block(self, request: Request, bucket: BucketConfig, key: str,
                                principal: Principal | None) -> Response:
        """Block public access, or stop blocking it (``BlockPublicAccess``, default false)."""
        del key, principal
        root = xmlbody.parse(xmlbody.read_body(request), "PublicAccessBlockConfiguration")
        fields = xmlbody.children(root)
        value = fields.get("BlockPublicAccess", "false").strip()
        if set(fields) - {"BlockPublicAccess"} or value not in ("true", "false"):
            raise malformed_xml()
        self.buckets.put(replace(bucket, block_public_access=value == "true"))
        return Response(200)

    def delete_public_access_block(self, request: Request, bucket: BucketConfig, key: str,
                                   principal: Principal | None) -> Response:
        """Stop blocking public access (the configuration is gone: not blocked)."""
        del request, key, principal
        self.buckets.put(replace(bucket, block_public_access=False))
        return Response(204)

    def get_bucket_location(self, request: Request, bucket: BucketConfig, key: str,
                            principal: Principal | None) -> Response:
        """Answer the bucket's region as ``LocationConstraint``."""
        del request, key, principal
        body = f"{xmlbody.XML_DECLARATION}<LocationConstraint>{LOCATION}</LocationConstraint>"
        return Response(200, dict(xmlbody.XML), body.encode())

    def get_bucket_versioning(self, request: Request, bucket: BucketConfig, key: str,
                              principal: Principal | None) -> Response:
        """Answer a configuration without ``Status``: versioning was never enabled here.

        Enabling it (PutBucketVersioning) is not offered, so no bucket ever has a status.
        """
        del request, key, principal
        body = f"{xmlbody.XML_DECLARATION}<VersioningConfiguration></VersioningConfiguration>"
        return Response(200, dict(xmlbody.XML), body.encode())

    def get_bucket_info(self, request: Request, bucket: BucketConfig, key: str,
                        principal: Principal | None) -> Response:
        """Answer ``BucketInfo``: what the emulator models, and the defaults of the rest.

        What it does not model is reported as OSS reports it when unset (access monitor,
        transfer acceleration and cross-region replication disabled, no server-side
        encryption, no logging).
        """
        del key, principal
        endpoint = escape(self.endpoint_of(request))
        created = iso_time(bucket.created or request.now)
        body = (
            f"{xmlbody.XML_DECLARATION}<BucketInfo><Bucket>"
            "<AccessMonitor>Disabled</AccessMonitor>"
            f"<CreationDate>{created}</CreationDate>"
            f"<ExtranetEndpoint>{endpoint}</ExtranetEndpoint>"
            f"<IntranetEndpoint>{endpoint}</IntranetEndpoint>"
            f"<Location>{LOCATION}</Location>"
            f"<StorageClass>{escape(bucket.storage_class)}</StorageClass>"
            "<TransferAcceleration>Disabled</TransferAcceleration>"
            "<CrossRegionReplication>Disabled</CrossRegionReplication>"
            f"<Name>{escape(bucket.name)}</Name>"
            f"<ResourceGroupId>{RESOURCE_GROUP_ID}</ResourceGroupId>"
            f"{owner_xml()}"
            f"<AccessControlList><Grant>{escape(bucket.acl)}</Grant></AccessControlList>"
            "<ServerSideEncryptionRule><SSEAlgorithm>None</SSEAlgorithm>"
            "</ServerSideEncryptionRule>"
            "<BucketPolicy><LogBucket></LogBucket><LogPrefix></LogPrefix></BucketPolicy>"
            f"<DataRedundancyType>{escape(bucket.redundancy)}</DataRedundancyType>"
            f"<BlockPublicAccess>{'true' if bucket.block_public_access else 'false'}"
            "</BlockPublicAccess>"
            "<Comment></Comment>"
            "</Bucket></BucketInfo>"
        )
        return Response(200, dict(xmlbody.XML), body.encode())

    def get_bucket_stat(self, request: Request, bucket: BucketConfig, key: str,
                        principal: Principal | None) -> Response:
        """Answer ``BucketStat``: sizes and counts computed now (OSS's lag hourly).

        The "real" storage of the infrequent-access and archive classes (their minimum
        billable sizes) is reported as the stored size: UNCONFIRMED how OSS rounds it.
        """
        del request, key, principal
        objects = self.store.list(bucket.name)
        latest = max((m.last_modified for m in objects), default=None)
        parts = [
            f"<Storage>{sum(m.size for m in objects)}</Storage>",
            f"<ObjectCount>{len(objects)}</ObjectCount>",
            f"<MultipartUploadCount>{self.uploads.count(bucket.name)}</MultipartUploadCount>",
            "<LiveChannelCount>0</LiveChannelCount>",
            f"<LastModifiedTime>{int(latest.timestamp()) if latest else 0}</LastModifiedTime>",
        ]
        for storage_class, prefix in _STAT_CLASSES:
            chosen = [m for m in objects if m.storage_class == storage_class]
            size = sum(m.size for m in chosen)
            parts.append(f"<{prefix}Storage>{size}</{prefix}Storage>")
            if storage_class != "Standard":
                parts.append(f"<{prefix}RealStorage>{size}</{prefix}RealStorage>")
            parts.append(f"<{prefix}ObjectCount>{len(chosen)}</{prefix}ObjectCount>")
        parts.append("<DeleteMarkerCount>0</DeleteMarkerCount>")
        body = f"{xmlbody.XML_DECLARATION}<BucketStat>{''.join(parts)}</BucketStat>"
        return Response(200, dict(xmlbody.XML), body.encode())
