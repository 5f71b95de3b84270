"""The emulator's object store: objects and their metadata on the local file system.

Owns the on-disk layout under ``<state_dir>/buckets/<bucket>/``, the mapping of arbitrary
object keys to safe file names, atomic commits (nothing partial is ever visible) and
forbid-overwrite under races. It knows nothing of HTTP, signatures or policies.

Layout: ``objects/<sha256(key)>.data`` holds the bytes and ``objects/<sha256(key)>.json``
the metadata (including the key itself). Hashing the key means no key, whatever it
contains (``..``, ``/``, NUL, 1023 bytes), can name a path outside the bucket. The
metadata file is written last, so it is the commit point: an object exists iff its
metadata file does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from localcloud.oss.errors import file_already_exists

ACL_DEFAULT = "default"
ACL_PRIVATE = "private"
ACL_PUBLIC_READ = "public-read"
ACL_PUBLIC_READ_WRITE = "public-read-write"
OBJECT_ACLS = frozenset({ACL_DEFAULT, ACL_PRIVATE, ACL_PUBLIC_READ, ACL_PUBLIC_READ_WRITE})
#: ``x-oss-object-type``: how the object was written (PutObject and copies, a completed
#: multipart upload, AppendObject).
OBJECT_NORMAL = "Normal"
OBJECT_MULTIPART = "Multipart"
OBJECT_APPENDABLE = "Appendable"

_LOCK_STRIPES = 64



@dataclass(frozen=True)
class ObjectMeta:
    """What OSS remembers about an object besides its bytes."""

    key: str
    size: int
    etag: str  # upper-case hex MD5, unquoted
    crc64: int
    content_type: str
    last_modified: datetime
    acl: str = ACL_DEFAULT
    storage_class: str = "Standard"
    headers: Mapping[str, str] = field(default_factory=dict)  # Cache-Control, …
    metadata: Mapping[str, str] = field(default_factory=dict)  # x-oss-meta-* (full names)
    object_type: str = OBJECT_NORMAL  # Normal, Multipart or Appendable
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the sidecar JSON form."""
        return {
            "key": self.key,
            "size": self.size,
            "etag": self.etag,
            "crc64": str(self.crc64),
            "content_type": self.content_type,
            "last_modified": self.last_modified.astimezone(timezone.utc).isoformat(),
            "acl": self.acl,
            "storage_class": self.storage_class,
            "headers": dict(self.headers),
            "metadata": dict(self.metadata),
            "object_type": self.object_type,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ObjectMeta:
        """Parse the sidecar JSON form."""
        return cls(
            key=str(data["key"]),
            size=int(data["size"]),
            etag=str(data["etag"]),
            crc64=int(data["crc64"]),
            content_type=str(data["content_type"]),
            last_modified=datetime.fromisoformat(str(data["last_modified"])),
            acl=str(data.get("acl", ACL_DEFAULT)),
            storage_class=str(data.get("storage_class", "Standard")),
            headers={str(k): str(v) for k, v in dict(data.get("headers", {})).items()},
            metadata={str(k): str(v) for k, v in dict(data.get("metadata", {})).items()},
            object_type=str(data.get("object_type", OBJECT_NORMAL)),
            tags={str(k): str(v) for k, v in dict(data.get("tags", {})).items()},
        )


class ObjectStore:
    """Objects of every bucket under one root directory; safe for concurrent threads."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    @property
    def root(self) -> Path:
        """The directory holding one sub-directory per bucket."""
        return self._root

    def bucket_dir(self, bucket: str) -> Path:
        """Return the bucket's directory (bucket names are validated by the registry)."""
        return self._root / bucket

    def spool_dir(self, bucket: str) -> Path:
        """Return (creating it) the bucket's temp directory, on the same file system as
        its objects so that a commit is a rename."""
        path = self.bucket_dir(bucket) / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _objects(self, bucket: str) -> Path:
        path = self.bucket_dir(bucket) / "objects"
        path.mkdir(parents=True, exist_ok=True)
        return path

    @staticmethod
    def _stem(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()

    def _lock(self, bucket: str, key: str) -> threading.Lock:
        digest = hashlib.sha256(f"{bucket}/{key}".encode("utf-8", "surrogatepass")).digest()
        return self._locks[digest[0] % _LOCK_STRIPES]

    def _paths(self, bucket: str, key: str) -> tuple[Path, Path]:
        stem = self._stem(key)
        objects = self._objects(bucket)
        return objects / f"{stem}.data", objects / f"{stem}.json"

    def commit(
        self, bucket: str, temp_path: Path, meta: ObjectMeta, *, forbid_overwrite: bool,
        precondition: Callable[[ObjectMeta | None], None] | None = None,
    ) -> None:
        """Move a fully verified temp file into place with its metadata, atomically.

        The temp file is consumed: on success it becomes the object, on failure (409)
        it is deleted. Under the key's lock, forbid-overwrite's existence check, the
        ``precondition`` (called with the object as it is now, or None; it raises to
        refuse) and the renames cannot interleave with another commit of the same key.
        """
        data_path, meta_path = self._paths(bucket, meta.key)
        try:
            with self._lock(bucket, meta.key):
                if forbid_overwrite and meta_path.exists():
                    raise file_already_exists()
                if precondition is not None:
                    precondition(_read_meta(meta_path))
                meta_tmp = _write_temp_json(self.spool_dir(bucket), meta.to_json())
                try:
                    os.replace(temp_path, data_path)
                    os.replace(meta_tmp, meta_path)
                except BaseException:
                    _unlink_quietly(meta_tmp)
                    raise
        finally:
            _unlink_quietly(temp_path)

    def head(self, bucket: str, key: str) -> ObjectMeta | None:
        """Return an object's metadata, or None when it does not exist."""
        _, meta_path = self._paths(bucket, key)
        with self._lock(bucket, key):
            return _read_meta(meta_path)

    @contextlib.contextmanager
    def open(self, bucket: str, key: str) -> Iterator[tuple[ObjectMeta, BinaryIO] | None]:
        """Open an object for reading: metadata and bytes from the same commit, or None.

        The file is opened under the key's lock; a later overwrite replaces the name,
        not the open file, so a slow reader keeps a consistent view.
        """
        data_path, meta_path = self._paths(bucket, key)
        with self._lock(bucket, key):
            meta = _read_meta(meta_path)
            handle: BinaryIO | None = None
            if meta is not None:
                try:
                    handle = open(data_path, "rb")  # noqa: SIM115 - closed below
                except FileNotFoundError:
                    meta = None
        if meta is None or handle is None:
            yield None
            return
        try:
            yield meta, handle
        finally:
            handle.close()

    def delete(self, bucket: str, key: str) -> bool:
        """Delete an object; tell whether it existed."""
        data_path, meta_path = self._paths(bucket, key)
        with self._lock(bucket, key):
            existed = meta_path.exists()
            _unlink_quietly(meta_path)
            _unlink_quietly(data_path)
            return existed

    def list(self, bucket: str) -> list[ObjectMeta]:
        """Return every object's metadata, sorted by key (byte order of the UTF-8 key)."""
        found: list[ObjectMeta] = []
        for meta_path in self._objects(bucket).glob("*.json"):
            meta = _read_meta(meta_path)
            if meta is not None:
                found.append(meta)
        found.sort(key=lambda m: m.key.encode("utf-8", "surrogatepass"))
        return found

    def clean_spool(self, bucket: str) -> None:
        """Remove temp files left by a crash (called at start-up, before serving)."""
        for leftover in self.spool_dir(bucket).iterdir():
            _unlink_quietly(leftover)


def _write_temp_json(directory: Path, data: Mapping[str, Any]) -> Path:
    fd, name = tempfile.mkstemp(dir=directory, prefix="meta-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
    except BaseException:
        _unlink_quietly(Path(name))
        raise
    return Path(name)


def _read_meta(path: Path) -> ObjectMeta | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return ObjectMeta.from_json(json.load(handle))
    except FileNotFoundError:
        return None


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
