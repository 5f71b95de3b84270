"""ListObjectsV2: paging a sorted key list and rendering ``ListBucketResult`` XML.

Owns the listing semantics (prefix, delimiter → common prefixes, start-after,
continuation token, max-keys) over metadata already sorted by key. Pure: no storage
access, no HTTP.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote
from xml.sax.saxutils import escape

from localcloud.oss.catalog import invalid_argument
from localcloud.oss.errors import OssError
from localcloud.oss.store import ObjectMeta

DEFAULT_MAX_KEYS = 100
LIMIT_MAX_KEYS = 1000


def _invalid(name: str, value: str) -> OssError:
    return invalid_argument(f"Argument {name} is invalid.", name=name, value=value)


@dataclass(frozen=True)
class ListParams:
    """The query parameters of one ListObjectsV2 call."""

    prefix: str = ""
    delimiter: str = ""
    start_after: str = ""
    continuation_token: str = ""
    max_keys: int = DEFAULT_MAX_KEYS
    url_encoded: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ListParams:
        """Parse and validate the query."""
        raw_max = query.get("max-keys", "")
        if raw_max:
            if not raw_max.isdigit() or not 1 <= int(raw_max) <= LIMIT_MAX_KEYS:
                raise _invalid("max-keys", raw_max)
        encoding = query.get("encoding-type", "")
        if encoding not in ("", "url"):
            raise _invalid("encoding-type", encoding)
        token = query.get("continuation-token", "")
        if token:
            try:
                base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
            except (binascii.Error, UnicodeError, ValueError) as exc:
                raise _invalid("continuation-token", token) from exc
        return cls(
            prefix=query.get("prefix", ""),
            delimiter=query.get("delimiter", ""),
            start_after=query.get("start-after", ""),
            continuation_token=token,
            max_keys=int(raw_max) if raw_max else DEFAULT_MAX_KEYS,
            url_encoded=encoding == "url",
        )

    def resume_after(self) -> str:
        """Return the key after which listing starts."""
        if self.continuation_token:
            return base64.urlsafe_b64decode(self.continuation_token.encode()).decode("utf-8")
        return self.start_after


@dataclass(frozen=True)
class ListPage:
    """One page: objects, common prefixes, and where the next page starts."""

    contents: tuple[ObjectMeta, ...] = ()
    common_prefixes: tuple[str, ...] = ()
    next_token: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def key_count(self) -> int:
        """Entries on the page (objects plus prefixes), as OSS counts KeyCount."""
        return len(self.contents) + len(self.common_prefixes)


def list_page(objects: Sequence[ObjectMeta], params: ListParams) -> ListPage:
    """Cut one page out of key-sorted metadata."""
    after = params.resume_after()
    contents: list[ObjectMeta] = []
    prefixes: list[str] = []
    last = ""
    truncated = False
    for meta in objects:
        key = meta.key
        if not key.startswith(params.prefix) or (after and key <= after):
            continue
        entry_prefix = None
        if params.delimiter:
            rest = key[len(params.prefix):]
            cut = rest.find(params.delimiter)
            if cut >= 0:
                entry_prefix = params.prefix + rest[: cut + len(params.delimiter)]
        if entry_prefix is not None and prefixes and prefixes[-1] == entry_prefix:
            last = key
            continue
        if len(contents) + len(prefixes) >= params.max_keys:
            truncated = True
            break
        if entry_prefix is not None:
            prefixes.append(entry_prefix)
        else:
            contents.append(meta)
        last = key
    token = base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii") if truncated else None
    return ListPage(tuple(contents), tuple(prefixes), token)


def render_list_v2(bucket: str, params: ListParams, page: ListPage) -> bytes:
    """Render the ``ListBucketResult`` XML body."""

    def enc(value: str) -> str:
        return escape(quote(value, safe="") if params.url_encoded else value)

    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult>',
             f"<Name>{escape(bucket)}</Name>",
             f"<Prefix>{enc(params.prefix)}</Prefix>"]
    if params.start_after:
        parts.append(f"<StartAfter>{enc(params.start_after)}</StartAfter>")
    if params.continuation_token:
        parts.append(f"<ContinuationToken>{escape(params.continuation_token)}</ContinuationToken>")
    parts.append(f"<MaxKeys>{params.max_keys}</MaxKeys>")
    if params.delimiter:
        parts.append(f"<Delimiter>{enc(params.delimiter)}</Delimiter>")
    if params.url_encoded:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append(f"<IsTruncated>{'true' if page.next_token else 'false'}</IsTruncated>")
    if page.next_token:
        parts.append(f"<NextContinuationToken>{page.next_token}</NextContinuationToken>")
    parts.append(f"<KeyCount>{page.key_count}</KeyCount>")
    for meta in page.contents:
        last_modified = meta.last_modified.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        parts.append(
            "<Contents>"
            f"<Key>{enc(meta.key)}</Key>"
            f"<LastModified>{last_modified}</LastModified>"
            f'<ETag>"{meta.etag}"</ETag>'
            "<Type>Normal</Type>"
            f"<Size>{meta.size}</Size>"
            f"<StorageClass>{escape(meta.storage_class)}</StorageClass>"
            "</Contents>"
        )
    for prefix in page.common_prefixes:
        parts.append(f"<CommonPrefixes><Prefix>{enc(prefix)}</Prefix></CommonPrefixes>")
    parts.append("</ListBucketResult>")
    return "".join(parts).encode("utf-8")
