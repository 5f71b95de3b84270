"""ListObjects (V1), ListObjectsV2 and ListObjectVersions: paging a sorted key list.

Owns the listing semantics (prefix, delimiter → common prefixes, marker, start-after,
continuation token, max-keys, ``encoding-type=url``) over metadata already sorted by key,
and the three XML shapes (``ListBucketResult`` twice, ``ListVersionsResult``). Versioning
is never enabled on an emulated bucket, so each object has exactly one version, ``null``,
and that is all ListObjectVersions lists. Pure: no storage access, no HTTP.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timezone
from urllib.parse import quote
from xml.sax.saxutils import escape

from localcloud.oss import xmlbody
from localcloud.oss.errors import OssError, invalid_argument
from localcloud.oss.store import ObjectMeta

DEFAULT_MAX_KEYS = 100
LIMIT_MAX_KEYS = 1000
#: ``prefix`` and ``marker`` "must be smaller than 1,024 bytes" (ListObjects reference).
MAX_NAME_BYTES = 1023
#: The bucket owner the emulator reports (it has no accounts; OSS sends the owner's UID).
OWNER_ID = "localcloud"


def owner_xml() -> str:
    """The ``Owner`` element the answers carry: :data:`OWNER_ID` as ID and DisplayName."""
    return f"<Owner><ID>{OWNER_ID}</ID><DisplayName>{OWNER_ID}</DisplayName></Owner>"


def _invalid(name: str, value: str) -> OssError:
    return invalid_argument(f"Argument {name} is invalid.", name=name, value=value)


def _max_keys(query: Mapping[str, str]) -> int:
    raw_max = query.get("max-keys", "")
    if not raw_max:
        return DEFAULT_MAX_KEYS
    if not raw_max.isdigit() or not 1 <= int(raw_max) <= LIMIT_MAX_KEYS:
        raise _invalid("max-keys", raw_max)
    return int(raw_max)


def url_encoded(query: Mapping[str, str]) -> bool:
    """Read ``encoding-type``: URL-encode names in the answer? (only ``url`` is valid)."""
    encoding = query.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise _invalid("encoding-type", encoding)
    return encoding == "url"


def _name(query: Mapping[str, str], name: str) -> str:
    value = query.get(name, "")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        # UNCONFIRMED: the reference states the limit, not the refusal; the reading is
        # the InvalidArgument every other bad listing parameter gets.
        raise _invalid(name, value)
    return value


@dataclass(frozen=True)
class ListParams:
    """The query parameters of one ListObjects (V1) or ListObjectsV2 call."""

    prefix: str = ""
    delimiter: str = ""
    start_after: str = ""
    continuation_token: str = ""
    max_keys: int = DEFAULT_MAX_KEYS
    url_encoded: bool = False
    marker: str = ""
    fetch_owner: bool = False

    @classmethod
    def from_query_v1(cls, query: Mapping[str, str]) -> ListParams:
        """Parse and validate a ListObjects (V1) query: prefix, marker, delimiter, max-keys."""
        return cls._with_marker(query, "marker")

    @classmethod
    def from_query_versions(cls, query: Mapping[str, str]) -> ListParams:
        """Parse and validate a ListObjectVersions query (``key-marker`` is the marker).

        With only null versions, no version follows ``version-id-marker`` within
        ``key-marker``'s key, so listing resumes after that key whatever the marker.
        """
        return cls._with_marker(query, "key-marker")

    @classmethod
    def _with_marker(cls, query: Mapping[str, str], marker: str) -> ListParams:
        """Parse prefix, delimiter, max-keys, encoding-type and the marker named ``marker``."""
        return cls(
            prefix=_name(query, "prefix"),
            delimiter=query.get("delimiter", ""),
            max_keys=_max_keys(query),
            url_encoded=url_encoded(query),
            marker=_name(query, marker),
        )

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ListParams:
        """Parse and validate a ListObjectsV2 query."""
        max_keys = _max_keys(query)
        encoded = url_encoded(query)
        token = query.get("continuation-token", "")
        if token:
            try:
                base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
            except (binascii.Error, UnicodeError, ValueError) as exc:
                raise _invalid("continuation-token", token) from exc
        return cls(
            prefix=_name(query, "prefix"),
            delimiter=query.get("delimiter", ""),
            start_after=_name(query, "start-after"),
            continuation_token=token,
            max_keys=max_keys,
            url_encoded=encoded,
            # Any value but "true" leaves the owner out (UNCONFIRMED; true/false documented).
            fetch_owner=query.get("fetch-owner", "") == "true",
        )

    def resume_after(self) -> str:
        """Return the key after which listing starts."""
        if self.continuation_token:
            return base64.urlsafe_b64decode(self.continuation_token.encode()).decode("utf-8")
        return self.start_after or self.marker


@dataclass(frozen=True)
class ListPage:
    """One page: objects, common prefixes, and where the next page starts."""

    contents: tuple[ObjectMeta, ...] = ()
    common_prefixes: tuple[str, ...] = ()
    next_token: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    #: The last key this page covered (keys folded into a common prefix included), set
    #: only when the listing goes on: V1's NextMarker. Resuming after it never repeats a
    #: common prefix, which resuming after the prefix itself would.
    next_marker: str | None = None

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
    if not truncated:
        return ListPage(tuple(contents), tuple(prefixes))
    token = base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")
    return ListPage(tuple(contents), tuple(prefixes), token, next_marker=last)


def _last_modified(meta: ObjectMeta) -> str:
    return meta.last_modified.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _contents(meta: ObjectMeta, enc: Callable[[str], str], *, owner: bool,
              element: str = "Contents", version: bool = False) -> str:
    owner_element = owner_xml() if owner else ""
    version_xml = "<VersionId>null</VersionId><IsLatest>true</IsLatest>" if version else ""
    return (
        f"<{element}>"
        f"<Key>{enc(meta.key)}</Key>{version_xml}"
        f"<LastModified>{_last_modified(meta)}</LastModified>"
        f'<ETag>"{meta.etag}"</ETag>'
        f"<Type>{escape(meta.object_type)}</Type>"
        f"<Size>{meta.size}</Size>"
        f"<StorageClass>{escape(meta.storage_class)}</StorageClass>"
        f"{owner_element}</{element}>"
    )


def shown(value: str, url: bool) -> str:
    """A name as a response body shows it: URL-encoded when asked, XML-escaped."""
    return escape(quote(value, safe="") if url else value)


def _encoder(params: ListParams) -> Callable[[str], str]:
    def enc(value: str) -> str:
        return shown(value, params.url_encoded)

    return enc


def _closed(parts: list[str], enc: Callable[[str], str], page: ListPage, root: str) -> bytes:
    """Append the page's ``CommonPrefixes`` and the ``root`` end tag; return the body."""
    parts.extend(f"<CommonPrefixes><Prefix>{enc(prefix)}</Prefix></CommonPrefixes>"
                 for prefix in page.common_prefixes)
    parts.append(f"</{root}>")
    return "".join(parts).encode("utf-8")


