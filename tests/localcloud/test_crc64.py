"""CRC-64 as OSS reports it: check values, chaining, and agreement with the official SDK."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from alibabacloud_oss_v2.crc import Crc64

from localcloud.oss.crc64 import crc64_update, crc64_update_pure


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"123456789", 11051210869376104954),
        (b"", 0),
        (b"test\n", 16633938635979353501),
    ],
)
@pytest.mark.parametrize("impl", [crc64_update, crc64_update_pure], ids=["fast", "pure"])
def test_crc64_matches_the_reference_check_values(
    impl: Callable[[int, bytes], int], data: bytes, expected: int
) -> None:
    assert impl(0, data) == expected


def _sdk_crc64(data: bytes) -> int:
    crc = Crc64(0)
    crc.update(data)
    return int(crc.sum64())


@pytest.mark.parametrize("seed", range(5))
def test_crc64_agrees_with_the_official_sdk_and_chains_across_chunks(seed: int) -> None:
    rng = random.Random(seed)
    data = rng.randbytes(rng.randrange(1, 5000))
    cut = rng.randrange(len(data) + 1)
    expected = _sdk_crc64(data)
    assert crc64_update(crc64_update(0, data[:cut]), data[cut:]) == expected
    assert crc64_update_pure(crc64_update_pure(0, data[:cut]), data[cut:]) == expected
