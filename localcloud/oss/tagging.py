"""Object tags: the rules, the ``x-oss-tagging`` header and the ``Tagging`` XML.

Owns the tag rules OSS documents (at most 10 tags per object, unique keys, keys of 1 to
128 and values of at most 256 characters, letters, digits, spaces and ``+ - = . _ : /``
only; in a header both URL-encoded as ``k1=v1&k2=v2``), reading tags from a write's
header or a ``Tagging`` body, and rendering them. Pure: the operations that read and
change an object's tags are :mod:`objecttagging`; writes (PutObject, CopyObject,
Initiate, AppendObject) call :func:`tags_from_header`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote
from xml.sax.saxutils import escape

from localcloud.oss import xmlbody
from localcloud.oss.errors import OssError, malformed_xml
from localcloud.oss.httpmessages import Request

H_TAGGING = "x-oss-tagging"
HEADER_TAGGING_COUNT = "x-oss-tagging-count"
MAX_TAGS = 10
MAX_KEY_CHARS = 128
MAX_VALUE_CHARS = 256
_ALLOWED = re.compile(r"[A-Za-z0-9 +\-=._:/]*")

# ECs of the OSS error pages: 0010-00000219 a header pair that is not key or key=value,
# 0010-00000217 a bad character, length, count or duplicate key, 0010-00000209 / 214 a
# body's key / value too long. The pages give no Code or Message: 400 InvalidTag and
# these wordings are UNCONFIRMED.
EC_HEADER_FORMAT = "0010-00000219"
EC_INVALID_TAG = "0010-00000217"
EC_KEY_TOO_LONG = "0010-00000209"
EC_VALUE_TOO_LONG = "0010-00000214"


def invalid_tag(message: str, ec: str) -> OssError:
    """Return the 400 for a tag OSS's rules refuse."""
    return OssError(400, "InvalidTag", message, ec=ec)


def check_tags(pairs: list[tuple[str, str]], *, from_body: bool) -> dict[str, str]:
    """Apply OSS's tag rules to (key, value) pairs; return them as a dict in order."""
    tags: dict[str, str] = {}
    for key, value in pairs:
        if not key or not _ALLOWED.fullmatch(key) or not _ALLOWED.fullmatch(value):
            raise invalid_tag("The tag key or value holds a character OSS does not allow.",
                              EC_INVALID_TAG)
        if len(key) > MAX_KEY_CHARS:
            raise invalid_tag("The tag key is longer than 128 characters.",
                              EC_KEY_TOO_LONG if from_body else EC_INVALID_TAG)
        if len(value) > MAX_VALUE_CHARS:
            raise invalid_tag("The tag value is longer than 256 characters.",
                              EC_VALUE_TOO_LONG if from_body else EC_INVALID_TAG)
        if key in tags:
            raise invalid_tag("The tag keys are not unique.", EC_INVALID_TAG)
        tags[key] = value
    if len(tags) > MAX_TAGS:
        raise invalid_tag("An object can have at most 10 tags.", EC_INVALID_TAG)
    return tags


def tags_from_header(request: Request) -> dict[str, str]:
    """Read ``x-oss-tagging`` (URL-encoded ``k1=v1&k2``); no header: no tags."""
    value = request.header(H_TAGGING)
    if not value:
        return {}
    pairs = []
    for item in value.split("&"):
        key, sep, tag_value = item.partition("=")
        if "=" in tag_value:
            raise invalid_tag("The tagging header is not key=value pairs joined by &.",
                              EC_HEADER_FORMAT)
        pairs.append((unquote(key), unquote(tag_value) if sep else ""))
    return check_tags(pairs, from_body=False)


def tags_from_body(body: bytes) -> dict[str, str]:
    """Read ``<Tagging><TagSet><Tag><Key/><Value/></Tag>*</TagSet></Tagging>``."""
    root = xmlbody.parse(body, "Tagging")
    sets = [child for child in root if xmlbody.local_name(child.tag) == "TagSet"]
    if len(sets) != 1:
        raise malformed_xml()
    pairs = []
    for tag in sets[0]:
        fields = xmlbody.children(tag)
        pairs.append((fields.get("Key", ""), fields.get("Value", "")))
    return check_tags(pairs, from_body=True)


def render_tagging(tags: Mapping[str, str]) -> bytes:
    """Render the ``Tagging`` body GetObjectTagging answers."""
    items = "".join(f"<Tag><Key>{escape(k)}</Key><Value>{escape(v)}</Value></Tag>"
                    for k, v in tags.items())
    return f"{xmlbody.XML_DECLARATION}<Tagging><TagSet>{items}</TagSet></Tagging>".encode()