def render_list_v1(bucket: str, params: ListParams, page: ListPage) -> bytes:
    """Render ListObjects (V1)'s ``ListBucketResult``, children in the reference's order.

    ``Marker`` and ``Delimiter`` are always present (empty when not given), as in the
    reference's samples; each object carries its ``Owner``.
    """
    enc = _encoder(params)
    parts = [f"{xmlbody.XML_DECLARATION}<ListBucketResult>",
             f"<Name>{escape(bucket)}</Name>",
             f"<Prefix>{enc(params.prefix)}</Prefix>",
             f"<Marker>{enc(params.marker)}</Marker>",
             f"<MaxKeys>{params.max_keys}</MaxKeys>",
             f"<Delimiter>{enc(params.delimiter)}</Delimiter>"]
    if params.url_encoded:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append(xmlbody.is_truncated(page.next_marker is not None))
    if page.next_marker is not None:
        parts.append(f"<NextMarker>{enc(page.next_marker)}</NextMarker>")
    parts.extend(_contents(meta, enc, owner=True) for meta in page.contents)
    return _closed(parts, enc, page, "ListBucketResult")


def render_list_v2(bucket: str, params: ListParams, page: ListPage) -> bytes:
    """Render the ``ListBucketResult`` XML body."""

    enc = _encoder(params)
    parts = [f"{xmlbody.XML_DECLARATION}<ListBucketResult>",
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
    parts.append(xmlbody.is_truncated(bool(page.next_token)))
    if page.next_token:
        parts.append(f"<NextContinuationToken>{page.next_token}</NextContinuationToken>")
    parts.append(f"<KeyCount>{page.key_count}</KeyCount>")
    parts.extend(_contents(meta, enc, owner=params.fetch_owner) for meta in page.contents)
    return _closed(parts, enc, page, "ListBucketResult")


def render_list_versions(bucket: str, params: ListParams, page: ListPage) -> bytes:
    """Render ``ListVersionsResult``: each object as its one version, ``null``, the latest."""
    enc = _encoder(params)
    parts = [f"{xmlbody.XML_DECLARATION}<ListVersionsResult>",
             f"<Name>{escape(bucket)}</Name>",
             f"<Prefix>{enc(params.prefix)}</Prefix>",
             f"<KeyMarker>{enc(params.marker)}</KeyMarker>",
             "<VersionIdMarker></VersionIdMarker>",
             f"<MaxKeys>{params.max_keys}</MaxKeys>",
             f"<Delimiter>{enc(params.delimiter)}</Delimiter>"]
    if params.url_encoded:
        parts.append("<EncodingType>url</EncodingType>")
    parts.append(xmlbody.is_truncated(page.next_marker is not None))
    if page.next_marker is not None:
        parts.append(f"<NextKeyMarker>{enc(page.next_marker)}</NextKeyMarker>"
                     "<NextVersionIdMarker>null</NextVersionIdMarker>")
    parts.extend(_contents(meta, enc, owner=True, element="Version", version=True)
                 for meta in page.contents)
    return _closed(parts, enc, page, "ListVersionsResult")
