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


#: ``vars`` entry holding s.yaml's instance models, each a block of fc3 props that
#: ``resources.signer.props`` merges (``<<: *custom``): the documented switch.
MODELS_VAR = "instanceModels"


def instance_models(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Return s.yaml's instance models by name (``vars.instanceModels``)."""
    return dict((document.get("vars", {}) or {}).get(MODELS_VAR, {}) or {})


def model_props(document: Mapping[str, Any], resource: str, model: str) -> dict[str, Any]:
    """Return ``resource``'s fc3 props as they are with instance model ``model`` merged in.

    Keys any model sets belong to the models (the props never set them themselves), so
    they are replaced wholesale: switching the merge in s.yaml gives exactly this.
    Raises KeyError for an unknown resource or model.
    """
    models = instance_models(document)
    owned = {key for block in models.values() for key in block}
    props = fc3_resources(document)[resource]["props"]
    return {**models[model], **{k: v for k, v in props.items() if k not in owned}}


def merged_model(document: Mapping[str, Any], resource: str) -> list[str]:
    """Return the models whose every prop ``resource``'s props carry (the merged one)."""
    props = fc3_resources(document)[resource]["props"]
    return [name for name, block in instance_models(document).items()
            if all(props.get(key) == value for key, value in block.items())]
