"""DeleteMultipleObjects: ``POST /?delete`` with a ``<Delete>`` body, verbose or quiet.

Owns reading the request (``Content-MD5`` required and checked, the 2 MB body and
1000-object limits, the ``<Delete>`` XML), the permission rule and the ``DeleteResult``
answer. The request is all or nothing: every key is checked (name, then ``oss:DeleteObject``)
before the first one is deleted. Keys that do not exist count as deleted, as in OSS.
No socket code.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from localcloud.identity import Principal
from localcloud.oss import access, listing, xmlbody
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.errors import (
    malformed_xml,
    missing_content_md5,
    not_implemented,
    user_key_must_be_specified,
)
from localcloud.oss.httpmessages import Request, Response, require_framed_body
from localcloud.oss.objectapi import check_key
from localcloud.oss.store import ObjectStore

#: "The body may hold at most 2 MB; more is MalformedXML" and "at most 1000 objects; more
#: is MalformedXML" (DeleteMultipleObjects reference, usage details).
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_OBJECTS = 1000


#: The only version an object has in a bucket whose versioning was never enabled (the
#: only kind the emulator models): what ListObjectVersions reports and cleaning tools
#: then name here.
NULL_VERSION = "null"


@dataclass(frozen=True)
class DeleteRequest:
    """What a ``<Delete>`` body asks for; ``versions`` holds each key's VersionId or None."""

    keys: tuple[str, ...]
    quiet: bool
    versions: tuple[str | None, ...] = ()


def parse_delete(body: bytes) -> DeleteRequest:
    """Read ``<Delete><Quiet/>?<Object><Key/></Object>+</Delete>``.

    An empty list and an unknown ``Quiet`` value are read as malformed (UNCONFIRMED; the
    stricter reading). A ``VersionId`` other than ``null`` names a version, which is not
    modelled: 501.
    """
    root = xmlbody.parse(body, "Delete")
    quiet = False
    keys: list[str] = []
    versions: list[str | None] = []
    for child in root:
        name = xmlbody.local_name(child.tag)
        if name == "Quiet":
            text = (child.text or "").strip().lower()
            if text not in ("true", "false"):
                raise malformed_xml()
            quiet = text == "true"
        elif name == "Object":
            parts = {xmlbody.local_name(part.tag): part.text or "" for part in child}
            if parts.get("VersionId", NULL_VERSION) != NULL_VERSION:
                raise not_implemented()
            if not parts.get("Key"):
                raise user_key_must_be_specified()
            keys.append(parts["Key"])
            versions.append(parts.get("VersionId"))
        else:
            raise malformed_xml()
    if not keys or len(keys) > MAX_OBJECTS:
        raise malformed_xml()
    return DeleteRequest(tuple(keys), quiet, tuple(versions))


def render_delete_result(keys: tuple[str, ...], *, url_encoded: bool,
                         versions: tuple[str | None, ...] = ()) -> bytes:
    """Render the verbose ``DeleteResult`` body (a key's VersionId echoed when named)."""
    parts = [f"{xmlbody.XML_DECLARATION}<DeleteResult>"]
    if url_encoded:
        parts.append("<EncodingType>url</EncodingType>")
    for index, key in enumerate(keys):
        version = versions[index] if index < len(versions) else None
        echoed = f"<VersionId>{escape(version)}</VersionId>" if version else ""
        parts.append(f"<Deleted><Key>{listing.shown(key, url_encoded)}</Key>{echoed}</Deleted>")
    parts.append("</DeleteResult>")
    return "".join(parts).encode("utf-8")


@dataclass
class DeleteMultipleObjects:
    """The batch delete over one store."""

    store: ObjectStore

    def __call__(self, request: Request, bucket: BucketConfig, key: str,
                 principal: Principal | None) -> Response:
        """Delete every listed key, or none of them, and answer ``DeleteResult``."""
        del key
        if principal is None:
            # An anonymous caller is refused by the bucket ACL before the body is read.
            access.authorize(None, "oss:DeleteObject", bucket=bucket.name, key="",
                             acl=bucket.acl_in_force)
        require_framed_body(request)
        url = listing.url_encoded(request.query)
        if not request.header("content-md5"):
            raise missing_content_md5()
        body = xmlbody.read_body(request, MAX_BODY_BYTES)
        xmlbody.check_content_md5(request, body)
        wanted = parse_delete(body)
        for name in wanted.keys:
            check_key(name)
        for name in wanted.keys:
            # UNCONFIRMED how OSS answers a batch that is only partly permitted; refusing
            # the whole request (nothing deleted) is the stricter reading.
            access.authorize(principal, "oss:DeleteObject", bucket=bucket.name, key=name,
                             acl=bucket.acl_in_force)
        for name in wanted.keys:
            self.store.delete(bucket.name, name)
        if wanted.quiet:
            # Quiet mode lists only failures; with none there is no body (reference).
            return Response(200)
        return Response(200, dict(xmlbody.XML),
                        render_delete_result(wanted.keys, url_encoded=url,
                                             versions=wanted.versions))
