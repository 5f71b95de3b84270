"""Whole-structure checks of both grant bodies and their decoded policies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from uploadsign import policy
from uploadsign.config import Settings
from uploadsign.grants import GrantService, UploadRequest
from uploadsign.sts import Lookup

from .support import (
    BASE_ENV,
    FAKE_STS_KEY_ID,
    FAKE_STS_SECRET,
    FAKE_STS_TOKEN,
    FIXED_NOW,
    fake_credentials,
)

CREDENTIAL = f"{FAKE_STS_KEY_ID}/20240501/cn-hangzhou/oss/aliyun_v4_request"
GRANT_ID = "00" * 12  # the first draw of the counter source
KEY = "uploads/2024/05/01/" + "01" * 16 + ".png"


def service(settings: Settings, random: Callable[[int], bytes], expires: datetime) -> GrantService:
    return GrantService(settings, lambda: Lookup(fake_credentials(expires), "hit"), random)


def expected_signature(encoded: str) -> str:
    key = policy.signing_key(FAKE_STS_SECRET, "20240501", "cn-hangzhou")
    return policy.sign(key, encoded)


def test_upload_grant_pins_every_form_field_in_the_policy(
    settings: Settings, counter_random: Callable[[int], bytes]
) -> None:
    grant = service(settings, counter_random, FIXED_NOW + timedelta(hours=1)).upload_grant(
        UploadRequest("holiday photo.PNG", 2048, "image/png"), FIXED_NOW
    ).body
    fields = grant.pop("fields")
    assert grant == {
        "mode": "post",
        "url": "https://example-bucket.oss-cn-hangzhou.aliyuncs.com",
        "key": KEY,
        "expires_at": "2024-05-01T12:10:00.000Z",
        "max_size": 2048,
        "grant_id": GRANT_ID,
    }
    encoded = fields.pop("policy")
    assert fields == {
        "key": KEY,
        "x-oss-object-acl": "private",
        "x-oss-content-type": "image/png",
        "Content-Disposition": "inline; filename*=UTF-8''holiday%20photo.PNG",
        "x-oss-storage-class": "Standard",
        "x-oss-meta-original-filename": "holiday%20photo.PNG",
        "success_action_status": "200",
        "x-oss-forbid-overwrite": "true",
        "x-oss-signature-version": "OSS4-HMAC-SHA256",
        "x-oss-credential": CREDENTIAL,
        "x-oss-date": "20240501T120000Z",
        "x-oss-security-token": FAKE_STS_TOKEN,
        "x-oss-signature": expected_signature(encoded),
    }
    assert policy.decode(encoded) == {
        "expiration": "2024-05-01T12:10:00.000Z",
        "conditions": [
            {"bucket": "example-bucket"},
            {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
            {"x-oss-credential": CREDENTIAL},
            {"x-oss-date": "20240501T120000Z"},
            {"x-oss-security-token": FAKE_STS_TOKEN},
            ["eq", "$key", KEY],
            ["eq", "$x-oss-object-acl", "private"],
            ["eq", "$x-oss-content-type", "image/png"],
            ["eq", "$content-disposition", "inline; filename*=UTF-8''holiday%20photo.PNG"],
            ["eq", "$x-oss-storage-class", "Standard"],
            ["eq", "$x-oss-meta-original-filename", "holiday%20photo.PNG"],
            ["eq", "$success_action_status", "200"],
            ["eq", "$x-oss-forbid-overwrite", "true"],
            ["content-length-range", 2048, 2048],
        ],
    }


def test_every_sent_field_except_policy_and_signature_has_a_condition(
    settings: Settings, counter_random: Callable[[int], bytes]
) -> None:
    grant = service(settings, counter_random, FIXED_NOW + timedelta(hours=1)).upload_grant(
        UploadRequest("a.txt", 1, "text/plain"), FIXED_NOW
    ).body
    conditions = policy.decode(grant["fields"]["policy"])["conditions"]
    assert isinstance(conditions, list)
    pinned = {next(iter(c)).lower() for c in conditions if isinstance(c, dict)}
    pinned |= {c[1][1:] for c in conditions if isinstance(c, list) and c[0] == "eq"}
    sent = {name.lower() for name in grant["fields"]} - {"policy", "x-oss-signature"}
    assert sent <= pinned


def test_prefix_grant_matches_the_published_sample_shape_in_a_per_grant_directory(
    settings: Settings, counter_random: Callable[[int], bytes]
) -> None:
    grant = service(settings, counter_random, FIXED_NOW + timedelta(hours=1)).prefix_grant(
        FIXED_NOW
    ).body
    encoded = grant.pop("policy")
    assert grant == {
        "x_oss_signature_version": "OSS4-HMAC-SHA256",
        "x_oss_credential": CREDENTIAL,
        "x_oss_date": "20240501T120000Z",
        "signature": expected_signature(encoded),
        "host": "https://example-bucket.oss-cn-hangzhou.aliyuncs.com",
        "dir": f"uploads/{GRANT_ID}/",
        "security_token": FAKE_STS_TOKEN,
        "success_action_status": "200",
        "expires_at": "2024-05-01T12:10:00.000Z",
        "max_size": 10 * 1024 * 1024,
        "grant_id": GRANT_ID,
    }
    assert policy.decode(encoded) == {
        "expiration": "2024-05-01T12:10:00.000Z",
        "conditions": [
            {"bucket": "example-bucket"},
            {"x-oss-signature-version": "OSS4-HMAC-SHA256"},
            {"x-oss-credential": CREDENTIAL},
            {"x-oss-date": "20240501T120000Z"},
            {"x-oss-security-token": FAKE_STS_TOKEN},
            ["starts-with", "$key", f"uploads/{GRANT_ID}/"],
            ["content-length-range", 1, 10 * 1024 * 1024],
        ],
    }


def test_prefix_grant_pins_allowed_types_when_an_allow_list_is_set(
    counter_random: Callable[[int], bytes],
) -> None:
    env = {**BASE_ENV, "UPLOAD_ALLOWED_CONTENT_TYPES": "image/png, image/jpeg"}
    grant = service(
        Settings.from_env(env), counter_random, FIXED_NOW + timedelta(hours=1)
    ).prefix_grant(FIXED_NOW).body
    conditions = policy.decode(grant["policy"])["conditions"]
    assert isinstance(conditions, list)
    assert conditions[-1] == ["in", "$content-type", ["image/png", "image/jpeg"]]


def test_policy_never_outlives_the_credentials_that_signed_it(
    settings: Settings, counter_random: Callable[[int], bytes]
) -> None:
    expires = FIXED_NOW + timedelta(minutes=4)
    grant = service(settings, counter_random, expires).upload_grant(
        UploadRequest("a.png", 5, "image/png"), FIXED_NOW
    ).body
    assert grant["expires_at"] == "2024-05-01T12:03:00.000Z"  # 4 min minus the 60 s margin
    assert policy.decode(grant["fields"]["policy"])["expiration"] == grant["expires_at"]


def test_path_style_host_still_pins_the_bucket_name(
    counter_random: Callable[[int], bytes],
) -> None:
    env = {**BASE_ENV, "OSS_HOST": "http://127.0.0.1:9100/example-bucket"}
    grant = service(
        Settings.from_env(env), counter_random, FIXED_NOW + timedelta(hours=1)
    ).upload_grant(UploadRequest("a.png", 5, "image/png"), FIXED_NOW).body
    assert grant["url"] == "http://127.0.0.1:9100/example-bucket"
    conditions = policy.decode(grant["fields"]["policy"])["conditions"]
    assert isinstance(conditions, list)
    assert conditions[0] == {"bucket": "example-bucket"}


def test_format_expiration_uses_milliseconds_and_z() -> None:
    moment = FIXED_NOW + timedelta(microseconds=123456)
    assert policy.format_expiration(moment) == "2024-05-01T12:00:00.123Z"


def test_each_sample_grant_gets_a_directory_of_its_own(
    settings: Settings, counter_random: Callable[[int], bytes]
) -> None:
    grants = service(settings, counter_random, FIXED_NOW + timedelta(hours=1))
    first, second = (grants.prefix_grant(FIXED_NOW).body["dir"] for _ in range(2))
    assert (first, second) == ("uploads/" + "00" * 12 + "/", "uploads/" + "01" * 12 + "/")
