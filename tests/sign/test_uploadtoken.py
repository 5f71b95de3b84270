"""The multipart upload id (sealed, stateless) and the part plan it names."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest
from uploadsign import uploadtoken
from uploadsign.uploadtoken import (
    MAX_MULTIPART_BYTES,
    MAX_PART_BYTES,
    MAX_PARTS,
    MIN_PART_BYTES,
    InvalidUploadId,
    UploadClaims,
    UploadExpired,
    part_size_for,
    seal,
    unseal,
)

SECRET = b"fake-multipart-secret-for-tests-0123456789"
OLD_SECRET = b"fake-old-multipart-secret-for-tests-987654"
MiB = 1024**2
CLAIMS = UploadClaims(
    bucket="example-bucket", key="uploads/2024/05/01/abc.bin", oss_upload_id="0004B9895DBBB6EC9",
    size=300 * MiB + 5, part_size=8 * MiB, media_type="application/octet-stream",
    caller="user-1", grant_id="ab" * 12, expires=1714568400,
)
NOW = CLAIMS.expires - 100


def test_an_upload_id_opens_to_exactly_its_claims() -> None:
    token = seal(SECRET, CLAIMS)
    assert unseal([SECRET], token, NOW) == CLAIMS
    assert all(c.isalnum() or c in "-_." for c in token)  # a URL path segment as it is


def test_an_upload_id_of_the_previous_secret_still_opens_after_rotation() -> None:
    assert unseal([SECRET, OLD_SECRET], seal(OLD_SECRET, CLAIMS), NOW) == CLAIMS


@pytest.mark.parametrize("field", list(UploadClaims.__dataclass_fields__))
def test_changing_any_claim_breaks_the_seal(field: str) -> None:
    token = seal(SECRET, CLAIMS)
    version, payload, mac = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    index = list(UploadClaims.__dataclass_fields__).index(field)
    fields[index] = fields[index] + 1 if isinstance(fields[index], int) else "other"
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidUploadId):
        unseal([SECRET], f"{version}.{forged}.{mac}", NOW)


@pytest.mark.parametrize("token", [
    "", "m1", "m1..", "m2.e30.AAAA", "m1.e30", "x" * 5000, "m1.!!!.AAAA",
    "m1.\u00e9.AAAA", "m1.\u200b.AAAA", "m1.e30.\u00e9", "\u00e9",  # not ASCII: never ours
])
def test_malformed_upload_ids_are_invalid(token: str) -> None:
    with pytest.raises(InvalidUploadId) as info:
        unseal([SECRET], token, NOW)
    assert info.value.status == 400 and info.value.code == "invalid_upload_id"


def test_an_upload_id_sealed_under_another_secret_is_invalid() -> None:
    with pytest.raises(InvalidUploadId):
        unseal([SECRET], seal(b"fake-someone-elses-secret-0123456789abcdef", CLAIMS), NOW)


def test_a_sealed_but_ill_typed_payload_is_invalid() -> None:
    bad = replace(CLAIMS, size=True)  # a bool is not a size, even under a good seal
    with pytest.raises(InvalidUploadId):
        unseal([SECRET], seal(SECRET, bad), NOW)


def test_an_expired_upload_id_is_refused_with_its_own_code() -> None:
    token = seal(SECRET, CLAIMS)
    assert unseal([SECRET], token, CLAIMS.expires) == CLAIMS
    with pytest.raises(UploadExpired) as info:
        unseal([SECRET], token, CLAIMS.expires + 1)
    assert info.value.status == 403 and info.value.code == "upload_expired"


def test_no_secret_opens_nothing() -> None:
    with pytest.raises(InvalidUploadId):
        unseal([], seal(SECRET, CLAIMS), NOW)


# --- the part plan ---------------------------------------------------------------------------

def test_parts_are_the_part_size_except_a_shorter_last_one() -> None:
    assert CLAIMS.part_count == 38
    assert [CLAIMS.part_length(n) for n in (1, 37)] == [8 * MiB, 8 * MiB]
    assert CLAIMS.part_length(38) == 300 * MiB + 5 - 37 * 8 * MiB
    assert sum(CLAIMS.part_length(n) for n in range(1, 39)) == CLAIMS.size


def test_an_exact_multiple_has_a_full_last_part() -> None:
    claims = replace(CLAIMS, size=16 * MiB)
    assert claims.part_count == 2 and claims.part_length(2) == 8 * MiB


def test_the_part_size_grows_so_that_no_file_needs_more_than_10000_parts() -> None:
    assert part_size_for(300 * MiB, 8 * MiB) == 8 * MiB
    size = 100_000 * MiB + 1
    grown = part_size_for(size, 8 * MiB)
    assert grown > 8 * MiB and -(-size // grown) == MAX_PARTS
    assert part_size_for(MAX_MULTIPART_BYTES, 8 * MiB) == MAX_PART_BYTES


def test_the_part_size_is_never_below_the_oss_minimum_read_strictly() -> None:
    assert MIN_PART_BYTES == 102400  # "100 KB" read as 100 KiB, the stricter reading
    assert part_size_for(1, 1) == MIN_PART_BYTES


def test_the_largest_multipart_object_is_10000_parts_of_5_gib() -> None:
    assert uploadtoken.MAX_MULTIPART_BYTES == 10000 * 5 * 1024**3  # OSS's "48.8 TB"
