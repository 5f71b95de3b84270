"""Hundreds of uploads from parallel clients through the whole local cloud.

Each client asks the signing function (gunicorn, real STS stub) for a grant and POSTs the
form to the emulator. A third of them misbehave: a file larger than the size it was
granted, or a grant whose key was changed after signing. Every accepted upload must read
back intact (bytes and CRC64, checked with the OSS SDK), every refused one must be a clean
4xx OSS error, and nothing partial may stay on disk.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.forms import multipart, post_json, request

UPLOADS = 200
CLIENTS = 16
KINDS = ("valid", "valid", "valid", "oversized", "tampered")
#: How OSS refuses each broken kind: a file past content-length-range, a key the policy
#: does not pin.
REFUSAL = {"oversized": (400, "EntityTooLarge"), "tampered": (403, "AccessDenied")}


@dataclass(frozen=True)
class Outcome:
    kind: str
    key: str
    data: bytes
    status: int
    body: bytes


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud.start(tmp_path_factory.mktemp("concurrent"), publish_web=False,
                          function_env_overrides={"RATE_LIMIT_PER_MINUTE": "0"}) as running:
        yield running


def crc64(data: bytes) -> int:
    digest = oss.crc.Crc64(0)
    digest.update(data)
    return int(digest.sum64())


def upload_one(cloud: LocalCloud, index: int) -> Outcome:
    kind = KINDS[index % len(KINDS)]
    data = random.Random(index).randbytes(random.Random(-index).randint(1, 48 * 1024))
    status, grant = post_json(
        f"{cloud.function_url}/uploads",
        {"filename": f"file-{index}.bin", "size": len(data),
         "content_type": "application/octet-stream"},
        origin=cloud.website_origin,
    )
    assert status == 200, grant
    fields = dict(grant["fields"])
    sent = data
    if kind == "oversized":
        sent = data + b"!"
    elif kind == "tampered":
        fields["key"] = fields["key"] + ".evil"
    body, ctype = multipart(fields, f"file-{index}.bin", sent)
    answer, _, raw = request("POST", str(grant["url"]), body, {"Content-Type": ctype})
    return Outcome(kind, str(fields["key"]), data, answer, raw)


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


def test_parallel_uploads_are_stored_intact_or_refused_cleanly(cloud: LocalCloud) -> None:
    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(lambda i: upload_one(cloud, i), range(UPLOADS)))

    refused = [o for o in outcomes if o.kind != "valid"]
    accepted = [o for o in outcomes if o.kind == "valid"]
    assert [o.status for o in accepted] == [200] * len(accepted)
    for outcome in refused:
        status, code = REFUSAL[outcome.kind]
        assert outcome.status == status, outcome
        assert b"<Error>" in outcome.body and f"<Code>{code}</Code>".encode() in outcome.body

    client = admin_client(cloud)
    listed = client.list_objects_v2(oss.ListObjectsV2Request(bucket=cloud.bucket, max_keys=1000))
    stored = {str(obj.key) for obj in listed.contents or []}
    assert stored == {o.key for o in accepted}
    for outcome in accepted:
        got = client.get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=outcome.key))
        assert got.body.read() == outcome.data
        assert int(got.hash_crc64) == crc64(outcome.data)

    bucket_dir = cloud.emulator.store.bucket_dir(cloud.bucket)
    assert files_under(bucket_dir / "tmp") == []
    objects = files_under(bucket_dir / "objects")
    assert len(objects) == 2 * len(accepted)  # one data file and one metadata file each
    assert sorted(os.path.getsize(p) for p in objects if p.suffix == ".data") == sorted(
        len(o.data) for o in accepted
    )
