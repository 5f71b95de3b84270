"""Which OSS operation a request is: method, subresource set and operation header.

Owns the one table of OSS operations by their wire signature, collected from the OSS API
reference and the operation definitions of the official Python SDK (alibabacloud-oss-v2
``operations/*.py``: each call's method, ``parameters`` and ``op_metadata['sub-resource']``),
and the classification of a request against it. A query key that names an operation (a
*subresource*) always takes part in the match, so ``PUT /k?acl`` can never be mistaken for
PutObject, nor ``DELETE /k?uploadId=…`` for DeleteObject. Pure: no I/O, no handlers;
:mod:`localcloud.oss.app` decides which operations it serves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from localcloud.oss import v1header, v4authorization, v4canonical

Scope = Literal["service", "bucket", "object"]

#: Methods OSS serves at all; any other method is 405 MethodNotAllowed.
OSS_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"})

#: Query keys that carry a request's signature, never part of what it asks for.
AUTH_PARAMS = frozenset({
    v4authorization.Q_SIGNATURE_VERSION, v4authorization.Q_CREDENTIAL,
    v4authorization.Q_DATE, v4authorization.Q_EXPIRES, v4canonical.Q_SIGNATURE,
    v4authorization.Q_ADDITIONAL_HEADERS, v4authorization.Q_SECURITY_TOKEN,
    v1header.Q_ACCESS_KEY_ID, v1header.Q_EXPIRES, v1header.Q_SIGNATURE,
    v1header.Q_SECURITY_TOKEN,
})

RESPONSE_OVERRIDES = frozenset({
    "response-content-type", "response-content-language", "response-expires",
    "response-cache-control", "response-content-disposition", "response-content-encoding",
})

H_COPY_SOURCE = "x-oss-copy-source"

#: Headers that ask a write for something the emulator does not model (an upload
#: callback outside PostObject, server-side encryption). Storing the bytes without it
#: would answer 200 for a different outcome than OSS's, so they are 501.
CALLBACK_HEADERS = frozenset({"x-oss-callback", "x-oss-callback-var"})
UNMODELLED_WRITE_HEADERS = frozenset({
    *CALLBACK_HEADERS,
    "x-oss-server-side-encryption", "x-oss-server-side-data-encryption",
    "x-oss-server-side-encryption-key-id",
})

_LIST_V1 = ("prefix", "marker", "delimiter", "max-keys", "encoding-type")
_LIST_V2 = ("prefix", "delimiter", "start-after", "continuation-token", "max-keys",
            "encoding-type", "fetch-owner")


@dataclass(frozen=True)
class Operation:
    """One OSS operation as it appears on the wire.

    ``subresources`` is the exact set of operation-naming query keys it carries;
    ``header``, when set, must be present (CopyObject is PutObject plus
    ``x-oss-copy-source``); ``params`` are the other query keys it accepts; ``action``
    is the RAM action checked before anything else happens.
    """

    name: str
    method: str
    scope: Scope
    subresources: frozenset[str] = frozenset()
    header: str | None = None
    params: frozenset[str] = frozenset()
    action: str = ""
    unmodelled_headers: frozenset[str] = frozenset()


def _op(name: str, method: str, scope: Scope, *subresources: str, header: str | None = None,
        params: Iterable[str] = (), action: str | None = None,
        unmodelled: Collection[str] = ()) -> Operation:
    return Operation(name, method, scope, frozenset(subresources), header,
                     frozenset(params), action or f"oss:{name}", frozenset(unmodelled))


def _config(names: str, sub: str, scope: Scope = "bucket", *extra: str) -> list[Operation]:
    """Put/Get/Delete<names> on ``?sub`` (the common shape of a bucket configuration)."""
    verbs = {"Put": "PUT", "Get": "GET", "Delete": "DELETE"}
    out = []
    for word in names.split():
        verb, _, rest = word.partition(":")
        out.append(_op(f"{verb}{rest}", verbs[verb], scope, sub, *extra))
    return out


OPERATIONS: tuple[Operation, ...] = (
    # --- service (no bucket) ------------------------------------------------------------
    # Filters by resource group or bucket tag are not modelled: with them the list would
    # hold buckets they exclude, so they are unknown parameters/headers (501).
    _op("ListBuckets", "GET", "service", params=("prefix", "marker", "max-keys"),
        unmodelled=("x-oss-resource-group-id",)),
    _op("DescribeRegions", "GET", "service", "regions", action="oss:DescribeRegions"),
    _op("ListCloudBoxes", "GET", "service", "cloudboxes"),
    _op("ListUserDataRedundancyTransition", "GET", "service", "redundancyTransition"),
    _op("ListAccessPoints", "GET", "service", "accessPoint"),
    *_config("Put:PublicAccessBlock Get:PublicAccessBlock Delete:PublicAccessBlock",
             "publicAccessBlock", "service"),
    # --- bucket: objects ----------------------------------------------------------------
    _op("PostObject", "POST", "bucket", action="oss:PutObject"),
    _op("ListObjects", "GET", "bucket", params=_LIST_V1),
    _op("ListObjectsV2", "GET", "bucket", "list-type", params=_LIST_V2,
        action="oss:ListObjects"),
    _op("DeleteMultipleObjects", "POST", "bucket", "delete", params=("encoding-type",),
        action="oss:DeleteObject"),
    _op("ListObjectVersions", "GET", "bucket", "versions",
        params=("prefix", "delimiter", "max-keys", "encoding-type", "key-marker",
                "version-id-marker")),
    _op("ListMultipartUploads", "GET", "bucket", "uploads",
        params=("prefix", "delimiter", "key-marker", "upload-id-marker", "max-uploads",
                "encoding-type")),
    _op("ListLiveChannel", "GET", "bucket", "live", params=("prefix", "marker", "max-keys")),
    # --- bucket: the bucket itself and its configurations -------------------------------
    _op("PutBucket", "PUT", "bucket", unmodelled=(
        "x-oss-resource-group-id", "x-oss-bucket-tagging", "x-oss-agentic-bucket",
        "x-oss-hns-status", "x-oss-server-side-encryption")),
    _op("DeleteBucket", "DELETE", "bucket"),
    _op("GetBucketInfo", "GET", "bucket", "bucketInfo"),
    _op("GetBucketLocation", "GET", "bucket", "location"),
    _op("GetBucketStat", "GET", "bucket", "stat"),
    *_config("Put:BucketAcl Get:BucketAcl", "acl"),
    *_config("Put:BucketVersioning Get:BucketVersioning", "versioning"),
    *_config("Put:BucketCors Get:BucketCors Delete:BucketCors", "cors"),
    *_config("Put:BucketLifecycle Get:BucketLifecycle Delete:BucketLifecycle", "lifecycle"),
    *_config("Put:BucketWebsite Get:BucketWebsite Delete:BucketWebsite", "website"),
    *_config("Put:BucketReferer Get:BucketReferer", "referer"),
    *_config("Put:BucketLogging Get:BucketLogging Delete:BucketLogging", "logging"),
    *_config("Put:UserDefinedLogFieldsConfig Get:UserDefinedLogFieldsConfig "
             "Delete:UserDefinedLogFieldsConfig", "userDefinedLogFieldsConfig"),
    *_config("Put:BucketTags Get:BucketTags Delete:BucketTags", "tagging"),
    *_config("Put:BucketPolicy Get:BucketPolicy Delete:BucketPolicy", "policy"),
    _op("GetBucketPolicyStatus", "GET", "bucket", "policyStatus"),
    *_config("Put:BucketEncryption Get:BucketEncryption Delete:BucketEncryption",
             "encryption"),
    _op("ListBucketInventory", "GET", "bucket", "inventory",
        params=("continuation-token",)),
    *_config("Put:BucketInventory Get:BucketInventory Delete:BucketInventory", "inventory",
             "bucket", "inventoryId"),
    *_config("Put:BucketRequestPayment Get:BucketRequestPayment", "requestPayment"),
    *_config("Put:BucketResourceGroup Get:BucketResourceGroup", "resourceGroup"),
    *_config("Put:BucketStorageQuota Get:BucketStorageQuota Delete:BucketStorageQuota",
             "quota"),
    *_config("Put:BucketTransferAcceleration Get:BucketTransferAcceleration",
             "transferAcceleration"),
    *_config("Put:BucketAccessMonitor Get:BucketAccessMonitor", "accessmonitor"),
    *_config("Put:BucketArchiveDirectRead Get:BucketArchiveDirectRead",
             "bucketArchiveDirectRead"),
    *_config("Put:BucketHttpsConfig Get:BucketHttpsConfig", "httpsConfig"),
    *_config("Put:BucketObjectWormConfiguration Get:BucketObjectWormConfiguration",
             "objectWorm"),
    *_config("Put:BucketOverwriteConfig Get:BucketOverwriteConfig "
             "Delete:BucketOverwriteConfig", "overwriteConfig"),
    *_config("Put:BucketPublicAccessBlock Get:BucketPublicAccessBlock "
             "Delete:BucketPublicAccessBlock", "publicAccessBlock"),
    *_config("Put:AccessPoint Get:AccessPoint Delete:AccessPoint", "accessPoint"),
    *_config("Put:AccessPointPolicy Get:AccessPointPolicy Delete:AccessPointPolicy",
             "accessPointPolicy"),
    *_config("Put:AccessPointPublicAccessBlock Get:AccessPointPublicAccessBlock "
             "Delete:AccessPointPublicAccessBlock", "publicAccessBlock", "bucket",
             "x-oss-access-point-name"),
    *_config("Get:BucketReplication", "replication"),
    # Put and Delete replication share one signature (``comp=add`` / ``comp=delete``).
    _op("PutBucketReplication", "POST", "bucket", "replication", "comp"),
    _op("GetBucketReplicationLocation", "GET", "bucket", "replicationLocation"),
    _op("GetBucketReplicationProgress", "GET", "bucket", "replicationProgress",
        params=("rule-id",)),
    _op("PutBucketRtc", "PUT", "bucket", "rtc"),
    _op("PutStyle", "PUT", "bucket", "style", "styleName"),
    _op("GetStyle", "GET", "bucket", "style", "styleName"),
    _op("DeleteStyle", "DELETE", "bucket", "style", "styleName"),
    _op("ListStyle", "GET", "bucket", "style"),
    _op("ListCname", "GET", "bucket", "cname"),
    # PutCname, DeleteCname and CreateCnameToken share one signature (``comp=…``).
    _op("PutCname", "POST", "bucket", "cname", "comp"),
    _op("GetCnameToken", "GET", "bucket", "cname", "comp"),
    _op("InitiateBucketWorm", "POST", "bucket", "worm"),
    _op("AbortBucketWorm", "DELETE", "bucket", "worm"),
    _op("GetBucketWorm", "GET", "bucket", "worm"),
    _op("CompleteBucketWorm", "POST", "bucket", "wormId"),
    _op("ExtendBucketWorm", "POST", "bucket", "wormExtend", "wormId"),
    _op("GetMetaQueryStatus", "GET", "bucket", "metaQuery"),
    # Open, Close and Do share one signature (``comp=…``).
    _op("DoMetaQuery", "POST", "bucket", "metaQuery", "comp"),
    _op("DoMetaQueryAction", "POST", "bucket", "MetaQuery"),
    _op("DoDataPipelineAction", "POST", "bucket", "dataPipeline"),
    _op("CreateBucketMetadataConfiguration", "POST", "bucket", "metadataConfiguration"),
    _op("GetBucketMetadataConfiguration", "GET", "bucket", "metadataConfiguration"),
    _op("DeleteBucketMetadataConfiguration", "DELETE", "bucket", "metadataConfiguration"),
    _op("UpdateBucketMetadataInventoryTableConfiguration", "PUT", "bucket",
        "metadataInventoryTable"),
    _op("UpdateBucketMetadataJournalTableConfiguration", "PUT", "bucket",
        "metadataJournalTable"),
    _op("CreateBucketDataRedundancyTransition", "POST", "bucket", "redundancyTransition",
        "x-oss-target-redundancy-type"),
    _op("GetBucketDataRedundancyTransition", "GET", "bucket", "redundancyTransition",
        "x-oss-redundancy-transition-taskid"),
    _op("ListBucketDataRedundancyTransition", "GET", "bucket", "redundancyTransition"),
    _op("DeleteBucketDataRedundancyTransition", "DELETE", "bucket", "redundancyTransition",
        "x-oss-redundancy-transition-taskid"),
    # --- object -------------------------------------------------------------------------
    _op("PutObject", "PUT", "object", unmodelled=UNMODELLED_WRITE_HEADERS),
    _op("CopyObject", "PUT", "object", header=H_COPY_SOURCE, action="oss:PutObject",
        unmodelled=UNMODELLED_WRITE_HEADERS),
    _op("GetObject", "GET", "object", params=RESPONSE_OVERRIDES),
    _op("HeadObject", "HEAD", "object", action="oss:GetObject"),
    _op("DeleteObject", "DELETE", "object"),
    _op("GetObjectMeta", "HEAD", "object", "objectMeta", action="oss:GetObject"),
    *_config("Put:ObjectAcl Get:ObjectAcl", "acl", "object"),
    *_config("Put:ObjectTagging Get:ObjectTagging Delete:ObjectTagging", "tagging", "object"),
    *_config("Put:Symlink Get:Symlink", "symlink", "object"),
    *_config("Put:ObjectRetention Get:ObjectRetention", "retention", "object"),
    *_config("Put:ObjectLegalHold Get:ObjectLegalHold", "legalHold", "object"),
    _op("AppendObject", "POST", "object", "append", "position", action="oss:PutObject",
        unmodelled=UNMODELLED_WRITE_HEADERS),
    _op("SealAppendObject", "POST", "object", "seal", "position", action="oss:PutObject"),
    _op("RestoreObject", "POST", "object", "restore"),
    _op("CleanRestoredObject", "POST", "object", "cleanRestoredObject"),
    # SelectObject and CreateSelectObjectMeta share ProcessObject's signature.
    _op("ProcessObject", "POST", "object", "x-oss-process", action="oss:PostProcessTask"),
    _op("AsyncProcessObject", "POST", "object", "x-oss-async-process",
        action="oss:PostProcessTask"),
    _op("GetObjectWithProcess", "GET", "object", "x-oss-process", action="oss:GetObject"),
    # ``sequential`` (the completed object then carries a Content-MD5) is not modelled:
    # not accepted as a parameter, so it is a 501.
    _op("InitiateMultipartUpload", "POST", "object", "uploads",
        params=("encoding-type",), action="oss:PutObject", unmodelled=UNMODELLED_WRITE_HEADERS),
    _op("UploadPart", "PUT", "object", "partNumber", "uploadId", action="oss:PutObject",
        unmodelled=UNMODELLED_WRITE_HEADERS),
    _op("UploadPartCopy", "PUT", "object", "partNumber", "uploadId", header=H_COPY_SOURCE,
        action="oss:PutObject", unmodelled=UNMODELLED_WRITE_HEADERS),
    # Tags are fixed at Initiate; OSS's reading of x-oss-tagging on Complete is not
    # documented, so it is not modelled (501). Its upload callback is (completeupload).
    _op("CompleteMultipartUpload", "POST", "object", "uploadId", params=("encoding-type",),
        action="oss:PutObject", unmodelled=(UNMODELLED_WRITE_HEADERS - CALLBACK_HEADERS)
        | {"x-oss-tagging"}),
    _op("AbortMultipartUpload", "DELETE", "object", "uploadId"),
    _op("ListParts", "GET", "object", "uploadId",
        params=("max-parts", "part-number-marker", "encoding-type")),
    _op("PutLiveChannel", "PUT", "object", "live"),
    _op("PutLiveChannelStatus", "PUT", "object", "live", "status"),
    _op("GetLiveChannelInfo", "GET", "object", "live"),
    _op("GetLiveChannelStat", "GET", "object", "live", "comp"),
    _op("DeleteLiveChannel", "DELETE", "object", "live"),
    _op("GetVodPlaylist", "GET", "object", "vod", params=("startTime", "endTime")),
    _op("PostVodPlaylist", "POST", "object", "vod", params=("startTime", "endTime")),
)

#: Query keys that name something the emulator does not model even though no row above
#: carries them: a version (versioning is not modelled), a callback in the query string.
#: Their presence makes every request unmatched, so it is a 501 whatever else it asks.
UNMODELLED_SUBRESOURCES = frozenset({"versionId", "callback", "callback-var"})

#: Every operation-naming query key.
SUBRESOURCES = frozenset().union(
    *(op.subresources for op in OPERATIONS), UNMODELLED_SUBRESOURCES
)


@dataclass(frozen=True)
class Classified:
    """What a request asks for: its operation (None: no OSS operation has this shape)."""

    operation: Operation | None
    unknown_params: frozenset[str]
    unmodelled_headers: frozenset[str]


def scope_of(bucket: str | None, key: str) -> Scope:
    """Return the level a request addresses."""
    if not bucket:
        return "service"
    return "object" if key else "bucket"


def classify(
    method: str, scope: Scope, query: Collection[str], headers: Mapping[str, str]
) -> Classified:
    """Find the operation for ``method`` + subresources (+ operation header) at ``scope``.

    ``query`` holds the query keys; ``headers`` has lower-case names. A row with an
    operation header wins over the same row without one.
    """
    named = frozenset(key for key in query if key in SUBRESOURCES)
    found: Operation | None = None
    for op in OPERATIONS:
        if op.method != method or op.scope != scope or op.subresources != named:
            continue
        if op.header is not None and op.header not in headers:
            continue
        if found is None or (op.header is not None and found.header is None):
            found = op
    if found is None:
        return Classified(None, frozenset(), frozenset())
    unknown = frozenset(
        key for key in query
        if key not in named and key not in found.params and key not in AUTH_PARAMS
    )
    unmodelled = frozenset(name for name in found.unmodelled_headers if name in headers)
    return Classified(found, unknown, unmodelled)
