"""Offline reference check of a ROS template: every Ref, Fn::GetAtt, Fn::Sub and DependsOn
names something that exists, and Fn::GetAtt reads an attribute the resource type has.

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
