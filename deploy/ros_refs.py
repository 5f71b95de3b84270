"""Offline reading of a ROS template: every Ref, Fn::GetAtt, Fn::Sub, Fn::If and DependsOn
names something that exists, and Fn::GetAtt reads an attribute the resource type has; and
Conditions/Fn::If decided for given parameter values (what a stack would get).

Pure functions over the parsed template and the project's resource-type schema
(deploy/ros-resource-types.schema.json, whose types list their attributes under
``x-getatt``). No I/O; must not depend on the function code or any SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

PSEUDO_PARAMETERS = frozenset(
    {
        "ALIYUN::AccountId",
        "ALIYUN::TenantId",
        "ALIYUN::Region",
        "ALIYUN::StackId",
        "ALIYUN::StackName",
        "ALIYUN::NoValue",
    }
)
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
GETATT_KEY = "x-getatt"


def walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Yield (path, node) for every node of a parsed YAML tree."""
    yield path, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


def attributes(schema: Mapping[str, Any], resource_type: str) -> list[str]:
    """Return the Fn::GetAtt attributes the schema lists for a resource type."""
    definition = schema.get("definitions", {}).get(resource_type, {})
    return list(definition.get(GETATT_KEY, []))


def reference_findings(template: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    """Return a message for every dangling reference in the template."""
    parameters = set(template.get("Parameters", {}) or {})
    conditions = set(template.get("Conditions", {}) or {})
    resources: Mapping[str, Any] = template.get("Resources", {}) or {}
    names = parameters | set(resources) | PSEUDO_PARAMETERS
    findings: list[str] = []

    def check_getatt(where: str, resource: str, attribute: str) -> None:
        if resource not in resources:
            findings.append(f"{where}: Fn::GetAtt names unknown resource {resource!r}")
            return
        allowed = attributes(schema, str(resources[resource].get("Type")))
        if attribute not in allowed:
            findings.append(f"{where}: {resource} has no attribute {attribute!r} ({allowed})")

    for section in ("Resources", "Outputs"):
        for where, node in walk(template.get(section, {}), section):
            if not isinstance(node, Mapping):
                continue
            if "Ref" in node and node["Ref"] not in names:
                findings.append(f"{where}: Ref to unknown {node['Ref']!r}")
            if "Fn::If" in node and node["Fn::If"][0] not in conditions:
                findings.append(f"{where}: Fn::If names unknown condition {node['Fn::If'][0]!r}")
            if "Fn::GetAtt" in node:
                target = node["Fn::GetAtt"]
                if not (isinstance(target, list) and len(target) == 2):
                    findings.append(f"{where}: Fn::GetAtt needs [resource, attribute]")
                else:
                    check_getatt(where, str(target[0]), str(target[1]))
            if "Fn::Sub" in node:
                text = node["Fn::Sub"]
                text = text if isinstance(text, str) else str(text[0])
                for variable in SUB_VARIABLE.findall(text):
                    if "." in variable and not variable.startswith("ALIYUN::"):
                        resource, attribute = variable.split(".", 1)
                        check_getatt(where, resource, attribute)
                    elif variable not in names:
                        findings.append(f"{where}: Fn::Sub refers to unknown {variable!r}")
    for name, body in resources.items():
        depends = body.get("DependsOn", [])
        for target in [depends] if isinstance(depends, str) else depends:
            if target not in resources:
                findings.append(f"Resources.{name}.DependsOn: unknown resource {target!r}")
    return findings


NO_VALUE = {"Ref": "ALIYUN::NoValue"}


def _decide(node: Any, template: Mapping[str, Any], parameters: Mapping[str, Any]) -> Any:
    """Evaluate a condition expression: Fn::Equals/Not/And/Or over Refs and literals."""
    if isinstance(node, Mapping) and len(node) == 1:
        [(function, argument)] = node.items()
        if function == "Ref":
            declared = (template.get("Parameters", {}) or {}).get(argument, {})
            return parameters.get(argument, declared.get("Default"))
        if function == "Condition":
            return condition_values(template, parameters)[argument]
        values = [_decide(item, template, parameters) for item in argument]
        if function == "Fn::Equals":
            return values[0] == values[1]
        if function == "Fn::Not":
            return not values[0]
        if function == "Fn::And":
            return all(values)
        if function == "Fn::Or":
            return any(values)
        raise ValueError(f"unsupported condition function {function}")
    return node


def condition_values(
    template: Mapping[str, Any], parameters: Mapping[str, Any] | None = None
) -> dict[str, bool]:
    """Return each of the template's Conditions as ROS would decide it for ``parameters``.

    Parameters not given take their Default. Supports Fn::Equals, Fn::Not, Fn::And, Fn::Or
    and Condition over Refs and literals (what template.yml uses); ValueError otherwise.
    """
    given = parameters or {}
    return {
        name: bool(_decide(expression, template, given))
        for name, expression in (template.get("Conditions", {}) or {}).items()
    }


def with_conditions(value: Any, conditions: Mapping[str, bool]) -> Any:
    """Return a copy of ``value`` with every Fn::If decided by ``conditions``.

    A branch that is ``{"Ref": "ALIYUN::NoValue"}`` removes the member it is the value of,
    as ROS does; an unknown condition name raises KeyError.
    """
    if isinstance(value, list):
        return [with_conditions(item, conditions) for item in value]
    if not isinstance(value, Mapping):
        return value
    if set(value) == {"Fn::If"}:
        name, when_true, when_false = value["Fn::If"]
        return with_conditions(when_true if conditions[name] else when_false, conditions)
    decided = {key: with_conditions(item, conditions) for key, item in value.items()}
    return {key: item for key, item in decided.items() if item != NO_VALUE}
