"""Small XML request bodies (bucket creation, tags, multipart completion) read safely.

Owns reading such a body within a size limit and parsing it without a DTD (entities
declared there could expand without bound; no OSS schema has one), plus what the XML
answers share (the declaration, the time format), and the XML error answer every refusal
of the application becomes. Refusals are OSS's ``MalformedXML``.
No storage, no routing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import datetime, timezone
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from localcloud.oss.errors import OssError, invalid_digest, malformed_xml, render_error
from localcloud.oss.httpmessages import HEADER_EC, Request, Response, require_framed_body

#: Request bodies of the XML operations are small; this bounds what is read into memory.
#: UNCONFIRMED per operation; DeleteMultipleObjects' documented 2 MB is used everywhere.
MAX_XML_BYTES = 2 * 1024 * 1024
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
#: The headers of an XML answer (copied into each Response, which may add to them).
XML = {"Content-Type": "application/xml"}
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def read_body(request: Request, limit: int = MAX_XML_BYTES) -> bytes:
    """Read the whole body; more than ``limit`` bytes is MalformedXML, a body framed
    neither by length nor by chunks 411 MissingContentLength."""
    require_framed_body(request)
    if request.content_length is not None and request.content_length > limit:
        raise malformed_xml()
    # A BodyReader may answer fewer bytes than asked: read on until the limit or the end.
    body = request.body.read(limit + 1)
    while len(body) <= limit:
        more = request.body.read(limit + 1 - len(body))
        if not more:
            break
        body += more
    if len(body) > limit:
        raise malformed_xml()
    return body


def check_content_md5(request: Request, body: bytes) -> None:
    """Refuse a body whose ``Content-MD5``, when sent, is not its digest: InvalidDigest."""
    expected = request.header("content-md5")
    digest = base64.b64encode(hashlib.md5(body).digest()).decode("ascii")  # noqa: S324
    if expected and expected != digest:
        raise invalid_digest()


def local_name(tag: str) -> str:
    """Return a tag without its namespace (some OSS samples carry ``xmlns``)."""
    return tag.rsplit("}", 1)[-1]


# Object names may hold control characters (see objectnames.check_object_name), which XML 1.0
# cannot carry even as character references; OSS's SDKs send them as ``&#01;`` anyway
# (alibabacloud-oss-v2's DeleteMultipleObjects body does) and OSS reads them. The
# emulator's parser would refuse such a reference, so each is swapped for a code point of
# a private-use block before parsing and swapped back in the parsed text.
_CONTROL_REF = re.compile(rb"&#(?:([0-9]+)|x([0-9A-Fa-f]+));")
_XML10_CONTROLS = frozenset(range(32)) - {0x09, 0x0A, 0x0D}
_STAND_IN = 0xF0000  # plane 15, private use: never in a key OSS stores for a client
_BACK = {_STAND_IN + code: chr(code) for code in _XML10_CONTROLS}


def _stand_in(match: re.Match[bytes]) -> bytes:
    code = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
    if code not in _XML10_CONTROLS:
        return match.group(0)
    return chr(_STAND_IN + code).encode("utf-8")


def parse(body: bytes, root: str) -> Element:
    """Parse ``body`` and check that its root element is ``root``; else MalformedXML.

    Character references to control characters are read as those characters.
    """
    if _DTD.search(body):
        raise malformed_xml()
    if any(chr(code).encode("utf-8") in body for code in _BACK):
        # A literal stand-in would be read back as a control character.
        raise malformed_xml()
    try:
        element = ElementTree.fromstring(_CONTROL_REF.sub(_stand_in, body))
    except ElementTree.ParseError:
        raise malformed_xml() from None
    if local_name(element.tag) != root:
        raise malformed_xml()
    for node in element.iter():
        if node.text:
            node.text = node.text.translate(_BACK)
    return element


def children(element: Element) -> dict[str, str]:
    """Return the text of each direct child by local name (the last one wins)."""
    return {local_name(child.tag): (child.text or "") for child in element}


def is_truncated(truncated: bool) -> str:
    """Return a listing's ``IsTruncated`` element: ``true`` when another page follows."""
    return f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>"


def iso_time(moment: datetime) -> str:
    """Format a time as OSS's XML bodies do (``2024-01-02T03:04:05.000Z``)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def error_response(request: Request, error: OssError, bucket: str | None) -> Response:
    """Return the answer to a refused request: OSS's XML ``Error``, its EC and headers.

    ``HostId`` names the bucket's host. A HEAD answer has no body: OSS carries the error
    document Base64-encoded in ``x-oss-err`` instead.
    """
    host = request.header("host")
    host_id = f"{bucket}.{host}" if bucket and bucket not in host else host
    body = render_error(error, request_id=request.request_id, host_id=host_id)
    headers = dict(XML)
    headers.update(error.headers)
    if error.ec:
        headers[HEADER_EC] = error.ec
    if request.method == "HEAD":
        headers["x-oss-err"] = base64.b64encode(body).decode("ascii")
        return Response(error.status, headers, b"")
    return Response(error.status, headers, body)
