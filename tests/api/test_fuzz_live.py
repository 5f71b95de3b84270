"""Bounded fuzz run against the live function (gunicorn on loopback, local STS and OSS).

Hypothesis draws requests from the spec's operations (plus unknown routes and wrong
methods): bodies built from the documented schemas and then mutated, arbitrary JSON,
raw bytes, JSON nested thousands deep and huge or non-JSON numbers; good, expired, forged
and absent tokens; allowed, foreign and absent origins; forged callback signatures and key
URLs with control characters; control characters in every header the function reads (those
that pass the HTTP server: gunicorn refuses CR, LF, NUL and the other C0 controls itself;
tests/reliability sends those through FC events). Every answer must be below 500,
documented for its operation, valid against the documented schema, and no error body or
log line may show a secret.
The run is deterministic (``derandomize``) and bounded (``MAX_EXAMPLES``).
"""

from __future__ import annotations

import base64
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from localcloud.oss.app import PUB_KEY_PATH
from localcloud.stack import LocalCloud
from tests.api.spec import (
    assert_documented,
    operations,
    spec,
    validator,
)
from tests.conftest import leaked_lines
from tests.e2e.forms import request

MAX_EXAMPLES = 300
SECRET = "FAKE-HS256-fuzz-secret-0123456789abcdef"
ALLOWED_ORIGIN = "http://localhost:1"  # replaced by the stack's page origin
NOW = int(time.time())
VALID_TOKEN = jwt.encode({"sub": "fuzzer", "exp": NOW + 3600}, SECRET, algorithm="HS256")
SLASHY_TOKEN = jwt.encode({"sub": "a/../b", "exp": NOW + 3600}, SECRET, algorithm="HS256")
EXPIRED_TOKEN = jwt.encode({"sub": "fuzzer", "exp": NOW - 3600}, SECRET, algorithm="HS256")
FORGED_TOKEN = jwt.encode({"sub": "fuzzer", "exp": NOW + 3600},
                          "FAKE-wrong-secret-0123456789abcdefgh", algorithm="HS256")
TOKENS = (VALID_TOKEN, SLASHY_TOKEN, EXPIRED_TOKEN, FORGED_TOKEN)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    # The stack wires the upload callback (URL and the emulator's key prefix) by default.
    overrides = {
        "AUTH_MODE": "jwt",
        "AUTH_JWT_SECRET": SECRET,
        "OSS_KEY_TEMPLATE": "{dir}{sub}/{date}/{id}{ext}",
        "UPLOAD_MAX_BYTES": "1000000",
        # Sizes above this get a multipart plan; its upload id fills the multipart paths.
        "UPLOAD_MULTIPART_THRESHOLD_BYTES": "500000",
        "UPLOAD_PART_SIZE_BYTES": "102400",
        "RATE_LIMIT_PER_MINUTE": "120",
        "UPLOAD_SAMPLE_ROUTE": "on",  # exercised too; its 404 when off is in tests/sign
    }
    with LocalCloud.start(tmp_path_factory.mktemp("fuzz"), function_env_overrides=overrides,
                          publish_web=False) as cloud:
        yield cloud


# --- strategies built from the spec ---------------------------------------------------------

def from_property(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A plausible value for one documented property, sometimes of the wrong type."""
    kind = schema.get("type")
    plausible: st.SearchStrategy[Any]
    if kind == "integer" or kind == ["string", "integer"]:
        plausible = st.one_of(st.integers(-5, 2_000_000), st.just(10**30))
    elif kind == "string":
        plausible = st.one_of(
            st.sampled_from(["cat.png", "image/png", "text/plain", "a.tar.gz", "../x", ".."]),
            st.text(max_size=40),
        )
    else:
        plausible = st.text(max_size=10)
    wrong = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.lists(
        st.integers(), max_size=2))
    return st.one_of(plausible, plausible, plausible, wrong)


def object_from(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the documented properties, some dropped, some extra."""
    props = schema.get("properties", {})
    return st.fixed_dictionaries(
        {}, optional={name: from_property(sub) for name, sub in props.items()}
    ).flatmap(lambda base: st.dictionaries(st.text(max_size=8), st.integers(), max_size=2).map(
        lambda extra: {**extra, **base}))


ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)


