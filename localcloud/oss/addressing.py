"""Which bucket and object a request addresses, and the URLs the emulator answers with.

Owns OSS's two addressing styles as the emulator reads them: virtual-hosted
(``<bucket>.<endpoint>``, the bucket in the first label of Host) and path-style
(``/<bucket>/<key>``), plus the website origin (a Host that serves one bucket's website),
and the base of the ``Location`` a stored PostObject reports. Pure: the bucket registry is
asked only whether a name exists. No routing, no storage.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from localcloud.oss.httpmessages import Request

#: Host names under which the first label is a bucket: localhost and OSS's endpoints.
_VIRTUAL_HOST_DOMAIN = re.compile(r"localhost|oss-[a-z0-9-]+(-internal)?\.aliyuncs\.com")


@dataclass(frozen=True)
class Address:
    """The bucket (None: the service), the object key ("" at bucket level), website or not."""

    bucket: str | None
    key: str
    is_website: bool = False


@dataclass(frozen=True)
class Addressing:
    """How this emulator reads Host and path.

    ``website_host``: requests whose Host (without port) equals it are website reads of
    ``website_bucket``. ``bucket_exists`` tells whether a name is a bucket here.
    """

    bucket_exists: Callable[[str], bool]
    website_host: str | None = "localhost"
    website_bucket: str | None = None

    def address_of(self, request: Request) -> Address:
        """Return the address of a request from its Host header and its path."""
        host = request.header("host").split(":", 1)[0].lower()
        path = request.path
        if host.startswith("[") or not path.startswith("/"):
            host = ""
        if self.website_host and host == self.website_host and self.website_bucket:
            return Address(self.website_bucket, path[1:], True)
        first_label, _, domain = host.partition(".")
        # Virtual-hosted: the first label names a bucket that exists, or any bucket when
        # the rest is an OSS endpoint or localhost (so a bucket not made yet, or gone, is
        # PutBucket's or NoSuchBucket's, never a service-level request).
        if first_label and domain and (self.bucket_exists(first_label)
                                       or _VIRTUAL_HOST_DOMAIN.fullmatch(domain)):
            return Address(first_label, path[1:])
        if path in ("/", ""):
            return Address(None, "")
        bucket_name, _, key = path[1:].partition("/")
        return Address(bucket_name, key)


def location_base(request: Request, bucket: str) -> str:
    """Return the URL of ``bucket`` as the request addressed it (virtual-hosted or not)."""
    host = request.header("host") or "127.0.0.1"
    if host.split(".", 1)[0].lower() == bucket:
        return f"http://{host}"
    return f"http://{host}/{bucket}"
