"""Offline reading of s.yaml: resolve Serverless Devs magic variables for schema checks.

Pure: takes the parsed document, returns a resolved copy; no I/O, no SDK, no network.
Only what the checks need is modelled: ``${vars.x}`` resolves from ``vars``; any other
expression (``${config('AccountID')}``, ``${resources.x.output...}``, ``${env(...)}``)
becomes a fixed placeholder string, because its real value exists only at deploy time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

EXPRESSION = re.compile(r"\$\{([^}]*)\}")
VARS_PREFIX = "vars."
ACCOUNT_ID_PLACEHOLDER = "123456789012"
OTHER_PLACEHOLDER = "resolved-at-deploy-time"


def resolve_expression(expression: str, variables: Mapping[str, Any]) -> Any:
    """Return the value of one ``${...}`` expression (its inside, without ``${}``)."""
    expression = expression.strip()
    if expression.startswith(VARS_PREFIX):
        name = expression[len(VARS_PREFIX):]
        if name not in variables:
            raise KeyError(f"s.yaml refers to undefined ${{vars.{name}}}")
        return variables[name]
    if expression.replace('"', "'") == "config('AccountID')":
        return ACCOUNT_ID_PLACEHOLDER
    return OTHER_PLACEHOLDER


def resolve(value: Any, variables: Mapping[str, Any]) -> Any:
    """Return a copy of ``value`` with every magic variable resolved.

    A string that is exactly one expression takes the expression's value and type, as
    Serverless Devs does; an expression inside longer text is interpolated as text.
    """
    if isinstance(value, Mapping):
        return {key: resolve(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    if not isinstance(value, str):
        return value
    whole = EXPRESSION.fullmatch(value)
    if whole:
        return resolve_expression(whole.group(1), variables)
    return EXPRESSION.sub(lambda m: str(resolve_expression(m.group(1), variables)), value)


def fc3_resources(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Return the fc3 resources of an s.yaml document by name."""
    resources = document.get("resources", {}) or {}
    return {
        name: body
        for name, body in resources.items()
        if str(body.get("component", "")).split("@")[0] == "fc3"
    }
