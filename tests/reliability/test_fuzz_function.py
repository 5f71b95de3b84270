"""Fuzzing the signing function's request parsing: only documented 4xx, never a 500.

Bodies of ``POST /uploads`` go through the WSGI app (fake credentials injected); whole
FC events go through ``index.handler``, configured from the environment and talking to the
STS stub on loopback. Besides arbitrary values the draws include the kinds that once made
500s: JSON nested thousands deep, huge and non-JSON numbers, and control characters in
every header the function reads (FC delivers header values a WSGI server would refuse).
Each answer must be one ``openapi.yaml`` documents for its route. Bounded: a few hundred
examples each, no deadline.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from uploadsign.credentials import TemporaryCredentials
from uploadsign.errors import MAX_JSON_DEPTH
from uploadsign.factory import build_app
from uploadsign.routes import SignApp

from tests.api.spec import assert_documented as assert_documented_answer
from tests.api.spec import operations, validator
from tests.support.loopback import ORIGIN, call, function_env, loopback, wsgi_environ

NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)
DOCUMENTED = {200, 204, 400, 401, 403, 404, 405, 413, 415, 422, 429}
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def fake_credentials() -> TemporaryCredentials:
    return TemporaryCredentials("STS.FAKE-AK-FUZZ", "fake-fuzz-secret", "fake-fuzz-token",
                                NOW + timedelta(hours=1))


@pytest.fixture(scope="module")
def app() -> SignApp:
    env = function_env("http://127.0.0.1:9", UPLOAD_ALLOWED_CONTENT_TYPES="image/png,text/plain",
                       UPLOAD_MAX_BYTES="1000000")
    return build_app(env, fetcher_factory=lambda s: fake_credentials, clock=lambda: NOW)


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=300))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=10), inner, max_size=3), max_leaves=6)
documents = st.fixed_dictionaries(
    {},
    optional={
        "filename": st.one_of(values, st.text(max_size=400)),
        "size": st.one_of(values, st.integers(min_value=-5, max_value=2_000_000)),
        "content_type": st.one_of(values, st.sampled_from(["image/png", "text/plain", "x/y"])),
        "extra": values,
    },
)


def nest(depth: int, opener: bytes, closer: bytes) -> bytes:
    """``depth`` openers around a ``1``, closed again unless ``closer`` is empty."""
    return opener * depth + (b"1" + closer * depth if closer else b"")


#: Arrays and objects from just inside the nesting bound to thousands deep, some unclosed.
deep_nesting = st.integers(MAX_JSON_DEPTH - 2, 6000).flatmap(lambda depth: st.sampled_from([
    nest(depth, b"[", b"]"), nest(depth, b'{"a":', b"}"), nest(depth, b'{"size":[', b"]}"),
    nest(depth, b"[", b""),
]))
#: Numbers past double precision, past float range, past the digit bound, and non-JSON ones.
huge_numbers = st.one_of(
    st.sampled_from(["1e400", "-1e400", "-0", "-0.0", "9007199254740993", "NaN", "Infinity",
                     "-Infinity", "1" + "0" * 400, "9" * 999, "9" * 1001, "0." + "1" * 2000]),
    st.integers(min_value=2**53, max_value=10**450).map(str),
)
#: A valid request with one field replaced by such a number (the later duplicate key wins).
number_bodies = st.tuples(huge_numbers, st.sampled_from(["size", "filename", "content_type"])).map(
    lambda n: f'{{"filename": "a.png", "size": 5, "content_type": "image/png", "{n[1]}": {n[0]}}}'
    .encode()
)
bodies = st.one_of(
    documents.map(lambda d: json.dumps(d).encode()),
    values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    deep_nesting,
    number_bodies,
)
#: Header values with at least one C0 control or DEL somewhere, and plain ones.
controls = st.one_of(st.characters(max_codepoint=0x1F), st.just("\x7f"))
#: x-oss-pub-key-url values: Base64 of an official prefix, then text with a control in it
#: (never exactly the published file, so nothing is ever fetched).
key_urls = st.tuples(
    st.sampled_from(["http://gosspublic.alicdn.com/", "https://gosspublic.alicdn.com/"]),
    st.text(max_size=10), controls, st.text(max_size=10),
).map(lambda t: base64.b64encode("".join(t).encode("utf-8", "surrogatepass")).decode())
header_values = st.one_of(
    st.tuples(st.text(max_size=20), controls, st.text(max_size=20)).map("".join),
    st.text(max_size=40),
    key_urls,
)

OPERATIONS = {(method, path): op for method, path, op in operations()}
ERROR = validator({"$ref": "#/components/schemas/Error"})


def assert_documented(status: int, body: bytes | str, route: tuple[str, str] | None = None) -> None:
    """Check the answer is documented: for ``route`` (METHOD, path) exactly, when given."""
    assert status in DOCUMENTED, body[:300]
    document = json.loads(body) if body else None
    if route is None:
        if status >= 400:
            ERROR.validate(document)
        return
    assert_documented_answer(OPERATIONS.get(route), status, document, route)


def answer(app: SignApp, environ: dict[str, Any]) -> tuple[int, bytes]:
    """Serve one raw environ; return (status, body)."""
    seen: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
        seen.append(status)
        return lambda data: None

    body = b"".join(app(environ, start_response))
    return int(seen[0].split(" ", 1)[0]), body


@FUZZ
@given(body=bodies)
def test_any_uploads_body_gets_a_grant_or_a_documented_4xx(app: SignApp, body: bytes) -> None:
    status, _, raw = call(app, "POST", "/uploads", body)
    assert_documented(status, raw, ("POST", "/uploads"))


ROUTES = sorted(OPERATIONS) + [("GET", "/nope"), ("PUT", "/uploads")]
#: Every header the function reads (``CONTENT_LENGTH`` is the one without ``HTTP_``).
READ_HEADERS = ["HTTP_AUTHORIZATION", "HTTP_ORIGIN", "HTTP_X_FC_REQUEST_ID",
                "HTTP_X_OSS_PUB_KEY_URL", "CONTENT_LENGTH"]


@FUZZ
@given(route=st.sampled_from(ROUTES), key=st.sampled_from(READ_HEADERS), value=header_values,
       body=st.one_of(st.just(b'{"filename": "a.png", "size": 5, "content_type": "image/png"}'),
                      bodies))
def test_any_value_of_a_header_the_function_reads_gets_a_documented_answer(
    app: SignApp, route: tuple[str, str], key: str, value: str, body: bytes
) -> None:
    # A signature is present, so a callback's key URL is examined (and refused).
    environ = {**wsgi_environ(*route, body), "HTTP_AUTHORIZATION": "QQ=="}
    environ[key] = value
    status, raw = answer(app, environ)
    assert_documented(status, raw, route)


@FUZZ
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"]),
       path=st.one_of(st.sampled_from(["/uploads", "/get_post_signature_for_oss_upload",
                                       "/healthz"]), st.text(max_size=40)))
def test_any_method_and_path_gets_a_documented_answer(app: SignApp, method: str, path: str) -> None:
    status, _, raw = call(app, method, path or "/", b"{}")
    assert_documented(status, raw, (method, path or "/"))


@pytest.fixture(scope="module")
def handler() -> Iterator[Any]:
    """``index.handler`` configured through the environment, STS stub on loopback."""
    import index

    patch = pytest.MonkeyPatch()
    with loopback() as lb:
        for name, value in function_env(lb.sts_url).items():
            patch.setenv(name, value)
        patch.setattr(index.app, "_app", None)  # built on the next request, from this env
        try:
            yield index.handler
        finally:
            patch.undo()


headers = st.dictionaries(st.sampled_from(["content-type", "origin", "host", "content-length",
                                           "authorization", "x-oss-pub-key-url",
                                           "x-fc-request-id", "x-anything"]),
                          st.one_of(header_values, st.just(ORIGIN)), max_size=4)
#: JSON values by type, ``null`` left out (the event format reads it as an absent member).
JSON_TYPES = {
    "boolean": st.booleans(),
    "number": st.one_of(st.integers(), st.floats()),
    "string": st.text(max_size=20),
    "array": st.lists(values, max_size=3),
    "object": st.dictionaries(st.text(max_size=10), values, max_size=3),
}


def json_other_than(kind: str) -> st.SearchStrategy[object]:
    """Any JSON value but ``null`` and those of type ``kind``."""
    return st.one_of([strategy for name, strategy in JSON_TYPES.items() if name != kind])


#: (where in the event, which JSON values are the wrong type there): FC 3.0's HTTP-trigger
#: event (function-compute-and-deploy.md §2.3) has objects, string maps, strings and a
#: boolean; any other JSON value in one of those places makes it no such event.
OBJECT_MEMBERS = [("requestContext",), ("requestContext", "http")]
STRING_MAP_MEMBERS = [("headers",), ("queryParameters",)]
STRING_MEMBERS = [("rawPath",), ("body",), ("requestContext", "domainName"),
                  ("requestContext", "http", "method"), ("requestContext", "http", "path"),
                  ("requestContext", "http", "protocol"), ("requestContext", "http", "sourceIp")]
wrong_values = {
    **{member: json_other_than("object") for member in OBJECT_MEMBERS + STRING_MAP_MEMBERS},
    **{member: json_other_than("string") for member in STRING_MEMBERS},
    ("isBase64Encoded",): json_other_than("boolean"),
}


@st.composite
def fc_events(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[str, str]]:
    """Draw a well-formed event, every member FC sends of its type; return it and its route.

    The route (METHOD, path) is the one the event was drawn to ask for, not what an
    adapter makes of it. The body is Base64 when drawn so, and always when not UTF-8.
    """
    method = draw(st.sampled_from(["GET", "POST", "OPTIONS", "PUT", "DELETE"]))
    path = draw(st.sampled_from(["/uploads", "/get_post_signature_for_oss_upload", "/healthz",
                                 "/callback", "/nope"]))
    data = draw(bodies)
    try:
        text = data.decode("utf-8")
        encoded = draw(st.booleans())
    except UnicodeDecodeError:
        encoded = True
    event = {
        "version": "v1",
        "rawPath": path,
        "body": base64.b64encode(data).decode("ascii") if encoded else text,
        "isBase64Encoded": encoded,
        "headers": draw(headers),
        "queryParameters": draw(st.dictionaries(st.text(max_size=10), st.text(max_size=20),
                                                max_size=3)),
        "requestContext": {
            "domainName": "fuzz.cn-hangzhou.fcapp.run",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7"},
        },
    }
    return event, (method, path)


def _with(event: dict[str, Any], member: tuple[str, ...], value: object) -> dict[str, Any]:
    """Return a copy of ``event`` with the member at ``member`` (a path of keys) replaced."""
    head, *rest = member
    changed = dict(event)
    changed[head] = _with(event[head], tuple(rest), value) if rest else value
    return changed


#: One way each to make a well-formed event no event: (how, where).
BREAKS = [*(("wrong-type", member) for member in wrong_values),
          *(("map-value", member) for member in STRING_MAP_MEMBERS),
          ("header-name", ("headers",)), ("base64", ("body",))]


@st.composite
def broken_events(draw: st.DrawFn, how: str, member: tuple[str, ...]) -> dict[str, Any]:
    """Draw a well-formed event, then break it at ``member`` as ``how`` says (see BREAKS)."""
    event, _ = draw(fc_events())
    if how == "wrong-type":
        return _with(event, member, draw(wrong_values[member]))
    if how == "map-value":
        value = draw(json_other_than("string"))
        return _with(event, member, {**event[member[0]], "x-anything": value})
    if how == "header-name":
        name = draw(st.sampled_from(["x anything", "x:y", "", "x\u00e9", "x\r\ny", "(x)"]))
        return _with(event, member, {**event["headers"], name: "v"})
    body = draw(st.sampled_from(["!", "abc", "QQ=", "Q Q==", "QQ==QQ=="]))
    return {**event, "body": body, "isBase64Encoded": True}


def not_an_object(document: bytes) -> bool:
    """True unless ``document`` parses (with the standard library) to a JSON object."""
    try:
        return not isinstance(json.loads(document), dict)
    except ValueError:
        return True


#: Whole documents that are no event: not JSON, JSON other than an object, or an object
#: nested beyond the function's JSON depth bound.
not_events = st.one_of(
    st.binary(max_size=200).filter(not_an_object),
    json_other_than("object").map(lambda v: json.dumps(v).encode()),
    st.integers(MAX_JSON_DEPTH + 1, 6000).map(lambda depth: nest(depth, b'{"a":', b"}")),
)


@FUZZ
@given(drawn=fc_events())
def test_any_well_formed_fc_event_gets_the_documented_answer_of_its_route(
    handler: Any, drawn: tuple[dict[str, Any], tuple[str, str]]
) -> None:
    event, route = drawn
    result = handler(json.dumps(event).encode(), None)
    assert_documented(result["statusCode"], result["body"], route)
    if result["statusCode"] == 400:
        assert json.loads(result["body"])["error"]["code"] != "bad_event"


@pytest.mark.parametrize(("how", "member"), BREAKS,
                         ids=[f"{how}:{'.'.join(member)}" for how, member in BREAKS])
@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_an_event_broken_in_one_place_is_a_400_bad_event(
    handler: Any, how: str, member: tuple[str, ...], data: st.DataObject
) -> None:
    event = data.draw(broken_events(how, member))
    result = handler(json.dumps(event).encode(), None)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "bad_event"


@FUZZ
@given(document=not_events)
def test_a_document_that_is_no_event_is_a_400_bad_event(handler: Any, document: bytes) -> None:
    result = handler(document, None)
    assert result["statusCode"] == 400
    assert json.loads(result["body"])["error"]["code"] == "bad_event"


@pytest.mark.parametrize("context", [1, "x", [1], {"http": 1}, {"http": [1]}],
                         ids=["number", "string", "list", "http-number", "http-list"])
def test_event_with_non_object_request_context_is_a_400(handler: Any, context: object) -> None:
    event = json.dumps({"rawPath": "/healthz", "requestContext": context}).encode()
    answer = handler(event, None)
    assert answer["statusCode"] == 400
    assert json.loads(answer["body"])["error"]["code"] == "bad_event"
