"""ali-oss's ``multipartUpload`` against the local cloud's emulator, unchanged.

ali-oss (tests/node) initiates, sends 100 KiB parts three at a time (it reads each part's
``ETag`` header), completes, and the official Python SDK reads the object back as admin.
Once with ali-oss's V1 header signature (its default), once with V4.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.oss.crc64 import crc64_update
from localcloud.stack import ENDPOINTS_FILE, LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.nodejs import NODE_DIR, run_node

PART = 100 * 1024


@pytest.mark.parametrize("signature", ["v1", "v4"])
def test_ali_oss_multipart_upload_stores_the_file_byte_for_byte(
    storage_cloud: LocalCloud, tmp_path: Path, signature: str
) -> None:
    data = os.urandom(5 * PART + 321)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    key = f"uploads/ali-oss/{signature}/big.bin"

    done = run_node(NODE_DIR / "multipart_upload.mjs",
                    str(storage_cloud.state_dir / ENDPOINTS_FILE), str(source), key, signature)

    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout.splitlines()[-1])
    assert answer["status"] == 200 and answer["progress"] == 1
    assert re.fullmatch(r'"[0-9A-F]{32}-6"', answer["etag"])
    stored = admin_client(storage_cloud).get_object(
        oss.GetObjectRequest(bucket=storage_cloud.bucket, key=key))
    assert stored.body.read() == data
    assert stored.hash_crc64 == str(crc64_update(0, data))
    assert stored.etag == answer["etag"]
