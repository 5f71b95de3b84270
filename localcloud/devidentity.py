"""The local stack's identities and secrets: execution identity, admin, RAM user, upload role.

Owns their credentials and the function's grant secret (random per state directory,
reused from an earlier run's ``endpoints.json``, which it also writes), who holds them
(:func:`local_identities`) and the two RAM policies the stack grants: the execution
identity and the RAM user may only assume the upload role, and the role may only
PutObject (and set the object's ACL) under ``uploads/``. No servers, no environment.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localcloud.identity import IdentityStore, Principal

ACCOUNT_ID = "1000000000000000"
UPLOAD_ROLE_NAME = "oss-uploader"
UPLOAD_ROLE_ARN = f"acs:ram::{ACCOUNT_ID}:role/{UPLOAD_ROLE_NAME}"
UPLOAD_PREFIX = "uploads/"
#: The long-term RAM user of Alibaba's documented server-signing flow (its AccessKey, then
#: AssumeRole on the upload role, which trusts it by this ARN).
RAM_USER_NAME = "local-uploader"
RAM_USER_ARN = f"acs:ram::{ACCOUNT_ID}:user/{RAM_USER_NAME}"
#: Random bytes of a fresh grant secret (the function wants at least 32 bytes; hex doubles).
GRANT_SECRET_BYTES = 32


@dataclass(frozen=True)
class Credentials:
    """An AccessKey pair (and STS token, when the identity has one)."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, str | None]:
        """Return the endpoints.json form."""
        return {"access_key_id": self.access_key_id, "access_key_secret": self.access_key_secret,
                "security_token": self.security_token}


def _saved(path: Path) -> dict[str, Any]:
    """What an earlier run saved in ``path`` (endpoints.json); {} if unreadable or not an object."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def load_or_make_credentials(path: Path) -> tuple[Credentials, Credentials]:
    """Reuse the keys an earlier run saved in ``path`` (endpoints.json), else make random ones."""
    try:
        saved = _saved(path)
        exec_c, admin_c = saved["execution_identity"], saved["admin_identity"]
        return (
            Credentials(exec_c["access_key_id"], exec_c["access_key_secret"],
                        exec_c.get("security_token")),
            Credentials(admin_c["access_key_id"], admin_c["access_key_secret"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return (
        Credentials(f"LOCAL-EXEC-{secrets.token_hex(8).upper()}", secrets.token_urlsafe(24),
                    f"LOCAL-EXEC-TOKEN-{secrets.token_urlsafe(24)}"),
        Credentials(f"LOCAL-ADMIN-{secrets.token_hex(8).upper()}", secrets.token_urlsafe(24)),
    )


def load_or_make_ram_user(path: Path) -> Credentials:
    """Reuse the RAM user's AccessKey saved in ``path`` (endpoints.json), else make one.

    A RAM user's AccessKey is long-term: it has no security token, so a saved entry that
    carries one (or lacks either half of the pair) is replaced by a fresh key.
    """
    try:
        saved = _saved(path)["ram_user_identity"]
        key_id, secret = saved["access_key_id"], saved["access_key_secret"]
        if (isinstance(key_id, str) and isinstance(secret, str) and key_id and secret
                and saved.get("security_token") is None):
            return Credentials(key_id, secret)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return Credentials(f"LOCAL-RAM-{secrets.token_hex(8).upper()}", secrets.token_urlsafe(24))


def load_or_make_grant_secret(path: Path) -> str:
    """Reuse the grant secret an earlier run saved in ``path`` (endpoints.json), else make one.

    A saved value is reused only if it still looks like one this function made (hex of at
    least ``GRANT_SECRET_BYTES``), so a hand-edited or truncated file yields a fresh secret.
    """
    try:
        saved = _saved(path)["grant_secret"]
        if isinstance(saved, str) and len(saved) >= 2 * GRANT_SECRET_BYTES:
            bytes.fromhex(saved)
            return saved
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return secrets.token_hex(GRANT_SECRET_BYTES)


def upload_role_permission(bucket: str) -> dict[str, Any]:
    """Return the upload role's permission policy: uploads under ``uploads/`` only.

    ``oss:PutObjectAcl`` because grants pin ``x-oss-object-acl: private``; whether OSS
    checks that action for an ACL sent with PostObject is unconfirmed, so it is granted.
    ``oss:ListParts`` and ``oss:AbortMultipartUpload`` for the function's multipart calls
    (PutObject covers initiate, parts and complete; oss-multipart.md §4).
    """
    return {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["oss:PutObject", "oss:PutObjectAcl", "oss:ListParts",
                                      "oss:AbortMultipartUpload"],
        "Resource": [f"acs:oss:*:*:{bucket}/{UPLOAD_PREFIX}*"],
    }]}


def execution_policy() -> dict[str, Any]:
    """Return the execution identity's and the RAM user's policy: assume the upload role only.

    Alibaba's walkthrough grants the RAM user the system policy AliyunSTSAssumeRoleAccess
    (``sts:AssumeRole`` on any role); here it is narrowed to the one role there is.
    """
    return {"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": [UPLOAD_ROLE_ARN],
    }]}


def local_identities(execution: Credentials, admin: Credentials,
                     ram_user: Credentials) -> IdentityStore:
    """Return who the emulator and the STS stub know: the execution identity (it may only
    assume the upload role), the account's admin (root: anything) and the RAM user."""
    return IdentityStore([
        Principal(execution.access_key_id, execution.access_key_secret,
                  security_token=execution.security_token, policies=(execution_policy(),),
                  arn=f"acs:ram::{ACCOUNT_ID}:user/local-execution"),
        Principal(admin.access_key_id, admin.access_key_secret,
                  arn=f"acs:ram::{ACCOUNT_ID}:root"),
        Principal(ram_user.access_key_id, ram_user.access_key_secret,
                  policies=(execution_policy(),), arn=RAM_USER_ARN),
    ])


def save_endpoints(path: Path, endpoints: Mapping[str, Any]) -> Path:
    """Write ``endpoints`` to ``path`` (endpoints.json), owner-readable only: it holds keys."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(dict(endpoints), handle, indent=2)
    os.replace(tmp, path)
    return path
