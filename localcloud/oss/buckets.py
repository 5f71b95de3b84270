"""Bucket configuration: which buckets exist, their ACL, CORS rules and website documents.

Owns the ``BucketConfig`` record and its persistence as
``<state_dir>/buckets/<bucket>/bucket.json``. No HTTP, no object bytes.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.config import BUCKET_NAME_RE
from localcloud.oss.catalog import invalid_argument
from localcloud.oss.cors import MAX_RULES, CorsRule
from localcloud.oss.errors import OssError

BUCKET_ACLS = frozenset({"private", "public-read", "public-read-write"})
_CONFIG_FILE = "bucket.json"


@dataclass(frozen=True)
class BucketConfig:
    """One bucket's settings; ``index_document`` set = static website hosting on."""

    name: str
    acl: str = "private"
    cors_rules: tuple[CorsRule, ...] = ()
    index_document: str | None = None
    error_document: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the persisted JSON form."""
        return {
            "name": self.name,
            "acl": self.acl,
            "cors_rules": [rule.to_json() for rule in self.cors_rules],
            "index_document": self.index_document,
            "error_document": self.error_document,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BucketConfig:
        """Parse the persisted JSON form."""
        return cls(
            name=str(data["name"]),
            acl=str(data.get("acl", "private")),
            cors_rules=tuple(CorsRule.from_json(r) for r in data.get("cors_rules", [])),
            index_document=data.get("index_document"),
            error_document=data.get("error_document"),
        )


def no_such_bucket() -> OssError:
    """Return the error OSS answers for a missing bucket."""
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.")


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
        """Create or replace a bucket's configuration after validating it."""
        if not BUCKET_NAME_RE.match(config.name):
            raise OssError(400, "InvalidBucketName", "The specified bucket is not valid.")
        if config.acl not in BUCKET_ACLS:
            raise invalid_argument("no such bucket access control exists")
        if len(config.cors_rules) > MAX_RULES:
            raise invalid_argument("Too many CORS rules.")
        with self._lock:
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
