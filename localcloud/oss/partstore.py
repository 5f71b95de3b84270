"""Multipart uploads in progress: their records and parts on the local file system.

Owns the on-disk layout ``<root>/<bucket>/uploads/<upload id>/``: ``upload.json`` (the
key and everything Initiate fixed for the object to be: type, headers, metadata, ACL,
storage class, tags) and one ``<part>.data`` + ``<part>.json`` pair per part, the JSON
written last so a part exists iff its JSON does (an upload again of the same number
replaces it atomically). Knows nothing of HTTP, signatures or policies; completing an
upload is the caller's (it concatenates :meth:`UploadStore.part_path` files and commits
through :class:`~localcloud.oss.store.ObjectStore`) while it :meth:`UploadStore.holds` the
upload, so no part changes under it and no other Complete or Abort runs meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_UPLOAD_FILE = "upload.json"
_UPLOAD_ID_RE = re.compile(r"^[0-9A-F]{32}$")


@dataclass(frozen=True)
class UploadRecord:
    """One multipart upload: its key and the object Initiate described."""

    upload_id: str
    key: str
    initiated: datetime
    content_type: str
    acl: str = "default"
    storage_class: str = "Standard"
    headers: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the persisted JSON form."""
        return {
            "upload_id": self.upload_id, "key": self.key,
            "initiated": self.initiated.astimezone(timezone.utc).isoformat(),
            "content_type": self.content_type, "acl": self.acl,
            "storage_class": self.storage_class, "headers": dict(self.headers),
            "metadata": dict(self.metadata), "tags": dict(self.tags),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UploadRecord:
        """Parse the persisted JSON form."""
        return cls(
            upload_id=str(data["upload_id"]), key=str(data["key"]),
            initiated=datetime.fromisoformat(str(data["initiated"])),
            content_type=str(data["content_type"]), acl=str(data.get("acl", "default")),
            storage_class=str(data.get("storage_class", "Standard")),
            headers={str(k): str(v) for k, v in dict(data.get("headers", {})).items()},
            metadata={str(k): str(v) for k, v in dict(data.get("metadata", {})).items()},
            tags={str(k): str(v) for k, v in dict(data.get("tags", {})).items()},
        )


@dataclass(frozen=True)
class PartMeta:
    """One uploaded part: its number, size, MD5 (upper-case hex) and CRC-64."""

    number: int
    size: int
    etag: str
    crc64: int
    last_modified: datetime

    def to_json(self) -> dict[str, Any]:
        """Return the persisted JSON form."""
        return {"number": self.number, "size": self.size, "etag": self.etag,
                "crc64": str(self.crc64),
                "last_modified": self.last_modified.astimezone(timezone.utc).isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PartMeta:
        """Parse the persisted JSON form."""
        return cls(number=int(data["number"]), size=int(data["size"]),
                   etag=str(data["etag"]), crc64=int(data["crc64"]),
                   last_modified=datetime.fromisoformat(str(data["last_modified"])))


def new_upload_id() -> str:
    """Return an upload id shaped like OSS's: 32 upper-case hex digits."""
    return secrets.token_hex(16).upper()


class UploadStore:
    """Every bucket's uploads in progress under one root; safe for concurrent threads."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._lock = threading.Lock()
        # (bucket, upload id) of the uploads a Complete or an Abort holds; waiters sleep on it.
        self._held: set[tuple[str, str]] = set()
        self._released = threading.Condition(self._lock)

    @contextlib.contextmanager
    def holds(self, bucket: str, upload_id: str) -> Iterator[None]:
        """Hold one upload still: no part lands and no other holder runs until released.

        A Complete joins the parts it matched, so a part replaced after the match would
        put other bytes under the listed ETags; two Completes (or a Complete and an Abort)
        racing would both act on one upload. OSS's behaviour in both races is
        UNCONFIRMED; the stricter reading serializes them: the second finds the upload
        ended (NoSuchUpload), a part upload landing meanwhile waits and then is refused
        or lands after a failed Complete.
        """
        held = (bucket, upload_id)
        with self._released:
            while held in self._held:
                self._released.wait()
            self._held.add(held)
        try:
            yield
        finally:
            with self._released:
                self._held.discard(held)
                self._released.notify_all()

    def _uploads(self, bucket: str) -> Path:
        return self._root / bucket / "uploads"

    def _dir(self, bucket: str, upload_id: str) -> Path | None:
        # An upload id comes from the client: only the exact shape names a directory.
        if not _UPLOAD_ID_RE.match(upload_id):
            return None
        return self._uploads(bucket) / upload_id

    def initiate(self, bucket: str, record: UploadRecord) -> None:
        """Record a new upload (its id is already in ``record``)."""
        directory = self._dir(bucket, record.upload_id)
        assert directory is not None
        directory.mkdir(parents=True)
        _write_json(directory / _UPLOAD_FILE, record.to_json())

    def get(self, bucket: str, upload_id: str) -> UploadRecord | None:
        """Return an upload's record, or None when no such upload is in progress."""
        directory = self._dir(bucket, upload_id)
        if directory is None:
            return None
        data = _read_json(directory / _UPLOAD_FILE)
        return UploadRecord.from_json(data) if data is not None else None

    def put_part(self, bucket: str, upload_id: str, temp_path: Path, part: PartMeta) -> bool:
        """Move a spooled part into place; False when the upload ended meanwhile.

        Waits while the upload is held (:meth:`holds`). ``temp_path`` must be on the
        bucket's file system (its spool directory).
        """
        directory = self._dir(bucket, upload_id)
        assert directory is not None
        with self._released:
            while (bucket, upload_id) in self._held:
                self._released.wait()
            if not (directory / _UPLOAD_FILE).exists():
                temp_path.unlink(missing_ok=True)
                return False
            os.replace(temp_path, directory / f"{part.number}.data")
            _write_json(directory / f"{part.number}.json", part.to_json())
        return True

    def parts(self, bucket: str, upload_id: str) -> list[PartMeta]:
        """Return the upload's parts by ascending number ([] for an unknown upload)."""
        directory = self._dir(bucket, upload_id)
        if directory is None or not directory.is_dir():
            return []
        found = []
        for path in directory.glob("*.json"):
            if path.name == _UPLOAD_FILE:
                continue
            data = _read_json(path)
            if data is not None:
                found.append(PartMeta.from_json(data))
        return sorted(found, key=lambda part: part.number)

    def part_path(self, bucket: str, upload_id: str, number: int) -> Path:
        """Return where a part's bytes are."""
        directory = self._dir(bucket, upload_id)
        assert directory is not None
        return directory / f"{number}.data"

    def end(self, bucket: str, upload_id: str) -> bool:
        """Remove an upload and its parts (Complete or Abort); tell whether it existed.

        The record goes first, under the lock: an UploadPart finishing meanwhile finds
        no upload and is refused, and no second Complete or Abort can claim it.
        """
        directory = self._dir(bucket, upload_id)
        if directory is None:
            return False
        with self._lock:
            try:
                os.unlink(directory / _UPLOAD_FILE)
            except FileNotFoundError:
                return False
        shutil.rmtree(directory, ignore_errors=True)
        return True

    def list(self, bucket: str) -> list[UploadRecord]:
        """Return the uploads in progress, by key (UTF-8 byte order) then upload id."""
        root = self._uploads(bucket)
        if not root.is_dir():
            return []
        found = []
        for directory in root.iterdir():
            data = _read_json(directory / _UPLOAD_FILE)
            if data is not None:
                found.append(UploadRecord.from_json(data))
        return sorted(found, key=lambda r: (r.key.encode("utf-8", "surrogatepass"),
                                            r.upload_id))

    def count(self, bucket: str) -> int:
        """Return how many uploads are in progress."""
        return len(self.list(bucket))


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".json-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            data: dict[str, Any] = json.load(handle)
            return data
    except (FileNotFoundError, NotADirectoryError):
        return None
