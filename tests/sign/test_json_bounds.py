"""Client JSON is read within bounds: nesting depth, number length, JSON's own grammar.

``load_json`` is what ``POST /uploads``, ``POST /callback`` and the FC event adapter parse
with. Within the bounds it answers exactly what ``json.loads`` answers; beyond them, and
for anything that is not JSON, it raises ``MalformedJson`` (a 400), never a
``RecursionError`` or a quadratic integer conversion.
"""

from __future__ import annotations

import json
import math

import pytest
from uploadsign.errors import (
    MAX_JSON_DEPTH,
    MAX_JSON_NUMBER_CHARS,
    MalformedJson,
    load_json,
)


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    return opener * depth + closer * depth


def nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


WITHIN_BOUNDS = [
    pytest.param('{"filename": "cat.png", "size": 1234}', id="flat-object"),
    pytest.param(nested(MAX_JSON_DEPTH), id="deepest-array"),
    pytest.param(nested_objects(MAX_JSON_DEPTH), id="deepest-object"),
    pytest.param(json.dumps(["[" * 500, "{" * 500]), id="brackets-inside-strings"),
    pytest.param(json.dumps(['\\"' + "[" * 500, "\\"]), id="escaped-quotes-and-backslashes"),
    pytest.param("[" + ",".join(["[]"] * 500) + "]", id="wide-not-deep"),
    pytest.param("9" * MAX_JSON_NUMBER_CHARS, id="longest-integer"),
    pytest.param(str(10**400), id="integer-10e400"),
    pytest.param("9007199254740993", id="beyond-double-precision"),
    pytest.param("-0", id="minus-zero"),
    pytest.param("1e400", id="float-overflowing-to-infinity"),
    pytest.param("0." + "1" * (MAX_JSON_NUMBER_CHARS - 2), id="longest-float"),
]


@pytest.mark.parametrize("text", WITHIN_BOUNDS)
def test_json_within_bounds_reads_as_the_standard_library_reads_it(text: str) -> None:
    assert load_json(text) == json.loads(text)
    assert load_json(text.encode("utf-8")) == json.loads(text)


def test_exact_integers_and_infinite_floats_are_kept_as_python_reads_them() -> None:
    assert load_json('{"size": 9007199254740993}') == {"size": 9007199254740993}
    assert load_json("1e400") == math.inf


BEYOND_BOUNDS = [
    pytest.param(nested(MAX_JSON_DEPTH + 1), id="array-one-too-deep"),
    pytest.param(nested_objects(MAX_JSON_DEPTH + 1), id="object-one-too-deep"),
    pytest.param("[" * 100_000, id="unterminated-100000-deep"),
    pytest.param(nested(5_000), id="5000-deep"),
    pytest.param('{"size":' + nested(3_000) + "}", id="deep-inside-a-field"),
    pytest.param('["\\"]",' + nested(MAX_JSON_DEPTH + 1) + "]", id="deep-after-escaped-quote"),
    pytest.param("9" * (MAX_JSON_NUMBER_CHARS + 1), id="integer-too-long"),
    pytest.param("-" + "9" * MAX_JSON_NUMBER_CHARS, id="negative-integer-too-long"),
    pytest.param("9" * 100_000, id="integer-100000-digits"),
    pytest.param("0." + "1" * MAX_JSON_NUMBER_CHARS, id="float-too-long"),
    pytest.param("NaN", id="nan"),
    pytest.param('{"size": Infinity}', id="infinity"),
    pytest.param("-Infinity", id="minus-infinity"),
    pytest.param("", id="empty"),
    pytest.param("{", id="truncated"),
    pytest.param("{'a': 1}", id="single-quotes"),
    pytest.param("\ufeff{}", id="byte-order-mark"),
]


@pytest.mark.parametrize("text", BEYOND_BOUNDS)
def test_json_beyond_bounds_or_not_json_is_malformed_json(text: str) -> None:
    with pytest.raises(MalformedJson) as raised:
        load_json(text)
    assert raised.value.status == 400
    assert raised.value.code == "malformed_json"


@pytest.mark.parametrize("raw", [b"\xff\xfe", b'"\xc3"', b'{"a": "\xed\xa0\x80"}'],
                         ids=["not-utf8", "truncated-sequence", "encoded-surrogate"])
def test_bytes_that_are_not_utf8_are_malformed_json(raw: bytes) -> None:
    with pytest.raises(MalformedJson):
        load_json(raw)


def test_the_refusal_says_which_bound_was_crossed() -> None:
    with pytest.raises(MalformedJson, match=f"deeper than {MAX_JSON_DEPTH}"):
        load_json(nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(MalformedJson, match=f"longer than {MAX_JSON_NUMBER_CHARS}"):
        load_json("9" * (MAX_JSON_NUMBER_CHARS + 1))
    with pytest.raises(MalformedJson, match="^event is not valid JSON$"):
        load_json("{", "event")
