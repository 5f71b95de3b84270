"""Lint of the function's environment as the deploy files declare it.

Two rules, for s.yaml and template.yml alike:
- the declared names are exactly the names the function reads (plus the few the runtime
  needs), checked both ways, so a new setting cannot be forgotten and a stale one cannot
  linger;
- a secret-looking variable (``AUTH_JWT_SECRET``, ``GRANT_SECRET``) never holds a literal
  value: in s.yaml it is empty or read from the deploying shell with ``${env('NAME', '')}``;
  in template.yml it is empty, a ``Ref`` to a ``NoEcho`` parameter without a non-empty
  ``Default``, or the ``value`` of an ``ALIYUN::RandomString`` made in the stack. A
  literal would end up in git and in every copy of the repository. A template's Outputs
  never show such a secret either (ROS prints outputs to anyone who can read the stack).

Pure functions over the parsed documents; no I/O. Must not import the function code or any
SDK (the tests pass ``uploadsign.config.ENV_VARS`` in).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from deploy.ros_refs import walk
from deploy.syaml import EXPRESSION, VARS_PREFIX

#: Names (env vars, s.yaml vars, ROS parameters) whose value is a credential.
SECRET_NAME = re.compile(r"secret|password|passwd|private_?key|token", re.IGNORECASE)
#: ``${env('NAME')}`` or ``${env('NAME', 'default')}``: Serverless Devs' shell lookup.
ENV_LOOKUP = re.compile(
    r"""^\s*env\(\s*(['"])(?P<name>[A-Za-z_][A-Za-z0-9_]*)\1\s*"""
    r"""(?:,\s*(['"])(?P<default>.*?)\3\s*)?\)\s*$"""
)
MAX_VARS_DEPTH = 10  # ${vars.a} -> ${vars.b} -> ...; deeper means a loop
#: ROS resource types that generate a secret inside the stack, and the attribute holding it.
GENERATED_SECRET_ATTRIBUTES = {"ALIYUN::RandomString": "value"}


def is_secret_name(name: str) -> bool:
    """Return True when a name says its value is a credential."""
    return SECRET_NAME.search(name) is not None


def name_findings(
    declared: Iterable[str], expected: Iterable[str], runtime: Iterable[str] = ()
) -> list[str]:
    """Compare declared environment names with the expected ones, both ways."""
    declared_set, expected_set = set(declared), set(expected)
    allowed = expected_set | set(runtime)
    findings = [f"{name} is read by the function but not set" for name in sorted(
        expected_set - declared_set)]
    findings += [f"{name} is set but not read by the function" for name in sorted(
        declared_set - allowed)]
    return findings


def _expand_vars(value: str, variables: Mapping[str, Any]) -> str:
    """Replace ``${vars.x}`` by its value, repeatedly; leave other expressions alone."""

    def one(match: re.Match[str]) -> str:
        inside = match.group(1).strip()
        if inside.startswith(VARS_PREFIX):
            return str(variables.get(inside[len(VARS_PREFIX):], match.group(0)))
        return match.group(0)

    for _ in range(MAX_VARS_DEPTH):
        expanded = EXPRESSION.sub(one, value)
        if expanded == value:
            return value
        value = expanded
    return value


def syaml_value_finding(name: str, value: Any, variables: Mapping[str, Any]) -> str | None:
    """Describe why an s.yaml secret value is a literal, or return None when it is not."""
    text = _expand_vars(str(value), variables)
    if text == "":
        return None
    whole = EXPRESSION.fullmatch(text)
    lookup = ENV_LOOKUP.match(whole.group(1)) if whole else None
    if lookup is None:
        return f"{name} must be empty or ${{env('{name}', '')}}, not a literal"
    if lookup.group("default"):
        return f"{name} has a literal default in {text!r}"
    return None


def syaml_secret_findings(env: Mapping[str, Any], variables: Mapping[str, Any]) -> list[str]:
    """Return every secret in s.yaml (environment or ``vars``) written as a literal."""
    findings = [
        finding
        for name, value in env.items()
        if is_secret_name(name) and (finding := syaml_value_finding(name, value, variables))
    ]
    findings += [
        f"vars.{finding}"
        for name, value in variables.items()
        if is_secret_name(name) and (finding := syaml_value_finding(name, value, variables))
    ]
    return findings


def _parameter_finding(name: str, parameter: Mapping[str, Any]) -> str | None:
    if parameter.get("NoEcho") is not True:
        return f"parameter {name} holds a secret but is not NoEcho: true"
    if parameter.get("Default") not in (None, ""):
        return f"parameter {name} has a literal Default"
    return None


def generated_in_stack(value: Any, resources: Mapping[str, Any]) -> bool:
    """Return True for ``Fn::GetAtt`` of the secret attribute of a generating resource."""
    target = value.get("Fn::GetAtt") if isinstance(value, Mapping) and len(value) == 1 else None
    if not (isinstance(target, list) and len(target) == 2):
        return False
    resource = resources.get(str(target[0]))
    kind = resource.get("Type") if isinstance(resource, Mapping) else None
    return isinstance(kind, str) and GENERATED_SECRET_ATTRIBUTES.get(kind) == target[1]


def ros_secret_findings(
    env: Mapping[str, Any],
    parameters: Mapping[str, Any],
    resources: Mapping[str, Any] | None = None,
) -> list[str]:
    """Return every secret in a ROS template (environment or Parameters) not kept secret."""
    findings: list[str] = []
    secret_parameters = [name for name in parameters if is_secret_name(name)]
    for name, value in env.items():
        if not is_secret_name(name) or value == "":
            continue
        if generated_in_stack(value, resources or {}):
            continue
        target = value.get("Ref") if isinstance(value, Mapping) and len(value) == 1 else None
        if isinstance(target, str) and target in parameters:
            secret_parameters.append(target)
        else:
            findings.append(f"{name} must be empty, a Ref to a NoEcho parameter or generated "
                            "in the stack (ALIYUN::RandomString value)")
    for name in dict.fromkeys(secret_parameters):
        finding = _parameter_finding(name, parameters[name])
        if finding:
            findings.append(finding)
    return findings


def ros_output_findings(outputs: Mapping[str, Any], resources: Mapping[str, Any],
                        parameters: Mapping[str, Any]) -> list[str]:
    """Return every Output that would show a secret: a generated one or a secret parameter."""
    findings: list[str] = []
    for output, body in outputs.items():
        for _, node in walk(body, f"Outputs.{output}"):
            if generated_in_stack(node, resources):
                findings.append(f"output {output} shows a secret generated in the stack")
            elif (isinstance(node, Mapping) and isinstance(node.get("Ref"), str)
                  and node["Ref"] in parameters and is_secret_name(node["Ref"])):
                findings.append(f"output {output} shows secret parameter {node['Ref']}")
    return findings
