"""The body of ``POST /uploads``: parse it and check it against the settings.

Owns every client-input rule of the recommended route and which error each breach
maps to (400 malformed/missing/wrong type, 413 too large, 415 type not allowed,
422 unacceptable value). Pure: bytes in, :class:`UploadRequest` or a ``SignError`` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from uploadsign.errors import (
    BadRequest,
    InvalidSize,
    MalformedJson,
    PayloadTooLarge,
    UnsupportedContentType,
    load_json,
)
from uploadsign.keys import validate_filename
from uploadsign.mediatypes import essence

FILENAME = "filename"
SIZE = "size"
CONTENT_TYPE = "content_type"
FIELDS = (FILENAME, SIZE, CONTENT_TYPE)


@dataclass(frozen=True)
class UploadRequest:
    """What a browser asks to upload; already validated.

    ``content_type`` is the declared type's essence (``type/subtype``, lower case;
    ``application/octet-stream`` when the browser sent ``""``).
    """

    filename: str
    size: int
    content_type: str


def parse(body: bytes, *, max_bytes: int, allowed_types: Sequence[str]) -> UploadRequest:
    """Parse and validate the JSON body; raise the ``SignError`` a client should see."""
    try:
        document = load_json(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedJson("body must be a UTF-8 JSON object") from exc
    if not isinstance(document, dict):
        raise MalformedJson("body must be a JSON object")
    missing = [name for name in FIELDS if name not in document]
    if missing:
        raise BadRequest("missing field(s): " + ", ".join(missing))
    filename, size, content_type = (document[name] for name in FIELDS)
    if not isinstance(filename, str):
        raise BadRequest(f"{FILENAME} must be a string")
    # bool is an int in Python; JSON true is not a size.
    if not isinstance(size, int) or isinstance(size, bool):
        raise BadRequest(f"{SIZE} must be an integer")
    if not isinstance(content_type, str):
        raise BadRequest(f"{CONTENT_TYPE} must be a string")
    if size <= 0:
        raise InvalidSize(f"{SIZE} must be a positive number of bytes")
    if size > max_bytes:
        raise PayloadTooLarge(f"{SIZE} exceeds the limit of {max_bytes} bytes")
    # Browsers send "" for an unknown extension and may add parameters; compare the essence.
    content_type = essence(content_type)
    if allowed_types and content_type not in allowed_types:
        raise UnsupportedContentType(
            f"{CONTENT_TYPE} {content_type} is not allowed; allowed: " + ", ".join(allowed_types)
        )
    return UploadRequest(filename=validate_filename(filename), size=size, content_type=content_type)
