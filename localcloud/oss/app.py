"""The emulator application: addressing, authentication, routing, CORS and error rendering.

Owns the path of a request to its operation: bucket addressing (virtual-hosted or
path-style, the website origin), preflights, the classification of the request by
:mod:`localcloud.oss.operations` (method + subresources + operation header), the order
OSS checks in (the addressed bucket must exist, then the caller is authenticated, before
anything else) and the dispatch to the handler that serves it (the table of served
operations is :mod:`localcloud.oss.served`'s); an :class:`OssError` becomes an XML
response (:func:`xmlbody.error_response`). An operation without a handler, or a request
carrying a parameter or header the emulator does not model, answers 501 NotImplemented and
changes nothing. Operations themselves live in :mod:`objects`, :mod:`objectacl`,
:mod:`objecttagging`, :mod:`copyobject`, :mod:`appendobject`, :mod:`deletemulti`,
:mod:`multipartupload`, :mod:`completeupload`, :mod:`bucketapi`, :mod:`serviceapi`,
:mod:`postobject` and :mod:`website`. No sockets: :mod:`server` calls
:meth:`EmulatorApp.__call__`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from localcloud.identity import FindPrincipal, Principal
from localcloud.oss import access, cors, headerauth, website, xmlbody
from localcloud.oss.bucketapi import BucketApi
from localcloud.oss.buckets import BucketConfig, BucketRegistry, no_such_bucket
from localcloud.oss.callbackclient import CallbackSigner
from localcloud.oss.completeupload import CompleteUpload
from localcloud.oss.copyobject import CopyObject
from localcloud.oss.errors import OssError, method_not_allowed, not_implemented
from localcloud.oss.httpmessages import Request, Response
from localcloud.oss.multipartupload import MultipartUpload
from localcloud.oss.objects import ObjectApi
from localcloud.oss.operations import OSS_METHODS, Classified, classify, scope_of
from localcloud.oss.partstore import UploadStore
from localcloud.oss.postobject.settings import PostSettings
from localcloud.oss.postobject.store import handle_post_object
from localcloud.oss.served import (
    Handler,
    RoutingSettings,
    ServedOperations,
    served_operations,
)
from localcloud.oss.store import ObjectStore

PUB_KEY_PATH = "/.localcloud/callback_pub_key_v1.pem"  # OSS's published file name

#: Host names under which the first label is a bucket: localhost and OSS's endpoints.
_VIRTUAL_HOST_DOMAIN = re.compile(r"localhost|oss-[a-z0-9-]+(-internal)?\.aliyuncs\.com")

#: Operations that may address a bucket that does not exist yet, so the caller is
#: authenticated before the bucket is looked up: PutBucket, and PutBucketAcl (in OSS's
#: first API one request with PutBucket; the official SDK's integration tests expect an
#: unknown AccessKey to get 403 InvalidAccessKeyId from both on a new name).
CREATING_OPERATIONS = frozenset({"PutBucket", "PutBucketAcl"})

__all__ = ["PUB_KEY_PATH", "EmulatorApp", "Handler", "RoutingSettings"]


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
    served: ServedOperations = field(init=False)

    def __post_init__(self) -> None:
        self.objects = ObjectApi(self.store, self.buckets)
        self.uploads = UploadStore(self.store.root)
        self.bucket_api = BucketApi(self.store, self.buckets, self.uploads, self.endpoint_of)
        self.multipart = MultipartUpload(self.store, self.buckets, self.uploads)
        self.served = served_operations(self)

    def endpoint_of(self, request: Request) -> str:
        """Return the endpoint URL buckets report (see ``endpoint_url``)."""
        if self.endpoint_url:
            return self.endpoint_url
        return f"http://{request.header('host') or '127.0.0.1'}"

    def __call__(self, request: Request) -> Response:
        """Answer one request; OSS refusals become OSS XML errors."""
        bucket_name: str | None = None
        try:
            bucket_name, key, is_website = self._address(request)
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

    def _address(self, request: Request) -> tuple[str | None, str, bool]:
        """Return (bucket, key, is_website) from the Host header and the path."""
        host = request.header("host").split(":", 1)[0].lower()
        path = request.path
        if host.startswith("[") or not path.startswith("/"):
            host = ""
        if self.website_host and host == self.website_host and self.website_bucket:
            return self.website_bucket, path[1:], True
        first_label, _, domain = host.partition(".")
        # Virtual-hosted: the first label names a bucket that exists, or any bucket when
        # the rest is an OSS endpoint or localhost (so a bucket not made yet, or gone, is
        # PutBucket's or NoSuchBucket's, never a service-level request).
        if first_label and domain and (self.buckets.get(first_label) is not None
                                       or _VIRTUAL_HOST_DOMAIN.fullmatch(domain)):
            return first_label, path[1:], False
        if path in ("/", ""):
            return None, "", False
        bucket_name, _, key = path[1:].partition("/")
        return bucket_name, key, False

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
        check = self.served.router_checks.get(found.operation.name)
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
        return self.served.handlers.get(name) if name else None

    def _service_operation(self, request: Request, found: Classified,
                           principal: Principal | None) -> Response:
        """No bucket addressed: ListBuckets and DescribeRegions; anything else is a 501."""
        if principal is None:
            raise access.anonymous_forbidden()
        name = self._served(found)
        handler = self.served.service_handlers.get(name) if name else None
        if found.operation is not None:
            access.authorize_signed(principal, found.operation.action, access.SERVICE_RESOURCE)
        if handler is None:
            raise not_implemented()
        return handler(request)

    def copy_object(self, request: Request, bucket: BucketConfig, key: str,
                    principal: Principal | None) -> Response:
        """Serve CopyObject with this emulator's largest copyable size."""
        copier = CopyObject(self.store, self.buckets, self.routing.copy_max_bytes)
        return copier(request, bucket, key, principal)

    def complete_upload(self, request: Request, bucket: BucketConfig, key: str,
                        principal: Principal | None) -> Response:
        """Serve CompleteMultipartUpload with this emulator's settings and callback key."""
        complete = CompleteUpload(self.multipart, self.endpoint_of,
                                  self.routing.require_quoted_part_etag, self.signer)
        return complete(request, bucket, key, principal)

    def post_object(self, request: Request, bucket: BucketConfig, key: str,
                    principal: Principal | None) -> Response:
        """Serve PostObject with this emulator's settings and callback key."""
        # PostObject is signed by its form fields, not by headers: the header principal
        # (normally None) plays no part.
        del key, principal
        return handle_post_object(
            request,
            bucket,
            store=self.store,
            lookup=self.lookup,
            settings=self.post_settings,
            location_base=self._location_base(request, bucket),
            signer=self.signer,
        )

    @staticmethod
    def _location_base(request: Request, bucket: BucketConfig) -> str:
        host = request.header("host") or "127.0.0.1"
        if host.split(".", 1)[0].lower() == bucket.name:
            return f"http://{host}"
        return f"http://{host}/{bucket.name}"
