"""The emulator application: addressing, authentication, routing, CORS and error rendering.

Owns the path of a request to its operation: bucket addressing (virtual-hosted or
path-style, the website origin), preflights, the classification of the request by
:mod:`localcloud.oss.operations` (method + subresources + operation header), the order
OSS checks in (the addressed bucket must exist, then the caller is authenticated, before
anything else) and the dispatch to the handler that serves it; an :class:`OssError` becomes an XML
response (:func:`xmlbody.error_response`). An operation without a handler, or a request
carrying a parameter or header the emulator does not model, answers 501 NotImplemented and
changes nothing. Operations themselves live in :mod:`objects`, :mod:`objectacl`,
:mod:`objecttagging`, :mod:`copyobject`, :mod:`appendobject`, :mod:`deletemulti`,
:mod:`multipartupload`, :mod:`completeupload`, :mod:`bucketapi`, :mod:`serviceapi`,
:mod:`postobject` and :mod:`website`. No sockets: :mod:`server` calls
:meth:`EmulatorApp.__call__`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from localcloud.identity import FindPrincipal, Principal
from localcloud.oss import access, cors, headerauth, website, xmlbody
from localcloud.oss.addressing import Addressing, location_base
from localcloud.oss.appendobject import AppendObject
from localcloud.oss.bucketapi import BucketApi
from localcloud.oss.buckets import BucketConfig, BucketRegistry, no_such_bucket
from localcloud.oss.completeupload import CompleteUpload
from localcloud.oss.copyobject import DEFAULT_COPY_MAX_BYTES, CopyObject
from localcloud.oss.deletemulti import DeleteMultipleObjects
from localcloud.oss.errors import OssError, method_not_allowed, not_implemented
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.multipartupload import MultipartUpload
from localcloud.oss.objectacl import ObjectAcl
from localcloud.oss.objects import ObjectApi
from localcloud.oss.objecttagging import ObjectTagging
from localcloud.oss.operations import OSS_METHODS, Classified, classify, scope_of
from localcloud.oss.partstore import UploadStore
from localcloud.oss.postobject.settings import PostSettings
from localcloud.oss.postobject.store import CallbackSigner, handle_post_object
from localcloud.oss.serviceapi import ServiceApi
from localcloud.oss.store import ObjectStore

PUB_KEY_PATH = "/.localcloud/callback_pub_key_v1.pem"  # OSS's published file name

#: Serves one operation: (request, bucket, key — "" at bucket level —, caller).
Handler = Callable[[Request, BucketConfig, str, Principal | None], Response]
#: Serves one service-level operation (no bucket addressed): (request, caller).
ServiceHandler = Callable[[Request], Response]
#: How the router checks an operation before its handler (see EmulatorApp.router_checks).
RouterCheck = Literal["owner", "acl"]

#: Operations that may address a bucket that does not exist yet, so the caller is
#: authenticated before the bucket is looked up: PutBucket, and PutBucketAcl (in OSS's
#: first API one request with PutBucket; the official SDK's integration tests expect an
#: unknown AccessKey to get 403 InvalidAccessKeyId from both on a new name).
CREATING_OPERATIONS = frozenset({"PutBucket", "PutBucketAcl"})

__all__ = ["PUB_KEY_PATH", "EmulatorApp", "Handler", "RoutingSettings"]


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


@dataclass
class EmulatorApp:
    """Everything one emulator serves; callable as the shell's handler.

    ``website_host``: requests whose Host (without port) equals it are website reads of
    ``website_bucket``, so the page has an origin of its own, distinct from the bucket's
    POST endpoint (``http://127.0.0.1:<port>/<bucket>``) and from the function's.
    ``endpoint_url``: the URL buckets report as their endpoint (GetBucketInfo,
    ListBuckets); None: ``http://`` plus the request's Host.
    """

    store: ObjectStore
    buckets: BucketRegistry
    lookup: FindPrincipal
    signer: CallbackSigner
    public_key_pem: bytes
    post_settings: PostSettings = field(default_factory=PostSettings)
    website_host: str | None = "localhost"
    website_bucket: str | None = None
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    endpoint_url: str | None = None
    objects: ObjectApi = field(init=False)
    uploads: UploadStore = field(init=False)
    multipart: MultipartUpload = field(init=False)
    bucket_api: BucketApi = field(init=False)
    addressing: Addressing = field(init=False)
    handlers: Mapping[str, Handler] = field(init=False)
    router_checks: Mapping[str, RouterCheck] = field(init=False)
    service_handlers: Mapping[str, ServiceHandler] = field(init=False)

    def __post_init__(self) -> None:
        self.addressing = Addressing(lambda name: self.buckets.get(name) is not None,
                                     self.website_host, self.website_bucket)
        self.objects = ObjectApi(self.store, self.buckets)
        self.uploads = UploadStore(self.store.root)
        self.bucket_api = BucketApi(self.store, self.buckets, self.uploads, self.endpoint_of)
        service = ServiceApi(self.buckets, self.endpoint_of)
        self.service_handlers = {
            "ListBuckets": service.list_buckets,
            "DescribeRegions": service.describe_regions,
        }
        acls = ObjectAcl(self.store)
        tagging = ObjectTagging(self.store)
        multipart = MultipartUpload(self.store, self.buckets, self.uploads)
        self.multipart = multipart
        objects = self.objects
        bucket_api = self.bucket_api
        # The operations served; every other row of operations.OPERATIONS is a 501.
        self.handlers = {
            "PutObject": objects.put_object,
            "CopyObject": self._copy_object,
            "GetObject": objects.get_object,
            "HeadObject": objects.head_object,
            "GetObjectMeta": objects.head_object,
            "DeleteObject": objects.delete_object,
            "GetObjectAcl": acls.get,
            "PutObjectAcl": acls.put,
            "GetObjectTagging": tagging.get,
            "PutObjectTagging": tagging.put,
            "DeleteObjectTagging": tagging.delete,
            "DeleteMultipleObjects": DeleteMultipleObjects(self.store),
            "PostObject": self._post_object,
            "AppendObject": AppendObject(self.store),
            "InitiateMultipartUpload": multipart.initiate,
            "UploadPart": multipart.upload_part,
            "UploadPartCopy": multipart.upload_part_copy,
            "CompleteMultipartUpload": self._complete_upload,
            "AbortMultipartUpload": multipart.abort,
            "ListParts": multipart.list_parts,
            "ListMultipartUploads": multipart.list_uploads,
        }
        # Operations whose permission the router checks with the table's RAM action
        # (operations.Operation.action) before their handler runs: the bucket's own
        # operations, which only a signed caller whose RAM policy allows them on the bucket
        # may call, and the reads of the bucket a public ACL also grants.
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
        }
        acl_checked: dict[str, Handler] = {
            "GetBucketInfo": bucket_api.get_bucket_info,
            "ListObjects": objects.list_objects,
            "ListObjectsV2": objects.list_objects_v2,
            "ListObjectVersions": objects.list_object_versions,
        }
        self.handlers = {**self.handlers, **owner_checked, **acl_checked}
        self.router_checks = {**dict.fromkeys(owner_checked, "owner"),
                              **dict.fromkeys(acl_checked, "acl")}

    def endpoint_of(self, request: Request) -> str:
        """Return the endpoint URL buckets report (see ``endpoint_url``)."""
        if self.endpoint_url:
            return self.endpoint_url
        return f"http://{request.header('host') or '127.0.0.1'}"

    def __call__(self, request: Request) -> Response:
        """Answer one request; OSS refusals become OSS XML errors."""
        bucket_name: str | None = None
        try:
            address = self.addressing.address_of(request)
            bucket_name, key, is_website = address.bucket, address.key, address.is_website
            bucket = self.buckets.get(bucket_name) if bucket_name else None
            try:
                response = self._route(request, bucket_name, bucket, key, is_website)
            except OssError as error:
                response = xmlbody.error_response(request, error, bucket_name)
            if bucket is not None and request.method != "OPTIONS":
                response.headers.update(
                    cors.actual_response_headers(bucket.cors_rules, request.header("origin"),
                                                 request.method)
                )
            return response
        except OssError as error:
            return xmlbody.error_response(request, error, bucket_name)

    def _route(
        self,
        request: Request,
        bucket_name: str | None,
        bucket: BucketConfig | None,
        key: str,
        is_website: bool,
    ) -> Response:
        method = request.method
        if request.path == PUB_KEY_PATH and method in ("GET", "HEAD"):
            return Response(200, {"Content-Type": "application/x-pem-file"}, self.public_key_pem)
        if method not in OSS_METHODS:
            raise method_not_allowed()
        if bucket is not None and method == "OPTIONS":
            headers = cors.preflight(
                bucket.cors_rules,
                request.header("origin") or None,
                request.header(cors.REQUEST_METHOD.lower()) or None,
                request.header(cors.REQUEST_HEADERS.lower()) or None,
            )
            return Response(200, headers)
        if bucket is not None and is_website and method in ("GET", "HEAD"):
            # The website origin serves anonymous reads only; nothing there is an API call.
            return website.serve(self.store, bucket, key, request)
        scope = scope_of(bucket_name, key)
        query = request.query
        found = classify(method, scope, query.keys(), request.headers)
        name = found.operation.name if found.operation is not None else None
        # OSS finds the addressed bucket first: a request to one that does not exist is 404
        # NoSuchBucket whatever its signature (the official SDK's integration tests expect
        # it of an unknown AccessKey), except for the operations that may name a new one.
        if bucket_name is not None and bucket is None and name not in CREATING_OPERATIONS:
            raise no_such_bucket()
        # Then the caller: a bad signature or an unknown AccessKey is a 403 whatever the
        # operation, before it is routed.
        principal = headerauth.authenticate(request, bucket=bucket_name or "", key=key,
                                            lookup=self.lookup)
        if bucket_name is None:
            return self._service_operation(request, found, principal)
        if self._served(found) == "PutBucket":
            assert found.operation is not None
            access.authorize_bucket(principal, found.operation.action, bucket_name)
            return self.bucket_api.put_bucket(request, bucket_name)
        if bucket is None:
            # A creating operation on a new name that is not served as such: PutBucketAcl
            # (it never creates), or PutBucket with a header or parameter not modelled.
            assert found.operation is not None
            access.authorize_bucket(principal, found.operation.action, bucket_name)
            raise no_such_bucket() if name == "PutBucketAcl" else not_implemented()
        if (principal is None and not key and bucket.index_document
                and method in ("GET", "HEAD") and not query):
            # An anonymous read of a website bucket's root is the index document; a signed
            # one is ListObjects, an API call that never answers with website content.
            return website.serve(self.store, bucket, "", request)
        if scope == "object" and method == "POST" and not query:
            # OSS has no plain POST on an object (PostObject goes to the bucket).
            raise method_not_allowed()
        handler = self._handler_for(found)
        if handler is None:
            # Refuse as OSS would refuse this caller; else 501, and nothing changes. An
            # unknown operation admits only what a public-read-write bucket admits anyone.
            if found.operation is not None or principal is None:
                action = found.operation.action if found.operation is not None else ""
                access.authorize(principal, action, bucket=bucket.name, key=key,
                                 acl=bucket.acl_in_force)
            raise not_implemented()
        assert found.operation is not None
        check = self.router_checks.get(found.operation.name)
        if check == "owner":
            access.authorize_bucket(principal, found.operation.action, bucket.name)
        elif check == "acl":
            access.authorize(principal, found.operation.action, bucket=bucket.name, key="",
                             acl=bucket.acl_in_force)
        return handler(request, bucket, key, principal)

    def _served(self, found: Classified) -> str | None:
        """Return the name of the operation to serve, or None (a 501): no OSS operation
        has the request's shape, or it carries a header or parameter the emulator does
        not model."""
        if found.operation is None or found.unmodelled_headers:
            return None
        if found.unknown_params and self.routing.reject_unknown_query:
            return None
        return found.operation.name

    def _handler_for(self, found: Classified) -> Handler | None:
        """Return the handler serving the request as classified, or None (a 501)."""
        name = self._served(found)
        return self.handlers.get(name) if name else None

    def _service_operation(self, request: Request, found: Classified,
                           principal: Principal | None) -> Response:
        """No bucket addressed: ListBuckets and DescribeRegions; anything else is a 501."""
        if principal is None:
            raise access.anonymous_forbidden()
        name = self._served(found)
        handler = self.service_handlers.get(name) if name else None
        if found.operation is not None:
            access.authorize_signed(principal, found.operation.action, access.SERVICE_RESOURCE)
        if handler is None:
            raise not_implemented()
        return handler(request)

    def _copy_object(self, request: Request, bucket: BucketConfig, key: str,
                     principal: Principal | None) -> Response:
        copier = CopyObject(self.store, self.buckets, self.routing.copy_max_bytes)
        return copier(request, bucket, key, principal)

    def _complete_upload(self, request: Request, bucket: BucketConfig, key: str,
                         principal: Principal | None) -> Response:
        complete = CompleteUpload(self.multipart, self.endpoint_of,
                                  self.routing.require_quoted_part_etag, self.signer)
        return complete(request, bucket, key, principal)

    def _post_object(self, request: Request, bucket: BucketConfig, key: str,
                     principal: Principal | None) -> Response:
        # PostObject is signed by its form fields, not by headers: the header principal
        # (normally None) plays no part.
        del key, principal
        return handle_post_object(
            request,
            bucket,
            store=self.store,
            lookup=self.lookup,
            settings=self.post_settings,
            location_base=location_base(request, bucket.name),
            signer=self.signer,
        )
