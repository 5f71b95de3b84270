"""Bucket configuration: which buckets exist, their ACL, CORS rules and website documents.

Owns the ``BucketConfig`` record, its persistence as
``<state_dir>/buckets/<bucket>/bucket.json``, and the life of a bucket: created by
Python (:meth:`BucketRegistry.put`, how the local cloud configures its own buckets) or
over HTTP (:meth:`BucketRegistry.create`, PutBucket), and removed with everything under
its directory (:meth:`BucketRegistry.delete`, DeleteBucket). No HTTP, no object bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from localcloud.config import BUCKET_NAME_RE
from localcloud.oss.cors import MAX_RULES, CorsRule
from localcloud.oss.errors import OssError, invalid_argument

BUCKET_ACLS = frozenset({"private", "public-read", "public-read-write"})
#: The storage classes PutBucket documents for ``CreateBucketConfiguration``.
BUCKET_STORAGE_CLASSES = frozenset({"Standard", "IA", "Archive", "ColdArchive",
                                    "DeepColdArchive"})
#: The redundancy types PutBucket documents (locally-redundant, zone-redundant).
REDUNDANCY_TYPES = frozenset({"LRS", "ZRS"})
_CONFIG_FILE = "bucket.json"
#: The ACLs that grant the world something (Block Public Access refuses them).
PUBLIC_ACLS = frozenset({"public-read", "public-read-write"})


@dataclass(frozen=True)
class BucketConfig:
    """One bucket's settings; ``index_document`` set = static website hosting on.

    ``created`` is filled in by the registry when the bucket is first stored.
    ``block_public_access``: public ACLs (the bucket's and its objects') grant nothing and
    cannot be set (OSS's Block Public Access). Off for the buckets the local cloud
    configures in Python; on for a bucket made by PutBucket, as OSS makes new buckets.
    ``lifecycle``: the ``LifecycleConfiguration`` XML PutBucketLifecycle stored (never
    run; :mod:`localcloud.oss.lifecycle`), or None.
    """

    name: str
    acl: str = "private"
    cors_rules: tuple[CorsRule, ...] = ()
    index_document: str | None = None
    error_document: str | None = None
    storage_class: str = "Standard"
    redundancy: str = "LRS"
    created: datetime | None = None
    block_public_access: bool = False
    lifecycle: str | None = None

    @property
    def acl_in_force(self) -> str:
        """The bucket ACL access checks apply: ``private`` while public access is blocked."""
        return "private" if self.block_public_access else self.acl

    def to_json(self) -> dict[str, Any]:
        """Return the persisted JSON form."""
        return {
            "name": self.name,
            "acl": self.acl,
            "cors_rules": [rule.to_json() for rule in self.cors_rules],
            "index_document": self.index_document,
            "error_document": self.error_document,
            "storage_class": self.storage_class,
            "redundancy": self.redundancy,
            "created": self.created.isoformat() if self.created else None,
            "block_public_access": self.block_public_access,
            "lifecycle": self.lifecycle,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BucketConfig:
        """Parse the persisted JSON form."""
        created = data.get("created")
        return cls(
            name=str(data["name"]),
            acl=str(data.get("acl", "private")),
            cors_rules=tuple(CorsRule.from_json(r) for r in data.get("cors_rules", [])),
            index_document=data.get("index_document"),
            error_document=data.get("error_document"),
            storage_class=str(data.get("storage_class", "Standard")),
            redundancy=str(data.get("redundancy", "LRS")),
            created=datetime.fromisoformat(created) if created else None,
            block_public_access=bool(data.get("block_public_access", False)),
            lifecycle=data.get("lifecycle"),
        )


def no_such_bucket() -> OssError:
    """Return the error OSS answers for a missing bucket."""
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.")


def invalid_bucket_name() -> OssError:
    """Return the 400 for a name OSS's bucket naming rules refuse."""
    return OssError(400, "InvalidBucketName", "The specified bucket is not valid.")


def bucket_already_exists() -> OssError:
    """Return PutBucket's 409 for a name that is taken (OSS 409 page).

    UNCONFIRMED whether OSS answers 200 when the owner re-creates a bucket with the same
    settings; the stricter reading refuses every existing name.
    """
    return OssError(409, "BucketAlreadyExists",
                    "The requested bucket name is not available. The bucket namespace is "
                    "shared by all users of the system. Please select a different name and "
                    "try again.")


def refuse_public_acl(bucket: BucketConfig, acl: str | None) -> None:
    """Refuse to set a public ACL (bucket or object) while the bucket blocks public access.

    OSS documents that no public ACL can then be configured; the Code and wording of
    its refusal are UNCONFIRMED (403 AccessDenied, the refusal of every other denial).
    """
    if bucket.block_public_access and acl in PUBLIC_ACLS:
        raise OssError(403, "AccessDenied", "Public access is blocked for this bucket: a "
                       "public ACL cannot be set while Block Public Access is on.")


class BucketRegistry:
    """The buckets under one root; reads come from memory, every change is persisted."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root)
        self._lock = threading.Lock()
        self._buckets: dict[str, BucketConfig] = {}
        if self._root.is_dir():
            for entry in sorted(self._root.iterdir()):
                config_path = entry / _CONFIG_FILE
                if config_path.is_file():
                    with open(config_path, encoding="utf-8") as handle:
                        config = BucketConfig.from_json(json.load(handle))
                    self._buckets[config.name] = config

    def get(self, name: str) -> BucketConfig | None:
        """Return a bucket's configuration, or None."""
        with self._lock:
            return self._buckets.get(name)

    def require(self, name: str) -> BucketConfig:
        """Return a bucket's configuration or raise NoSuchBucket."""
        config = self.get(name)
        if config is None:
            raise no_such_bucket()
        return config

    def names(self) -> list[str]:
        """Return the bucket names, sorted."""
        with self._lock:
            return sorted(self._buckets)

    def put(self, config: BucketConfig) -> BucketConfig:
        """Create or replace a bucket's configuration after validating it.

        A replaced bucket keeps its creation date; a new one is dated now.
        """
        self._validate(config)
        with self._lock:
            return self._store(config)

    def create(self, config: BucketConfig) -> BucketConfig:
        """Create a bucket that does not exist yet (PutBucket); 409 if the name is taken."""
        self._validate(config)
        with self._lock:
            if config.name in self._buckets:
                raise bucket_already_exists()
            return self._store(config)

    def delete(self, name: str) -> None:
        """Forget a bucket and remove its directory: configuration, objects, uploads.

        The caller has checked that it is empty; requests already past the registry may
        still be writing, and what they leave is removed with the directory.
        """
        with self._lock:
            if self._buckets.pop(name, None) is None:
                raise no_such_bucket()
            shutil.rmtree(self._root / name, ignore_errors=True)

    @staticmethod
    def _validate(config: BucketConfig) -> None:
        if not BUCKET_NAME_RE.match(config.name):
            raise invalid_bucket_name()
        if config.acl not in BUCKET_ACLS:
            raise invalid_argument("no such bucket access control exists")
        if config.storage_class not in BUCKET_STORAGE_CLASSES:
            raise invalid_argument("no such storage class exists")
        if config.redundancy not in REDUNDANCY_TYPES:
            raise invalid_argument("no such data redundancy type exists")
        if len(config.cors_rules) > MAX_RULES:
            raise invalid_argument("Too many CORS rules.")

    def _store(self, config: BucketConfig) -> BucketConfig:
        """Persist and remember ``config`` (the lock is held)."""
        previous = self._buckets.get(config.name)
        if config.created is None:
            created = previous.created if previous and previous.created else None
            config = replace(config, created=created or datetime.now(timezone.utc))
        self._persist(config)
        self._buckets[config.name] = config
        return config

    def _persist(self, config: BucketConfig) -> None:
        directory = self._root / config.name
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=".bucket-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(config.to_json(), handle, indent=2)
        os.replace(name, directory / _CONFIG_FILE)
