"""The warm grant path's shortcuts give exactly what the plain library calls give.

The per-request code spells out date formats with ``%`` instead of ``strftime``, builds
the access line field by field instead of through ``dataclasses.asdict``, reuses one JSON
encoder, caches the credential scope and the policy expiry text, and skips the
per-character Unicode look-up for printable ASCII filenames, and parses STS's expiry
without ``strptime`` (whose first use imports and compiles ``_strptime``), and makes the
access log record directly instead of through ``Logger.info``'s frame walk. Each test compares the
shortcut against the straightforward computation it replaces.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from uploadsign import accesslog, keys, policy, signing, sts
from uploadsign.accesslog import RequestRecord
from uploadsign.envvars import DEFAULT_KEY_TEMPLATE
from uploadsign.errors import InvalidFilename, StsError
from uploadsign.responses import json_response

PLUS_8 = timezone(timedelta(hours=8))
MOMENTS = [
    pytest.param(datetime(2024, 1, 1, 0, 0, 0, tzinfo=timezone.utc), id="utc-new-year"),
    pytest.param(datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone.utc), id="leap"),
    pytest.param(datetime(2024, 1, 1, 7, 30, 5, 123456, tzinfo=PLUS_8), id="plus8-prev-day"),
    pytest.param(datetime(2031, 12, 31, 16, 0, 0, 1000, tzinfo=PLUS_8), id="plus8-new-year"),
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_signing_dates_match_strftime_in_utc(moment: datetime) -> None:
    utc = moment.astimezone(timezone.utc)
    assert signing.scope_date(moment) == utc.strftime(signing.DATE_FORMAT)
    assert signing.timestamp(moment) == utc.strftime(signing.TIMESTAMP_FORMAT)
    assert signing.credential("FAKE-AK", moment, "cn-hangzhou") == (
        f"FAKE-AK/{utc.strftime('%Y%m%d')}/cn-hangzhou/oss/aliyun_v4_request"
    )


@pytest.mark.parametrize("moment", MOMENTS)
def test_policy_expiration_matches_strftime_with_milliseconds(moment: datetime) -> None:
    utc = moment.astimezone(timezone.utc)
    expected = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    assert policy.format_expiration(moment) == expected
    assert policy.format_expiration(utc) == expected  # equal instants share a cache entry


@pytest.mark.parametrize("moment", MOMENTS)
def test_key_date_is_the_utc_day(moment: datetime) -> None:
    key = keys.render_key(
        DEFAULT_KEY_TEMPLATE, upload_dir="u/", subject=None, extension="png", now=moment,
        random_source=lambda n: b"\0" * n,
    )
    assert key == f"u/{moment.astimezone(timezone.utc):%Y/%m/%d}/{'00' * 16}.png"


def test_access_line_holds_every_record_field_in_declaration_order() -> None:
    record = RequestRecord(
        request_id="local-1", method="POST", route="/uploads", status=200, latency_ms=1.5,
        caller="ip:203.0.113.9", grant_id="g", sts_cache="hit", error=None,
    )
    expected = {"event": "request", **dataclasses.asdict(record)}
    assert record.line() == json.dumps(expected, separators=(",", ":"), ensure_ascii=True)


def test_policy_and_answer_json_match_json_dumps() -> None:
    document: dict[str, Any] = {"a": ["é", 1, True, None, {"b": "\"\\\n"}], "c": 2.5}
    moment = datetime(2024, 1, 1, tzinfo=timezone.utc)
    expected_policy = json.dumps(
        {"expiration": policy.format_expiration(moment), "conditions": [document]},
        separators=(",", ":"),
    )
    assert base64.b64decode(policy.encode(moment, [document])).decode() == expected_policy
    _, _, body = json_response(200, document)
    assert body == json.dumps(document, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "filename",
    ["a\x00.png", "a\x1f.png", "a\x7f.png", "a\u202e.png", "a\u2028.png", "a\ud800.png"],
    ids=["nul", "unit-sep", "del", "rtl-override", "line-sep", "surrogate"],
)
def test_filenames_with_controls_overrides_or_surrogates_are_still_refused(filename: str) -> None:
    with pytest.raises(InvalidFilename):
        keys.validate_filename(filename)


@pytest.mark.parametrize("filename", ["photo.png", "a b (1).JPG", "~!@#$%^&*()_+.txt", "é.png"])
def test_printable_filenames_are_accepted(filename: str) -> None:
    assert keys.validate_filename(filename) == filename


@pytest.mark.parametrize(
    "value",
    ["2015-04-09T11:52:19Z", "2099-01-01T00:00:00Z", "2024-2-9T1:2:3Z", "2024-02-29T23:59:59Z"],
)
def test_sts_expiration_parses_as_strptime_does(value: str) -> None:
    expected = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert sts.parse_expiration(value) == expected


@pytest.mark.parametrize(
    "value",
    ["tomorrow", "", "2015-04-09T11:52:19", "2015-04-09 11:52:19Z", "2015-04-09T11:52:19.5Z",
     "2015-13-09T11:52:19Z", "2023-02-29T00:00:00Z", "2015-04-09T24:00:00Z",
     " 2015-04-09T11:52:19Z", "2015-04-09T11:52:19Zx", "15-04-09T11:52:19Z"],
)
def test_sts_expiration_refuses_what_strptime_refuses(value: str) -> None:
    with pytest.raises(ValueError):
        datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(StsError) as caught:
        sts.parse_expiration(value)
    assert caught.value.code == "MalformedResponse"


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_records() -> Iterator[list[logging.LogRecord]]:
    logger = logging.getLogger(accesslog.ACCESS_LOGGER)
    keep, level = _Keep(), logger.level
    logger.addHandler(keep)
    logger.setLevel(logging.INFO)
    try:
        yield keep.records
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)


def test_access_record_is_the_one_logger_info_would_make(
    access_records: list[logging.LogRecord],
) -> None:
    record = RequestRecord(request_id="local-1", method="GET", status=404, error="not_found")
    accesslog.emit(record)
    logging.getLogger(accesslog.ACCESS_LOGGER).info(record.line())  # the plain call
    made, plain = access_records
    when = {"created", "msecs", "relativeCreated"}
    caller = {"pathname", "filename", "module", "lineno", "funcName"}
    assert vars(made).keys() == vars(plain).keys()
    assert {k: v for k, v in vars(made).items() if k not in when | caller} == {
        k: v for k, v in vars(plain).items() if k not in when | caller
    }
    # findCaller would name emit, the function calling the logger.
    assert (made.pathname, made.module, made.funcName) == (accesslog.__file__, "accesslog", "emit")
    assert made.getMessage() == record.line()


def test_access_record_still_passes_the_logger_filters(
    access_records: list[logging.LogRecord],
) -> None:
    logger = logging.getLogger(accesslog.ACCESS_LOGGER)
    refuse = logging.Filter("someone.else")
    logger.addFilter(refuse)
    try:
        accesslog.emit(RequestRecord(request_id="local-1", method="GET"))
    finally:
        logger.removeFilter(refuse)
    accesslog.emit(RequestRecord(request_id="local-2", method="GET"))
    assert [json.loads(r.getMessage())["request_id"] for r in access_records] == ["local-2"]
