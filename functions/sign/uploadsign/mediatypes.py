"""What a stored object will be: its media type, its key extension and its disposition.

The grant decides these three from the type the browser declared, never from the file
name: a client's ``evil.html`` declared as ``image/png`` is stored as ``image/png``
under a ``.png`` key. The rules:

- A declared type is read as browsers send it (``File.type``): ``""`` for an unknown
  extension means ``application/octet-stream``; parameters (``text/plain;charset=utf-8``)
  are dropped and the bare ``type/subtype`` is compared and stored.
- Script-capable types (HTML, SVG, XML, JavaScript and kin; :func:`is_active`) are stored
  as ``application/octet-stream`` unless the operator lists them in
  ``UPLOAD_ALLOWED_ACTIVE_TYPES``: a browser must never render an upload as a document
  that runs script.
- The disposition is ``inline`` only for a few raster image types a browser shows but
  never executes (:data:`INLINE_SAFE_TYPES`), ``attachment`` for everything else; both
  carry the original name as RFC 6266 / RFC 8187 ``filename*=UTF-8''…``.

Pure: strings in, strings out; depends on ``errors`` only.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import quote

from uploadsign.errors import InvalidField

if TYPE_CHECKING:
    import mimetypes

OCTET_STREAM = "application/octet-stream"
#: RFC 6838 §4.2 restricted names, lower case: each part at most 127 characters.
_MIME_TOKEN = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MIME_RE = re.compile(rf"^{_MIME_TOKEN}/{_MIME_TOKEN}$")
#: Raster images browsers display without running anything; everything else downloads.
INLINE_SAFE_TYPES: frozenset[str] = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"}
)
#: Types a browser may run script in, or that change how a page is built (WHATWG MIME
#: Sniffing's JavaScript MIME types, HTML/XML/SVG documents, XSLT, CSS, AppCache, Flash,
#: PDF with its embedded scripts). Any ``+xml`` suffix counts too (:func:`is_active`).
ACTIVE_TYPES: frozenset[str] = frozenset({
    "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
    "text/xsl", "application/xslt+xml", "text/css", "text/cache-manifest",
    "application/pdf", "application/x-shockwave-flash", "multipart/x-mixed-replace",
    # Other spellings a browser's PDF viewer registers, and XML's relatives.
    "text/pdf", "application/x-pdf", "application/xml-dtd", "text/xml-external-parsed-entity",
    "text/vtt", "application/wasm", "application/manifest+json",
    # The JavaScript MIME type essence matches (WHATWG MIME Sniffing §4.6).
    "text/javascript", "application/javascript", "application/ecmascript",
    "application/x-ecmascript", "application/x-javascript", "text/ecmascript",
    "text/javascript1.0", "text/javascript1.1", "text/javascript1.2", "text/javascript1.3",
    "text/javascript1.4", "text/javascript1.5", "text/jscript", "text/livescript",
    "text/x-ecmascript", "text/x-javascript", "application/json+javascript",
    "text/x-component", "application/hta",
})
#: Key extensions of common types; other types fall back to the standard library's
#: built-in table (never the host's ``/etc/mime.types``, so FC and a laptop agree).
_EXTENSIONS: dict[str, str] = {
    OCTET_STREAM: "bin",
    "image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
    "image/avif": "avif", "image/bmp": "bmp", "image/heic": "heic", "image/heif": "heif",
    "image/tiff": "tif", "image/svg+xml": "svg",
    "text/plain": "txt", "text/csv": "csv", "text/markdown": "md", "text/html": "html",
    "application/json": "json", "application/pdf": "pdf", "application/zip": "zip",
    "application/gzip": "gz", "application/x-tar": "tar", "application/x-7z-compressed": "7z",
    "application/msword": "doc", "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "audio/mpeg": "mp3", "audio/wav": "wav", "audio/ogg": "ogg", "audio/aac": "aac",
    "audio/flac": "flac", "video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov",
    "video/x-matroska": "mkv",
}
#: RFC 8187 attr-char beyond what ``quote`` always keeps (letters, digits, ``_.-~``).
_ATTR_CHAR_SAFE = "!#$&+^`|"
MAX_TYPE_CHARS = 255


def essence(declared: str) -> str:
    """Return the lower-case ``type/subtype`` of a browser's ``File.type``.

    ``""`` (an unknown extension) becomes ``application/octet-stream``; parameters after
    ``;`` are dropped. Raises ``InvalidField`` for anything that is not a media type.
    """
    if len(declared) > MAX_TYPE_CHARS:
        raise InvalidField(f"content_type must be at most {MAX_TYPE_CHARS} characters")
    if not declared.strip():
        return OCTET_STREAM
    bare = declared.split(";", 1)[0].strip().lower()
    if not is_mime_type(bare):
        raise InvalidField("content_type must be a media type such as image/png")
    return bare


def is_active(media_type: str) -> bool:
    """Say whether a browser could run script in, or style a page with, ``media_type``."""
    return media_type in ACTIVE_TYPES or media_type.endswith(("+xml", "/xml"))


def is_mime_type(value: str) -> bool:
    """Say whether ``value`` is a lower-case ``type/subtype`` (each part 1..127 chars)."""
    return bool(_MIME_RE.match(value))


def stored_type(media_type: str, allowed_active: Collection[str]) -> str:
    """Return the type the object is stored with: itself, or octet-stream if active."""
    if is_active(media_type) and media_type not in allowed_active:
        return OCTET_STREAM
    return media_type


def extension(media_type: str) -> str:
    """Return the key extension for ``media_type`` without the dot, or ``""``."""
    known = _EXTENSIONS.get(media_type)
    if known is not None:
        return known
    guessed = _builtin_types().guess_extension(media_type, strict=False) or ""
    ext = guessed.lstrip(".").lower()
    return ext if ext.isalnum() and ext.isascii() and len(ext) <= 10 else ""


@lru_cache(maxsize=1)
def _builtin_types() -> mimetypes.MimeTypes:
    import mimetypes  # only for types outside the table

    # ``MimeTypes()`` starts from the interpreter's own table and reads no system file.
    return mimetypes.MimeTypes()


def content_disposition(media_type: str, filename: str) -> str:
    """Return the ``Content-Disposition`` the object is stored with.

    ``inline`` for :data:`INLINE_SAFE_TYPES`, ``attachment`` otherwise; the original
    name travels percent-encoded as UTF-8 (RFC 8187), so the header stays ASCII.
    """
    kind = "inline" if media_type in INLINE_SAFE_TYPES else "attachment"
    return f"{kind}; filename*=UTF-8''{quote(filename, safe=_ATTR_CHAR_SAFE)}"