def body_for(operation: dict[str, Any]) -> st.SearchStrategy[bytes]:
    media = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not media:
        return st.one_of(st.just(b""), st.binary(max_size=64))
    documented = validator(media["schema"]).schema
    target = documented
    if "$ref" in target:
        name = target["$ref"].rsplit("/", 1)[-1]
        target = spec()["components"]["schemas"][name]
    example = media.get("example")
    shapes = [object_from(target), ANY_JSON]
    if isinstance(example, dict):
        shapes.append(st.just(example))
    if isinstance(example, dict) and example:  # an empty example ({}) has nothing to mutate
        shapes.append(mutated(example, target))
    encoded = st.one_of(*shapes).map(lambda doc: json.dumps(doc).encode())
    hostile = st.one_of(DEEP, HUGE_NUMBERS)
    return st.one_of(encoded, encoded, encoded, encoded, st.binary(max_size=200), hostile)


#: JSON nested from just inside the bound to thousands deep (the body limit is 16 KB).
DEEP = st.tuples(st.integers(30, 7000), st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")])).map(
    lambda d: d[1][0] * d[0] + b"1" + d[1][1] * d[0])
#: The documented example with ``size`` (or another field) as a huge or non-JSON number.
HUGE_NUMBERS = st.tuples(
    st.sampled_from(["size", "filename", "content_type"]),
    st.sampled_from(["1e400", "-0", "9007199254740993", "1" + "0" * 400, "9" * 5000, "NaN",
                     "-Infinity", "0." + "1" * 2000]),
).map(lambda t: f'{{"filename": "cat.png", "size": 1234, "content_type": "image/png", '
                f'"{t[0]}": {t[1]}}}'.encode())
#: Headers the function reads, and what of a control character survives the HTTP server.
READ_HEADERS = ["Authorization", "Origin", "X-Fc-Request-Id", "x-oss-pub-key-url"]
PASSING_CONTROLS = ["\t", "\x85", "\u00e9"]


