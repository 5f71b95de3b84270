"""The emulator application: addressing, routing, CORS, website reads and error rendering.

Owns the mapping of an HTTP request to an OSS operation (virtual-hosted or path-style
bucket addressing, the website origin, preflights) and the one place an :class:`OssError`
becomes an XML response. Operations themselves live in :mod:`objectapi`,
:mod:`postupload` and :mod:`website`. No sockets: :mod:`server` calls :meth:`__call__`.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from localcloud.oss import cors, website
from localcloud.oss.access import Lookup
from localcloud.oss.buckets import BucketConfig, BucketRegistry, no_such_bucket
from localcloud.oss.errors import OssError, render_error
from localcloud.oss.objectapi import ObjectApi
from localcloud.oss.postsettings import PostSettings
from localcloud.oss.postupload import CallbackSigner, handle_post_object
from localcloud.oss.store import ObjectStore
from localcloud.oss.wire import HEADER_EC, Request, Response

PUB_KEY_PATH = "/.localcloud/callback_pub_key_v1.pem"  # OSS's published file name


def not_implemented() -> OssError:
    """Return the answer for an operation the emulator does not offer."""
    return OssError(501, "NotImplemented", "A header you provided implies functionality "
                    "that is not implemented.")


def method_not_allowed() -> OssError:
    """Return the answer for a method OSS does not accept on this resource."""
    return OssError(405, "MethodNotAllowed",
                    "The specified method is not allowed against this resource.")


@dataclass
class EmulatorApp:
    """Everything one emulator serves; callable as the shell's handler.

    ``website_host``: requests whose Host (without port) equals it are website reads of
    ``website_bucket``, so the page has an origin of its own, distinct from the bucket's
    POST endpoint (``http://127.0.0.1:<port>/<bucket>``) and from the function's.
    """

    store: ObjectStore
    buckets: BucketRegistry
    lookup: Lookup
    signer: CallbackSigner
    public_key_pem: bytes
    post_settings: PostSettings = field(default_factory=PostSettings)
    website_host: str | None = "localhost"
    website_bucket: str | None = None
    objects: ObjectApi = field(init=False)

    def __post_init__(self) -> None:
        self.objects = ObjectApi(self.store, self.buckets, self.lookup)

    def __call__(self, request: Request) -> Response:
        """Answer one request; OSS refusals become OSS XML errors."""
        bucket_name: str | None = None
        try:
            bucket_name, key, is_website = self._address(request)
            bucket = self.buckets.get(bucket_name) if bucket_name else None
            try:
                response = self._route(request, bucket_name, bucket, key, is_website)
            except OssError as error:
                response = self._error(request, error, bucket_name)
            if bucket is not None and request.method != "OPTIONS":
                response.headers.update(
                    cors.actual_response_headers(bucket.cors_rules, request.header("origin"),
                                                 request.method)
                )
            return response
        except OssError as error:
            return self._error(request, error, bucket_name)

    def _address(self, request: Request) -> tuple[str | None, str, bool]:
        """Return (bucket, key, is_website) from the Host header and the path."""
        host = request.header("host").split(":", 1)[0].lower()
        path = request.path
        if host.startswith("[") or not path.startswith("/"):
            host = ""
        if self.website_host and host == self.website_host and self.website_bucket:
            return self.website_bucket, path[1:], True
        first_label = host.split(".", 1)[0] if "." in host else ""
        if first_label and self.buckets.get(first_label) is not None:
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
        if bucket_name is None:
            raise OssError(403, "AccessDenied", "Anonymous access is forbidden for this "
                           "operation.")
        if bucket is None:
            raise no_such_bucket()
        if method == "OPTIONS":
            headers = cors.preflight(
                bucket.cors_rules,
                request.header("origin") or None,
                request.header(cors.REQUEST_METHOD.lower()) or None,
                request.header(cors.REQUEST_HEADERS.lower()) or None,
            )
            return Response(200, headers)
        if is_website and method in ("GET", "HEAD"):
            return website.serve(self.store, bucket, key, request)
        if not key:
            return self._bucket_operation(request, bucket)
        if method == "PUT":
            return self.objects.put_object(request, bucket, key)
        if method == "GET":
            return self.objects.get_object(request, bucket, key)
        if method == "HEAD":
            return self.objects.head_object(request, bucket, key)
        if method == "DELETE":
            return self.objects.delete_object(request, bucket, key)
        raise method_not_allowed()

    def _bucket_operation(self, request: Request, bucket: BucketConfig) -> Response:
        method, query = request.method, request.query
        if method == "POST" and not query:
            return handle_post_object(
                request,
                bucket,
                store=self.store,
                lookup=self.lookup,
                settings=self.post_settings,
                location_base=self._location_base(request, bucket),
                signer=self.signer,
            )
        if method == "GET" and query.get("list-type") == "2":
            return self.objects.list_objects_v2(request, bucket)
        if method in ("GET", "HEAD") and not query and bucket.index_document:
            return website.serve(self.store, bucket, "", request)
        if method in ("GET", "PUT", "DELETE", "POST", "HEAD"):
            raise not_implemented()
        raise method_not_allowed()

    @staticmethod
    def _location_base(request: Request, bucket: BucketConfig) -> str:
        host = request.header("host") or "127.0.0.1"
        if host.split(".", 1)[0].lower() == bucket.name:
            return f"http://{host}"
        return f"http://{host}/{bucket.name}"

    @staticmethod
    def _error(request: Request, error: OssError, bucket_name: str | None) -> Response:
        host = request.header("host")
        host_id = f"{bucket_name}.{host}" if bucket_name and bucket_name not in host else host
        body = render_error(error, request_id=request.request_id, host_id=host_id)
        headers = {"Content-Type": "application/xml"}
        headers.update(error.headers)
        if error.ec:
            headers[HEADER_EC] = error.ec
        if request.method == "HEAD":
            # No body on HEAD: OSS carries the error document Base64-encoded in x-oss-err.
            headers["x-oss-err"] = base64.b64encode(body).decode("ascii")
            return Response(error.status, headers, b"")
        return Response(error.status, headers, body)
