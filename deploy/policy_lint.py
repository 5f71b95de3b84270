"""Least-privilege lint for RAM policy documents: what counts as a wildcard grant.

Pure functions over already-parsed policy documents (dicts from YAML or JSON); no I/O.
Must not depend on the function code or on any SDK.

The rule, precisely:
- an Action may not contain ``*`` at all (no ``*``, ``oss:*``, ``*:*``, ``oss:Put*``);
- a Resource may not be ``*``, and in an ARN ``acs:<service>:<region>:<account>:<path>``
  any ``*`` in the path must come after two literal, non-empty segments (``a/b``) — so
  ``acs:oss:*:*:bucket/uploads/*`` (objects under a prefix of one named bucket) passes,
  while ``acs:oss:*:*:*``, ``acs:oss:*:*:bucket*``, ``acs:oss:*:*:bucket/*`` (the whole
  bucket) or ``acs:ram::1:role/*`` (any role) do not.
  Region and account fields may be ``*`` (the usual OSS ARN form).
Values that are ROS intrinsic functions (dicts) are checked by the literal text they
contain: ``Fn::Sub`` templates are checked as written; a ``Fn::GetAtt`` is a concrete ARN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

WILDCARD = "*"
# ``${Name}`` placeholders of Fn::Sub / s.yaml; ``${ALIYUN::TenantId}`` holds colons.
PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
ARN_FIELDS = 5  # acs:<service>:<region>:<account>:<path>


def as_list(value: Any) -> list[Any]:
    """Return a policy element as a list (RAM accepts a single string or a list)."""
    return list(value) if isinstance(value, list) else [value]


def statements(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Yield the statements of a policy document."""
    yield from as_list(document.get("Statement", []))


def literal_text(value: Any) -> str | None:
    """Return the literal text of a value, or None when it is an opaque reference.

    A ``Fn::Sub`` template is literal text with ``${...}`` placeholders; ``Ref`` and
    ``Fn::GetAtt`` resolve to concrete names chosen elsewhere, so they carry no wildcard.
    """
    if isinstance(value, str):
        text = value
    elif isinstance(value, Mapping) and "Fn::Sub" in value:
        template = value["Fn::Sub"]
        text = template if isinstance(template, str) else str(template[0])
    else:
        return None
    return PLACEHOLDER.sub("<param>", text)


def action_finding(action: Any) -> str | None:
    """Describe why an Action grants too much, or return None when it is exact."""
    text = literal_text(action)
    if text is None:
        return f"action {action!r} is not a literal"
    if WILDCARD in text:
        return f"action {text!r} contains a wildcard"
    return None


def resource_finding(resource: Any) -> str | None:
    """Describe why a Resource covers too much, or return None when it is scoped."""
    text = literal_text(resource)
    if text is None:
        return None
    if text.strip() == WILDCARD:
        return "resource is a bare '*'"
    parts = text.split(":", ARN_FIELDS - 1)
    if len(parts) != ARN_FIELDS or parts[0] != "acs":
        return f"resource {text!r} is not an acs: ARN"
    path = parts[-1]
    literal_prefix = path.split(WILDCARD, 1)[0]
    head, _, rest = literal_prefix.partition("/")
    if WILDCARD in path and not (head and rest):
        return f"resource {text!r} has a wildcard within its first two path segments"
    if not literal_prefix:
        return f"resource {text!r} has an empty path"
    return None


def policy_findings(document: Mapping[str, Any]) -> list[str]:
    """Return every wildcard or unscoped grant in a permission policy document."""
    findings: list[str] = []
    for number, statement in enumerate(statements(document)):
        if statement.get("Effect") != "Allow":
            continue
        for action in as_list(statement.get("Action", [])):
            finding = action_finding(action)
            if finding:
                findings.append(f"statement {number}: {finding}")
        for resource in as_list(statement.get("Resource", [])):
            finding = resource_finding(resource)
            if finding:
                findings.append(f"statement {number}: {finding}")
        if "NotAction" in statement or "NotResource" in statement:
            findings.append(f"statement {number}: NotAction/NotResource grants by exclusion")
    return findings


def trust_principals(document: Mapping[str, Any]) -> list[dict[str, list[Any]]]:
    """Return the principals of each Allow statement of a trust policy, values as lists."""
    found: list[dict[str, list[Any]]] = []
    for statement in statements(document):
        if statement.get("Effect") == "Allow":
            principal = statement.get("Principal", {})
            found.append({kind: as_list(value) for kind, value in principal.items()})
    return found
