"""The official SDK's managed uploader against the emulator, unchanged.

``Client.uploader().upload_file`` initiates, uploads parts in parallel, checks each part's
and the object's CRC-64 against the emulator's answers (its default) and completes; the
emulator must answer exactly as OSS does for that to succeed (oss-multipart.md §1-2).
"""

from __future__ import annotations

import os
from pathlib import Path

import alibabacloud_oss_v2 as oss

from localcloud.oss.crc64 import crc64_update
from tests.localcloud.objectkit import Cloud

PART = 100 * 1024


def test_the_sdk_uploader_stores_a_file_in_parallel_parts_with_checked_crcs(
    ops: Cloud, tmp_path: Path
) -> None:
    data = os.urandom(7 * PART + 1234)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    uploader = ops.client().uploader(part_size=PART, parallel_num=3)

    result = uploader.upload_file(
        oss.PutObjectRequest(bucket=ops.bucket, key="sdk/big.bin"), filepath=str(source))

    assert result.status_code == 200
    assert result.hash_crc64 == str(crc64_update(0, data))
    assert result.etag is not None and result.etag.endswith('-8"')
    stored = ops.stored("sdk/big.bin")
    assert stored is not None and stored[1] == data
    assert ops.emulator.app.uploads.list(ops.bucket) == []  # completed, nothing left over
