"""Shared set-up for the PostObject core tests: identities, a fixed clock, one call.

Test-only. Builds a :class:`PostContext` over an :class:`IdentityStore` with an
obviously fake long-lived key, a live STS-style key (token, expiry, role ∩ session
policies) and an expired one, and runs :func:`receive_post` on an in-memory body.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.postobject.form import PostContext, VerifiedUpload, receive_post
from localcloud.oss.postobject.settings import PostSettings
from tests.localcloud.formbuilder import Part, Signer, content_type, encode

FIXED_NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)
BUCKET = "examplebucket"
LONG = Signer("FAKE-AK-LONG-0001", "fake-secret-long-0001")
TEMP = Signer("STS.FAKE-AK-TEMP-0001", "fake-secret-temp-0001", token="FAKE-TOKEN-TEMP-0001")
EXPIRED = Signer("STS.FAKE-AK-OLD-0001", "fake-secret-old-0001", token="FAKE-TOKEN-OLD-0001")


#: Temporary credentials that may write objects but not set their ACL.
PUT_ONLY = Signer("STS.FAKE-AK-PUTONLY-0001", "fake-secret-putonly-0001",
                  token="FAKE-TOKEN-PUTONLY-0001")


def _allow(resource: str, actions: Sequence[str] = ("oss:PutObject", "oss:PutObjectAcl"),
           ) -> dict[str, Any]:
    return {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": [resource]}]}


def identities() -> IdentityStore:
    """Long-lived, temporary (role ∩ session), expired temporary, and write-without-ACL."""
    return IdentityStore([
        Principal(LONG.access_key_id, LONG.secret),
        Principal(
            TEMP.access_key_id, TEMP.secret, security_token=TEMP.token,
            expiration=FIXED_NOW + timedelta(hours=1),
            policies=(_allow(f"acs:oss:*:*:{BUCKET}/*"), _allow(f"acs:oss:*:*:{BUCKET}/uploads/*")),
        ),
        Principal(
            EXPIRED.access_key_id, EXPIRED.secret, security_token=EXPIRED.token,
            expiration=FIXED_NOW - timedelta(seconds=1),
        ),
        Principal(
            PUT_ONLY.access_key_id, PUT_ONLY.secret, security_token=PUT_ONLY.token,
            expiration=FIXED_NOW + timedelta(hours=1),
            policies=(_allow(f"acs:oss:*:*:{BUCKET}/*", ("oss:PutObject",)),),
        ),
    ])


@dataclass(frozen=True)
class Env:
    """Everything a receive_post call needs."""

    ctx: PostContext
    spool: Path

    def with_settings(self, **changes: Any) -> Env:
        return replace(self, ctx=replace(self.ctx, settings=replace(self.ctx.settings, **changes)))

    def at(self, now: datetime) -> Env:
        return replace(self, ctx=replace(self.ctx, now=now))

    def for_bucket(self, bucket: str) -> Env:
        return replace(self, ctx=replace(self.ctx, bucket=bucket))

    def spooled(self) -> list[Path]:
        return sorted(self.spool.iterdir())


def make_env(spool: Path, store: IdentityStore | None = None) -> Env:
    """A context at FIXED_NOW for BUCKET with default settings."""
    store = store or identities()
    ctx = PostContext(bucket=BUCKET, now=FIXED_NOW, lookup=store.lookup,
                      settings=PostSettings(), spool_dir=spool)
    return Env(ctx, spool)


def post(env: Env, parts: Sequence[Part] | bytes, *, headers: Mapping[str, str] | None = None,
         ctype: str | None = None, length: int | None = -1) -> VerifiedUpload:
    """Run receive_post over an in-memory body (``length=-1``: the body's own length)."""
    body = parts if isinstance(parts, bytes) else encode(parts)
    return receive_post(
        io.BytesIO(body), ctype or content_type(), len(body) if length == -1 else length,
        headers or {}, env.ctx,
    )
