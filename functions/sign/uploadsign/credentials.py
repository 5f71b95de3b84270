"""Assumed upload credentials: the value type and how it is read from an AssumeRole answer.

Pure: no SDK, no environment, no clock, no lock; :mod:`uploadsign.sts` fetches and caches
them. Depends on the standard library and ``errors`` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from uploadsign.errors import StsError

#: A credential is no longer handed out once less than this is left: the policy signed
#: with it must still be usable by a browser for a moment.
SAFETY_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class TemporaryCredentials:
    """STS credentials of the upload role; the secret and the token never print."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(repr=False)
    expiration: datetime

    def usable_at(self, now: datetime) -> bool:
        """Say whether a policy signed at ``now`` would still have a useful life."""
        return now < self.expiration - SAFETY_MARGIN

#: How STS writes ``Expiration``: ``2015-04-09T11:52:19Z``.
EXPIRATION_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_expiration(value: object) -> datetime:
    """Parse STS's ``2015-04-09T11:52:19Z`` into an aware UTC datetime."""
    if not isinstance(value, str):
        raise StsError("MalformedResponse", "credentials carry no Expiration")
    try:
        return datetime.strptime(value, EXPIRATION_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise StsError("MalformedResponse", "Expiration is not ISO 8601 UTC") from exc


def credentials_from_map(body: Mapping[str, Any]) -> TemporaryCredentials:
    """Build credentials from the ``Credentials`` object of an AssumeRole answer."""
    creds = body.get("Credentials")
    if not isinstance(creds, Mapping):
        raise StsError("MalformedResponse", "answer has no Credentials object")
    values = [creds.get(name) for name in ("AccessKeyId", "AccessKeySecret", "SecurityToken")]
    if not all(isinstance(value, str) and value for value in values):
        raise StsError("MalformedResponse", "Credentials object is incomplete")
    key_id, secret, token = (str(value) for value in values)
    return TemporaryCredentials(
        access_key_id=key_id,
        access_key_secret=secret,
        security_token=token,
        expiration=parse_expiration(creds.get("Expiration")),
    )
