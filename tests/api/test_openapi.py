"""openapi.yaml: a valid OpenAPI 3.1 document that matches the app's routes and error codes."""

from __future__ import annotations

import inspect

from openapi_spec_validator import validate
from uploadsign import errors, limits, routes, uploadtoken

from tests.api.spec import operations, resolve, spec, validator


def test_document_is_valid_openapi_3_1() -> None:
    document = spec()
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_every_route_and_method_of_the_app_is_documented_and_nothing_else() -> None:
    documented = {(method, path) for method, path, _ in operations()}
    served = {(method, path) for path, methods in routes.ROUTES.items() for method in methods}
    assert documented == served


def test_every_error_code_of_the_error_tree_is_in_the_error_schema() -> None:
    # The tree lives in errors, plus the multipart errors beside the upload id (uploadtoken)
    # and the shared limits' (limits).
    codes = {
        cls.code
        for module in (errors, uploadtoken, limits)
        for cls in vars(module).values()
        if inspect.isclass(cls) and issubclass(cls, errors.SignError)
    } | {"bad_event"}  # the FC adapter's own answer to a malformed event
    enum = resolve(spec()["components"]["schemas"]["Error"])["properties"]["error"]["properties"][
        "code"
    ]["enum"]
    assert set(enum) == codes


def test_documented_examples_validate_against_their_schemas() -> None:
    media = [
        (f"{method} {path} {where}", content)
        for method, path, op in operations()
        for where, content in [
            ("request", op.get("requestBody", {}).get("content", {}).get("application/json")),
            *(
                (f"response {status}", (answer.get("content") or {}).get("application/json"))
                for status, answer in op["responses"].items()
            ),
        ]
        if content and "example" in content
    ]
    assert media, "no example found: the loop below would check nothing"
    for _, content in media:
        validator(content["schema"]).validate(content["example"])  # raises, naming the path


def test_error_schema_refuses_extra_keys_and_unknown_codes() -> None:
    check = validator({"$ref": "#/components/schemas/Error"})
    assert check.is_valid({"error": {"code": "not_found", "message": "no route"}})
    assert not check.is_valid({"error": {"code": "not_found", "message": "x", "trace": "..."}})
    assert not check.is_valid({"error": {"code": "oops", "message": "x"}})
    assert not check.is_valid({"detail": "x"})
