"""The local cloud's identities: who holds which AccessKey, and what each may do.

Owns the registry shared by the STS stub (which issues temporary credentials) and
the OSS emulator (which checks them), plus RAM policy evaluation. Pure logic with
a lock; no HTTP, no clock (callers pass ``now``), no import of the signing function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localcloud.wildcard import matches_any

PolicyDocument = Mapping[str, Any]


@dataclass(frozen=True)
class Principal:
    """An AccessKey and what it is allowed to do.

    ``policies`` are evaluated together: an action is allowed when every document
    allows it and none denies it. For STS credentials this is the role's permission
    policy and the session policy, whose intersection is what the holder may do.
    Long-lived keys (the execution identity) have ``security_token=None`` and
    ``expiration=None``.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    expiration: datetime | None = None
    policies: tuple[PolicyDocument, ...] = ()
    arn: str = ""

    def is_expired(self, now: datetime) -> bool:
        """Tell whether temporary credentials have passed their expiration."""
        return self.expiration is not None and now >= self.expiration

    def is_allowed(self, action: str, resource: str) -> bool:
        """Evaluate the intersection of this principal's policies (no policies: allow all)."""
        return all(policy_allows(doc, action, resource) for doc in self.policies)


#: Find who holds an AccessKey ID (None: no such key), as :meth:`IdentityStore.lookup` does;
#: what the emulator's signature checks (header, presigned URL, PostObject form) are given.
FindPrincipal = Callable[[str], "Principal | None"]


class IdentityStore:
    """Thread-safe registry of principals, keyed by AccessKey id."""

    def __init__(self, principals: Iterable[Principal] = ()) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Principal] = {}
        for principal in principals:
            self.add(principal)

    def add(self, principal: Principal) -> None:
        """Register (or replace) a principal."""
        with self._lock:
            self._by_key[principal.access_key_id] = principal

    def lookup(self, access_key_id: str) -> Principal | None:
        """Return the principal holding this AccessKey id, if any."""
        with self._lock:
            return self._by_key.get(access_key_id)

    def remove(self, access_key_id: str) -> None:
        """Forget a principal (revocation in tests)."""
        with self._lock:
            self._by_key.pop(access_key_id, None)

    def __repr__(self) -> str:
        with self._lock:
            return f"IdentityStore({len(self._by_key)} principals)"


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]



def policy_allows(document: PolicyDocument, action: str, resource: str) -> bool:
    """Evaluate one RAM policy document: an explicit Deny wins, otherwise an Allow is needed.

    Actions match case-insensitively (RAM action names are), resources case-sensitively.
    Conditions are not modelled: a statement carrying a ``Condition`` is treated as not
    matching for Allow and as matching for Deny, the stricter reading.
    """
    allowed = False
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    for statement in statements:
        if not isinstance(statement, Mapping):
            continue
        effect = statement.get("Effect")
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        hit = matches_any(actions, action, case_insensitive=True) and matches_any(
            resources, resource, case_insensitive=False
        )
        if not hit:
            continue
        has_condition = bool(statement.get("Condition"))
        if effect == "Deny":
            return False
        if effect == "Allow" and not has_condition:
            allowed = True
    return allowed


def oss_object_resource(bucket: str, key: str) -> str:
    """Return the RAM resource name of an OSS object."""
    return f"acs:oss:*:*:{bucket}/{key}"