def mutated(example: dict[str, Any], schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """The documented example with one property replaced or removed."""
    props = schema.get("properties", {})
    names = sorted(example)

    def change(name: str) -> st.SearchStrategy[dict[str, Any]]:
        replaced = from_property(props.get(name, {})).map(lambda v: {**example, name: v})
        removed = st.just({k: v for k, v in example.items() if k != name})
        return st.one_of(replaced, replaced, removed)

    return st.sampled_from(names).flatmap(change)


OPERATIONS = [(m, p, op) for m, p, op in operations()]
EXTRA_TARGETS = [("GET", "/nope"), ("DELETE", "/uploads"), ("PUT", "/callback"),
                 ("POST", "/healthz"), ("GET", "/uploads/../healthz")]


@st.composite
def fuzz_request(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.integers(0, 9)) == 0:
        method, path = draw(st.sampled_from(EXTRA_TARGETS))
        operation: dict[str, Any] | None = None
        body = draw(st.binary(max_size=32))
    else:
        method, path, operation = draw(st.sampled_from(OPERATIONS))
        body = draw(body_for(operation))
    headers: dict[str, str] = {"Content-Type": draw(st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded"]))}
    token = draw(st.one_of(st.just(VALID_TOKEN), st.just(VALID_TOKEN), st.none(),
                           st.sampled_from(TOKENS),
                           st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                   max_size=30)))
    if token is not None:
        scheme = draw(st.sampled_from(["Bearer ", "Bearer ", "bearer ", "Basic "]))
        headers["Authorization"] = scheme + token
    origin = draw(st.sampled_from([None, ALLOWED_ORIGIN, "https://evil.example", "null"]))
    if origin:
        headers["Origin"] = origin
    if path == "/callback":
        if draw(st.booleans()):
            headers["authorization"] = base64.b64encode(draw(st.binary(max_size=80))).decode()
        key_url = draw(st.sampled_from([
            None, "http://gosspublic.alicdn.com/callback_pub_key_v1.pem",
            "http://127.0.0.1:1/x.pem", "LOCAL", "LOCAL\x01", "LOCAL\r\nHost: evil",
            "LOCAL ", "LOCAL\x7f", "LOCAL?v=2",
        ]))
        if key_url:
            headers["x-oss-pub-key-url"] = base64.b64encode(key_url.encode()).decode()
    control = None
    if draw(st.integers(0, 4)) == 0:
        control = (draw(st.sampled_from(READ_HEADERS)), draw(st.integers(0, 200)),
                   draw(st.sampled_from(PASSING_CONTROLS)))
    upload_id = draw(st.sampled_from(UPLOAD_IDS))
    return {"method": method, "path": path, "operation": operation, "headers": headers,
            "body": body, "control": control, "upload_id": upload_id}


#: What fills ``{upload_id}``: the run's genuine one (mostly), a forged one, the raw template.
UPLOAD_IDS = ["GENUINE", "GENUINE", "GENUINE", "FORGED", "{upload_id}"]


def explicit(method: str, path: str, body: bytes = b"", *, key_url: str | None = None,
             control: tuple[str, int, str] | None = None) -> dict[str, Any]:
    """A case the run always includes: one of each kind, whatever the draws."""
    operation = next(op for m, p, op in OPERATIONS if (m, p) == (method, path))
    headers = {"Content-Type": "application/json", "Authorization": "Bearer " + VALID_TOKEN,
               "Origin": ALLOWED_ORIGIN}
    if key_url is not None:  # a callback: OSS's signature instead of a bearer token
        headers["authorization"] = base64.b64encode(b"\0" * 256).decode()
        del headers["Authorization"]
        headers["x-oss-pub-key-url"] = base64.b64encode(key_url.encode()).decode()
    return {"method": method, "path": path, "operation": operation, "headers": headers,
            "body": body, "control": control, "upload_id": "GENUINE"}


GOOD_BODY = b'{"filename": "cat.png", "size": 1234, "content_type": "image/png"}'
EXPLICIT_CASES = [
    explicit("POST", "/uploads", GOOD_BODY),
    explicit("POST", "/uploads", b"[" * 5000 + b"]" * 5000),
    explicit("POST", "/uploads", GOOD_BODY.replace(b"1234", b"1" + b"0" * 400)),
    explicit("POST", "/uploads", GOOD_BODY.replace(b"1234", b"1e400")),
    explicit("POST", "/uploads", GOOD_BODY.replace(b"1234", b"-0")),
    explicit("POST", "/uploads", GOOD_BODY.replace(b"1234", b"9007199254740993")),
    explicit("POST", "/callback", b"{}", key_url="LOCAL\x01"),
    explicit("POST", "/callback", b"{}", key_url="LOCAL\r\nHost: evil"),
    *(explicit("POST", "/uploads", GOOD_BODY, control=(name, 3, "\t"))
      for name in READ_HEADERS if name != "x-oss-pub-key-url"),
    explicit("POST", "/callback", b"{}", key_url="LOCAL", control=("x-oss-pub-key-url", 3, "\t")),
    explicit("POST", "/uploads/{upload_id}/parts", b'{"part_numbers": [1, 6]}'),
    explicit("GET", "/uploads/{upload_id}"),
    explicit("DELETE", "/uploads/{upload_id}"),
    explicit("POST", "/uploads/{upload_id}/complete", b"{}"),  # after the abort: 404
]


def with_control(headers: dict[str, str], control: tuple[str, int, str] | None) -> None:
    """Insert the drawn control character into the drawn header (added if absent)."""
    if control is not None:
        name, at, char = control
        value = headers.pop(name, None) or headers.pop(name.lower(), None) or "x"
        headers[name] = value[:at] + char + value[at:]


# --- the run --------------------------------------------------------------------------------

def check_answer(case: dict[str, Any], status: int, headers: dict[str, str], body: bytes,
                 secrets: set[str]) -> None:
    assert status < 500, (case["method"], case["path"], status, body[:200])
    ctype = headers.get("content-type", "")
    document = json.loads(body) if ctype.startswith("application/json") and body else None
    assert_documented(case["operation"], status, document, case["path"])
    if status >= 400:
        text = body.decode("utf-8", "replace")
        assert not [s for s in secrets if s and s in text], "an error body shows a secret"
    if status == 401:
        assert headers["www-authenticate"].startswith("Bearer realm=")
    if status == 429:
        assert headers["retry-after"].isdigit()


def test_bounded_fuzz_run_finds_no_5xx_and_only_documented_answers(
    stack: LocalCloud, logged_secrets: set[str], tmp_path: Path
) -> None:
    origin = stack.website_origin
    key_url = stack.oss_url + PUB_KEY_PATH
    secrets = {SECRET, *TOKENS, stack.execution_credentials.access_key_secret,
               stack.execution_credentials.security_token or ""}
    logged_secrets.update(secrets)
    tally: Counter[tuple[str, str, int]] = Counter()
    grant_secrets: set[str] = set()
    big = GOOD_BODY.replace(b"1234", b"600000")
    status, _, raw = request("POST", f"{stack.function_url}/uploads", big, {
        "Content-Type": "application/json", "Authorization": "Bearer " + VALID_TOKEN,
        "Origin": origin})
    assert status == 200, raw
    genuine = json.loads(raw)["upload_id"]
    upload_ids = {"GENUINE": genuine, "FORGED": genuine[:-3] + "xyz"}

    def one(case: dict[str, Any]) -> None:
        headers = dict(case["headers"])
        if headers.get("Origin") == ALLOWED_ORIGIN:
            headers["Origin"] = origin
        drawn_key_url = base64.b64decode(headers.get("x-oss-pub-key-url", "")).decode()
        if drawn_key_url.startswith("LOCAL"):
            drawn_key_url = drawn_key_url.replace("LOCAL", key_url, 1)
            headers["x-oss-pub-key-url"] = base64.b64encode(drawn_key_url.encode()).decode()
        with_control(headers, case["control"])
        path = case["path"].replace("{upload_id}", upload_ids.get(case["upload_id"],
                                                                  case["upload_id"]))
        status, answer_headers, body = request(case["method"], stack.function_url + path,
                                               case["body"], headers)
        tally[(case["method"], case["path"], status)] += 1
        if status == 200 and case["path"] == "/uploads" and "fields" in json.loads(body):
            fields = json.loads(body)["fields"]
            grant_secrets.update({fields["x-oss-signature"], fields["x-oss-security-token"]})
        if status == 200 and case["path"].endswith("/parts"):
            for part in json.loads(body)["parts"]:
                query = dict(parse_qsl(urlsplit(part["url"]).query))
                grant_secrets.update({query["x-oss-signature"], query["x-oss-security-token"]})
        check_answer(case, status, answer_headers, body, secrets | grant_secrets)

    one(explicit("POST", "/uploads/{upload_id}/complete", b"{}"))
    assert tally[("POST", "/uploads/{upload_id}/complete", 409)] == 1  # no part was sent yet
    for case in EXPLICIT_CASES:
        one = example(case=case)(one)
    settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
             suppress_health_check=list(HealthCheck))(given(case=fuzz_request())(one))()
    summary = {f"{m} {p} -> {s}": n for (m, p, s), n in sorted(tally.items())}
    (tmp_path / "fuzz-summary.json").write_text(json.dumps(summary, indent=2))
    print("fuzz summary:", json.dumps(summary, indent=1))
    statuses = {s for (_, _, s) in tally}
    assert {200, 400, 401, 403, 404, 405}.issubset(statuses)  # grants and refusals reached
    assert tally[("POST", "/uploads", 200)] > 0
    assert tally[("POST", "/uploads/{upload_id}/parts", 200)] > 0
    assert tally[("DELETE", "/uploads/{upload_id}", 204)] > 0
    assert stack.log_path is not None
    log_lines = stack.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    assert leaked_lines(log_lines, secrets | grant_secrets) == []
    assert not [line for line in log_lines if "Traceback" in line]
