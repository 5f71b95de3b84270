"""Load ``openapi.yaml`` and validate documents against its schemas (JSON Schema 2020-12)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@cache
def spec() -> dict[str, Any]:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow one local ``$ref`` (``#/components/...``)."""
    while "$ref" in node:
        target: Any = spec()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    """Return (METHOD, path, operation) for every documented operation."""
    return [
        (method.upper(), path, op)
        for path, item in spec()["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def response_for(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    """Return the response documented for exactly ``status``, resolved.

    ``default`` is not consulted: every operation has one, so falling back to it would
    make "this status is documented" true of any status.
    """
    found = operation["responses"].get(str(status))
    return resolve(found) if found is not None else None


def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """Return a validator for ``schema`` whose ``$ref``s resolve inside the spec."""
    root = {**schema, "components": spec()["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def json_schema_of(response: dict[str, Any]) -> dict[str, Any] | None:
    content = response.get("content") or {}
    media = content.get("application/json")
    return media["schema"] if media else None


def assert_documented(operation: dict[str, Any] | None, status: int, document: Any,
                      where: object) -> None:
    """Check an answer against what ``openapi.yaml`` documents for ``operation``.

    ``document`` is the decoded JSON body (None when there is none); ``where`` names the
    request in failure messages. No operation (a route the spec does not have): 404 or 405
    with an ``Error`` body. Otherwise ``status`` must be documented for the operation, the
    body must match that response's schema, and a 4xx body must be an ``Error``.
    """
    error = validator({"$ref": "#/components/schemas/Error"})
    if operation is None:
        assert status in (404, 405), (where, status)
        error.validate(document)
        return
    response = response_for(operation, status)
    assert response is not None, f"{status} is not documented for {where}"
    schema = json_schema_of(response)
    if schema is not None:
        validator(schema).validate(document)
    if status >= 400:
        error.validate(document)
