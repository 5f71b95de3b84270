"""Fresh buckets, principals and SDK clients for the object-operation tests.

The ``ops`` fixture (``conftest.py``) gives each test two fresh private buckets
(``ops.bucket``, ``ops.other``) on one emulator per module.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import alibabacloud_oss_v2 as oss

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.oss.store import ObjectMeta
from tests.localcloud.signedhttp import Answer, Call, send

ADMIN = Principal("FAKE-AK-OPS-ADMIN", "fake-ops-admin-secret-0000")
_COUNTER = itertools.count()


def allow(*statements: tuple[str | list[str], str | list[str]]) -> dict[str, Any]:
    """A RAM policy allowing each (actions, resources) pair."""
    return {"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": resources}
        for actions, resources in statements]}


def principal(name: str, *statements: tuple[str | list[str], str | list[str]]) -> Principal:
    """A long-term key limited to ``statements``."""
    return Principal(f"FAKE-AK-OPS-{name.upper()}", f"fake-ops-{name}-secret-0000",
                     policies=(allow(*statements),))


def sdk_client(port: int, who: Principal, *, region: str = "cn-hangzhou",
               signature_version: str = "v4") -> oss.Client:
    """An alibabacloud-oss-v2 client for ``who`` against the emulator on ``port``, path-style.

    ``signature_version`` is the SDK's setting ("v4" or "v1"); no retries, so a refusal is
    the test's failure, not a retry.
    """
    cfg = oss.config.load_default()
    cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
        who.access_key_id, who.access_key_secret, who.security_token)
    cfg.region = region
    cfg.endpoint = f"http://127.0.0.1:{port}"
    cfg.signature_version = signature_version
    cfg.retry_max_attempts = 1
    return oss.Client(cfg)


def outcome(call: object) -> str:
    """Run an SDK call; return its status, with the error Code when it fails ("404 NoSuchKey")."""
    try:
        result = call()  # type: ignore[operator]
    except oss.exceptions.OperationError as error:
        cause = error.unwrap()
        assert isinstance(cause, oss.exceptions.ServiceError), cause
        return f"{cause.status_code} {cause.code}"
    return str(result.status_code)


@dataclass
class Cloud:
    """One emulator and this test's two buckets."""

    emulator: Emulator
    identities: IdentityStore
    bucket: str
    other: str

    @property
    def port(self) -> int:
        """The emulator's port."""
        return self.emulator.port

    def send(self, call: Call, who: Principal | None = ADMIN) -> Answer:
        """Send a raw request signed by ``who`` (None: anonymous)."""
        return send(self.port, call, who)

    def put(self, key: str, data: bytes, bucket: str | None = None, **headers: str) -> Answer:
        """PutObject as admin; ``x_oss_meta_a`` style keywords become headers."""
        answer = self.send(Call("PUT", bucket or self.bucket, key, headers={
            name.replace("_", "-"): value for name, value in headers.items()}, body=data))
        assert answer.status == 200, answer.body
        return answer

    def client(self, who: Principal = ADMIN) -> oss.Client:
        """An SDK client for ``who`` (registered with the emulator on first use)."""
        self.identities.add(who)
        return sdk_client(self.port, who)

    def stored(self, key: str, bucket: str | None = None) -> tuple[ObjectMeta, bytes] | None:
        """An object's metadata and bytes as the store holds them, or None."""
        with self.emulator.store.open(bucket or self.bucket, key) as found:
            return None if found is None else (found[0], found[1].read())

    def keys(self, bucket: str | None = None) -> list[str]:
        """The bucket's keys, sorted."""
        return [meta.key for meta in self.emulator.store.list(bucket or self.bucket)]


def fresh_buckets(emu: Emulator, identities: IdentityStore) -> Cloud:
    """Create two fresh private buckets on ``emu``."""
    number = next(_COUNTER)
    names = (f"ops-a-{number}", f"ops-b-{number}")
    for name in names:
        emu.buckets.put(BucketConfig(name=name))
    return Cloud(emu, identities, *names)
