"""The naming rules of what template.yml creates, and the parameter chains that reach them.

A parameter used inside another name (``${ExecutionRoleName}-assume-upload-role`` as a RAM
policy name) must accept only what every such name accepts, or a stack fails halfway, at
the resource that refuses it. This module owns the documented rules, one per named
property, and :func:`name_chains`, which finds every named property of every resource and
how its value is built (literal text, ``Ref``, ``Fn::Sub``, ``Fn::Join``). Pure functions over
the parsed template; no I/O, no SDK.

Sources of the rules (where two pages differ, the stricter one is kept):

- RAM role name: 1-64 characters, letters, digits, ``.`` and ``-`` (RAM CreateRole,
  https://www.alibabacloud.com/help/doc-detail/159988.htm; the ROS ALIYUN::RAM::Role page
  also allows ``_``).
- RAM policy name: 1-128 characters, letters, digits and ``-`` (RAM CreatePolicy,
  https://www.alibabacloud.com/help/doc-detail/159976.htm; else
  InvalidParameter.PolicyName.InvalidChars).
- OSS bucket name: 3-63 characters, lower-case letters, digits and ``-``, starting and
  ending with a letter or digit (OSS bucket naming rules,
  https://www.alibabacloud.com/help/en/oss/user-guide/bucket-naming-conventions).
- FC 3.0 function name: 1-64 characters, letters, digits, ``_`` and ``-``, not starting with
  a digit or ``-`` (ROS ALIYUN::FC3::Function,
  https://help.aliyun.com/zh/ros/developer-reference/aliyun-fc3-function).
- FC 3.0 trigger name: 1-128 characters, ``[A-Za-z_][A-Za-z0-9_-]*`` (ROS ALIYUN::FC3::Trigger,
  function-compute-and-deploy.md section 5.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from deploy.ros_refs import SUB_VARIABLE


@dataclass(frozen=True)
class NameRule:
    """What one kind of name may be: a full-match pattern and a length range (characters)."""

    what: str
    pattern: str
    min_length: int
    max_length: int

    def accepts(self, name: str) -> bool:
        """True when ``name`` is a valid name of this kind."""
        return (self.min_length <= len(name) <= self.max_length
                and re.fullmatch(self.pattern, name) is not None)


RAM_ROLE = NameRule("RAM role name", r"[A-Za-z0-9.-]+", 1, 64)
RAM_POLICY = NameRule("RAM policy name", r"[A-Za-z0-9-]+", 1, 128)
OSS_BUCKET = NameRule("OSS bucket name", r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?", 3, 63)
FC_FUNCTION = NameRule("FC function name", r"[A-Za-z_][A-Za-z0-9_-]*", 1, 64)
FC_TRIGGER = NameRule("FC trigger name", r"[A-Za-z_][A-Za-z0-9_-]*", 1, 128)

#: The named properties of the resource types template.yml uses; ``[]`` steps into a list.
NAME_RULES: dict[tuple[str, str], NameRule] = {
    ("ALIYUN::RAM::Role", "RoleName"): RAM_ROLE,
    ("ALIYUN::RAM::Role", "Policies[].PolicyName"): RAM_POLICY,
    ("ALIYUN::OSS::Bucket", "BucketName"): OSS_BUCKET,
    ("ALIYUN::FC3::Function", "FunctionName"): FC_FUNCTION,
    ("ALIYUN::FC3::Trigger", "TriggerName"): FC_TRIGGER,
}

#: A part of a built name: literal text, or the name of a parameter whose value goes there.
Part = tuple[str, str]
LITERAL, PARAMETER = "literal", "parameter"


class NameChain(NamedTuple):
    """One named property and how its value is built from literals and parameters."""

    where: str
    rule: NameRule
    parts: tuple[Part, ...]

    @property
    def parameters(self) -> list[str]:
        """The parameters (template or pseudo) the name is built from, in order."""
        return [value for kind, value in self.parts if kind == PARAMETER]

    def render(self, values: Mapping[str, str]) -> str:
        """The name built with ``values`` for its parameters (KeyError if one is missing)."""
        return "".join(value if kind == LITERAL else values[value] for kind, value in self.parts)


def _sub_parts(text: str) -> Iterator[Part]:
    position = 0
    for match in SUB_VARIABLE.finditer(text):
        yield LITERAL, text[position:match.start()]
        yield PARAMETER, match.group(1)
        position = match.end()
    yield LITERAL, text[position:]


def name_parts(value: Any) -> tuple[Part, ...] | None:
    """How a name value is built, or None when it is not built from parameters here.

    Handles literal strings, ``Ref``, ``Fn::Sub`` (string form) and ``Fn::Join`` of those;
    ``Fn::GetAtt`` (a name another resource already has) and anything else give None.
    """
    if isinstance(value, str):
        return ((LITERAL, value),)
    if isinstance(value, Mapping) and len(value) == 1:
        [(function, argument)] = value.items()
        if function == "Ref":
            return ((PARAMETER, str(argument)),)
        if function == "Fn::Sub" and isinstance(argument, str):
            return tuple(part for part in _sub_parts(argument) if part != (LITERAL, ""))
        if function == "Fn::Join":
            separator, items = argument
            joined: list[Part] = []
            for index, item in enumerate(items):
                parts = name_parts(item)
                if parts is None:
                    return None
                joined += ([(LITERAL, separator)] if index and separator else []) + list(parts)
            return tuple(joined)
    return None


def _values_at(node: Any, path: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not path:
        yield where, node
        return
    step, rest = path[0], path[1:]
    if step.endswith("[]"):
        for index, item in enumerate((node or {}).get(step[:-2], []) or []):
            yield from _values_at(item, rest, f"{where}.{step[:-2]}[{index}]")
    elif isinstance(node, Mapping) and step in node:
        yield from _values_at(node[step], rest, f"{where}.{step}")


def name_chains(template: Mapping[str, Any]) -> list[NameChain]:
    """Return every named property of the template's resources with how it is built."""
    chains: list[NameChain] = []
    for name, resource in (template.get("Resources", {}) or {}).items():
        for (kind, path), rule in NAME_RULES.items():
            if resource.get("Type") != kind:
                continue
            properties = resource.get("Properties", {}) or {}
            for where, value in _values_at(properties, path.split("."), f"{name}.Properties"):
                parts = name_parts(value)
                if parts is not None:
                    chains.append(NameChain(where, rule, parts))
    return chains
