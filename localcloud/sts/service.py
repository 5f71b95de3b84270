"""The STS stub's core: one AssumeRole request in, STS's JSON answer out.

Owns the decision for a request (authenticate the caller, check the action, validate the
parameters, check the caller's ``sts:AssumeRole`` permission and the role's trust, issue
credentials and register them in the shared identity store) and the exact JSON shapes of
STS's success and error answers. No sockets and no clock: ``now`` is passed in.
"""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import localcloud.sts.errors as errors
from localcloud.identity import IdentityStore, Principal
from localcloud.sts.errors import StsError
from localcloud.sts.roles import Role, StsSettings, parse_params
from localcloud.sts.signatures import StsRequest, authenticate

ACTION = "AssumeRole"
VERSION = "2015-04-01"
ASSUME_ROLE_PERMISSION = "sts:AssumeRole"
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
STS_KEY_PREFIX = "STS."
_ALPHANUMERIC = string.ascii_letters + string.digits


@dataclass(frozen=True)
class StsReply:
    """An answer to send: HTTP status and the JSON document."""

    status: int
    body: Mapping[str, Any] = field(repr=False)


def _random_text(length: int, alphabet: str = _ALPHANUMERIC) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_request_id() -> str:
    """Return a request id shaped like STS's (upper-case UUID)."""
    return str(uuid.uuid4()).upper()


def error_body(error: StsError, *, request_id: str, host_id: str) -> dict[str, str]:
    """Render STS's error JSON."""
    return {
        "RequestId": request_id,
        "HostId": host_id,
        "Code": error.code,
        "Message": error.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={error.code}&product=Sts",
    }


class AssumeRoleService:
    """Answer AssumeRole like STS and register what it issues in the identity store."""

    def __init__(
        self, identities: IdentityStore, roles: Mapping[str, Role], settings: StsSettings
    ) -> None:
        self._identities = identities
        self._roles = dict(roles)
        self._settings = settings
        self._lock = threading.Lock()
        self._nonces: dict[str, datetime] = {}
        self._calls = 0
        self._issued = 0

    @property
    def calls(self) -> int:
        """AssumeRole requests received (including refused ones)."""
        with self._lock:
            return self._calls

    @property
    def issued(self) -> int:
        """Credentials issued."""
        with self._lock:
            return self._issued

    def count_call(self) -> None:
        """Record one received request (the shell calls this before any fault)."""
        with self._lock:
            self._calls += 1

    def _remember_nonce(self, nonce: str, now: datetime) -> None:
        """Refuse a replayed nonce within the timestamp window; forget older ones."""
        if not nonce:
            return
        horizon = now - 2 * self._settings.max_skew
        with self._lock:
            for old in [n for n, seen in self._nonces.items() if seen < horizon]:
                del self._nonces[old]
            if nonce in self._nonces:
                raise errors.nonce_used()
            self._nonces[nonce] = now

    def handle(self, request: StsRequest, *, now: datetime) -> StsReply:
        """Serve one request."""
        request_id = new_request_id()
        try:
            document = self._assume_role(request, now)
        except StsError as error:
            host_id = self._settings.host_id
            return StsReply(error.status, error_body(error, request_id=request_id, host_id=host_id))
        return StsReply(200, {"RequestId": request_id, **document})

    def _assume_role(self, request: StsRequest, now: datetime) -> dict[str, Any]:
        if request.method not in ("GET", "POST"):
            raise errors.invalid_action()
        caller = authenticate(request, lookup=self._identities.lookup, now=now,
                              max_skew=self._settings.max_skew)
        headers = request.headers
        action = headers.get("x-acs-action") or caller.params.get("Action", "")
        version = headers.get("x-acs-version") or caller.params.get("Version", "")
        if action != ACTION or version != VERSION:
            raise errors.invalid_action()
        self._remember_nonce(caller.nonce, now)
        params, role = parse_params(caller.params, self._roles, self._settings)
        principal = caller.principal
        if not principal.is_allowed(ASSUME_ROLE_PERMISSION, role.arn):
            raise errors.not_authorized()
        trusted = set(role.trusted_principals)
        if principal.access_key_id not in trusted and (
            not principal.arn or principal.arn not in trusted
        ):
            raise errors.not_trusted()
        return self._issue(
            role, params.session_name, params.duration_seconds, params.session_policy, now
        )

    def _issue(
        self,
        role: Role,
        session_name: str,
        duration_seconds: int,
        session_policy: Mapping[str, Any] | None,
        now: datetime,
    ) -> dict[str, Any]:
        expiration = now.replace(microsecond=0) + timedelta(seconds=duration_seconds)
        policies = role.permission_policies + ((session_policy,) if session_policy else ())
        assumed_arn = f"{role.arn}/{session_name}"
        issued = Principal(
            access_key_id=STS_KEY_PREFIX + _random_text(28),
            access_key_secret=_random_text(44),
            security_token="CAIS" + _random_text(300, _ALPHANUMERIC + "+/"),
            expiration=expiration,
            policies=policies,
            arn=assumed_arn,
        )
        self._identities.add(issued)
        with self._lock:
            self._issued += 1
        return {
            "AssumedRoleUser": {
                "Arn": assumed_arn,
                "AssumedRoleId": f"{_random_text(17, string.digits)}:{session_name}",
            },
            "Credentials": {
                "AccessKeyId": issued.access_key_id,
                "AccessKeySecret": issued.access_key_secret,
                "SecurityToken": issued.security_token,
                "Expiration": expiration.strftime(EXPIRATION_FORMAT),
            },
        }
