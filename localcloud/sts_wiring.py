"""Start the STS stub with the stack's one role: the adapter between stack and stub.

Owns translating the stack's facts (execution identity, upload role, its permission
policy) into the stub's own types. Kept apart so :mod:`localcloud.stack` does not depend
on the stub's constructor shape.
"""

from __future__ import annotations

from localcloud.identity import IdentityStore, PolicyDocument
from localcloud.oss.server import utc_now
from localcloud.sts.roles import Role, StsSettings
from localcloud.sts.server import RunningSts, StsStub


def start_sts(
    *,
    identities: IdentityStore,
    execution_key_id: str,
    also_trusted: tuple[str, ...] = (),
    role_arn: str,
    permission: PolicyDocument,
    host: str,
    port: int,
    settings: StsSettings | None = None,
) -> RunningSts:
    """Start the stub; return the running server.

    The role trusts the execution identity and ``also_trusted`` (AccessKey ids or ARNs).
    """
    role = Role(arn=role_arn, trusted_principals=(execution_key_id, *also_trusted),
                permission_policies=(permission,), max_session_duration=3600)
    stub = StsStub(identities, {role_arn: role}, clock=utc_now,
                   settings=settings or StsSettings())
    return stub.start(host, port)
