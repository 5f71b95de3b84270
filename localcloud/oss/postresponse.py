"""The success answer to a PostObject: status, headers and body per oss-postobject.md §7.

Owns the choice between 204, 200, 201 (``PostResponse`` XML, children Bucket,
Location, Key, ETag — the order of a captured real response, ETag unquoted) and a
303 redirect. The shell adds ``x-oss-request-id``, ``Date``, ``Server`` and CORS.
Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from localcloud.oss.wire import HEADER_CRC64

if TYPE_CHECKING:
    from localcloud.oss.postobject import VerifiedUpload


def success_response(
    upload: VerifiedUpload, *, bucket: str, location: str, etag: str
) -> tuple[int, dict[str, str], bytes]:
    """Build (status, headers, body) for a stored upload without a callback.

    ``success_action_redirect`` wins when present: 303 to it, nothing added to the
    URL (OSS's code and query parameters are UNCONFIRMED). Otherwise
    ``success_action_status`` 200 → 200 empty, 201 → 201 XML, anything else → 204.
    """
    quoted = etag if etag.startswith('"') else f'"{etag}"'
    headers = {
        "ETag": quoted,
        HEADER_CRC64: str(upload.crc64),
        "Content-MD5": upload.content_md5,
    }
    if upload.success_action_redirect:
        headers["Location"] = upload.success_action_redirect
        headers["Content-Length"] = "0"
        return 303, headers, b""
    status = upload.success_action_status
    if status == "201":
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse>'
            f"<Bucket>{escape(bucket)}</Bucket>"
            f"<Location>{escape(location)}</Location>"
            f"<Key>{escape(upload.key)}</Key>"
            f"<ETag>{escape(quoted.strip(chr(34)))}</ETag>"
            "</PostResponse>"
        ).encode()
        headers["Content-Type"] = "application/xml"
        headers["Content-Length"] = str(len(body))
        return 201, headers, body
    headers["Content-Length"] = "0"
    return (200 if status == "200" else 204), headers, b""
