"""Roles the STS stub can hand out, its settings, and the validation of AssumeRole parameters.

Owns what a role is (ARN, who it trusts, what it grants, how long a session may last), the
stub's tunables, and the parameter rules STS applies (RoleArn, RoleSessionName, ExternalId,
DurationSeconds, session-policy grammar and size). Pure: no HTTP, no clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import localcloud.sts.errors as errors
from localcloud.identity import PolicyDocument

ROLE_ARN_PATTERN = re.compile(r"^acs:ram::\d+:role/[A-Za-z0-9.@_+=,-]{1,64}$")
SESSION_NAME_PATTERN = re.compile(r"^[A-Za-z0-9.@_-]{2,64}$")
EXTERNAL_ID_PATTERN = re.compile(r"^[A-Za-z0-9=,.@:/_+-]{2,96}$")
MIN_DURATION_SECONDS = 900
DEFAULT_DURATION_SECONDS = 3600
# The current AssumeRole reference: the session policy may not exceed 2048 bytes.
MAX_POLICY_BYTES = 2048


@dataclass(frozen=True)
class Role:
    """A RAM role: its ARN, the callers it trusts and the permissions it grants.

    ``trusted_principals`` holds AccessKey ids or ARNs of callers allowed to assume it.
    """

    arn: str
    trusted_principals: tuple[str, ...]
    permission_policies: tuple[PolicyDocument, ...]
    max_session_duration: int = 3600


@dataclass(frozen=True)
class StsSettings:
    """The stub's tunables; defaults are the real service's.

    ``min_duration_seconds`` may be lowered only explicitly (refresh tests need short-lived
    credentials); STS itself never issues less than 900 s.
    """

    min_duration_seconds: int = MIN_DURATION_SECONDS
    max_skew: timedelta = timedelta(minutes=15)
    host_id: str = "sts.aliyuncs.com"
    max_policy_bytes: int = MAX_POLICY_BYTES


@dataclass(frozen=True)
class AssumeRoleParams:
    """The validated AssumeRole parameters."""

    role_arn: str
    session_name: str
    duration_seconds: int
    session_policy: PolicyDocument | None
    external_id: str | None


def _is_policy(document: Any) -> bool:
    """Check the RAM policy grammar: Version "1", a Statement list of Allow/Deny rules."""
    if not isinstance(document, dict) or str(document.get("Version", "")) != "1":
        return False
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        return False
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") not in ("Allow", "Deny"):
            return False
        for name in ("Action", "Resource"):
            value = statement.get(name)
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not items:
                return False
            if not all(isinstance(item, str) and item for item in items):
                return False
    return True


def parse_session_policy(text: str, max_bytes: int) -> PolicyDocument:
    """Parse and check a session policy, raising STS's size or grammar error."""
    if len(text.encode("utf-8")) > max_bytes:
        raise errors.policy_size(max_bytes)
    try:
        document = json.loads(text)
    except ValueError:
        raise errors.policy_grammar() from None
    if not _is_policy(document):
        raise errors.policy_grammar()
    return document  # type: ignore[no-any-return]


def parse_params(
    params: Mapping[str, str], roles: Mapping[str, Role], settings: StsSettings
) -> tuple[AssumeRoleParams, Role]:
    """Validate the AssumeRole parameters in STS's order and find the role."""
    role_arn = params.get("RoleArn", "")
    if not role_arn:
        raise errors.missing_parameter("RoleArn")
    if not ROLE_ARN_PATTERN.match(role_arn):
        raise errors.invalid_role_arn()
    session_name = params.get("RoleSessionName", "")
    if not session_name:
        raise errors.missing_parameter("RoleSessionName")
    if not SESSION_NAME_PATTERN.match(session_name):
        raise errors.invalid_session_name()
    external_id = params.get("ExternalId") or None
    if external_id is not None and not EXTERNAL_ID_PATTERN.match(external_id):
        raise errors.invalid_external_id()
    policy_text = params.get("Policy")
    session_policy = (
        parse_session_policy(policy_text, settings.max_policy_bytes) if policy_text else None
    )
    role = roles.get(role_arn)
    if role is None:
        raise errors.role_not_found()
    raw_duration = params.get("DurationSeconds") or str(DEFAULT_DURATION_SECONDS)
    try:
        duration = int(raw_duration)
    except ValueError:
        raise errors.invalid_duration() from None
    if not settings.min_duration_seconds <= duration <= role.max_session_duration:
        raise errors.invalid_duration()
    return (
        AssumeRoleParams(role_arn, session_name, duration, session_policy, external_id),
        role,
    )
