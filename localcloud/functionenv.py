"""What the signing function is told: FC's environment, pointing at the local cloud.

Owns the function's environment as the stack starts it: what FC would set (bucket, region,
the POST endpoint, the upload role, the STS endpoint, the grant secret, the execution
identity's keys), the upload callback on by default as deployed, CORS for the page's
origins, and which wins: the inherited environment over those defaults, explicit overrides
over everything, and never an inherited ``ALIBABA_CLOUD_*`` key. Pure: values in, a dict out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from localcloud.devidentity import UPLOAD_ROLE_ARN, Credentials

CALLBACK_URL_VAR = "UPLOAD_CALLBACK_URL"
PUBKEY_PREFIXES_VAR = "CALLBACK_PUBKEY_URL_PREFIXES"
GRANT_SECRET_VAR = "GRANT_SECRET"
CORS_ORIGINS_VAR = "CORS_ALLOWED_ORIGINS"


@dataclass(frozen=True)
class FunctionWiring:
    """Where the function's settings point: the local cloud's endpoints, bucket and keys."""

    bucket: str
    region: str
    post_url: str  # OSS_HOST: where browsers POST uploads
    sts_url: str
    function_url: str | None  # None: no function runs (no callback URL to offer)
    callback_pubkey_prefix: str  # the emulator's public-key URL prefix
    page_origins: tuple[str, ...]
    grant_secret: str = field(repr=False)
    execution: Credentials = field(repr=False)


def function_environment(wiring: FunctionWiring, inherited: Mapping[str, str],
                         overrides: Mapping[str, str]) -> dict[str, str]:
    """Return the function's environment: what FC would set, pointing at the stack.

    The upload callback is on by default, as in production: grants ask the emulator
    to call ``<function>/callback``, and the function trusts the emulator's own
    public-key URL prefix (only that one: the emulator is the only "OSS" here).
    ``UPLOAD_CALLBACK_URL`` / ``CALLBACK_PUBKEY_URL_PREFIXES`` already set in the
    inherited environment win over these defaults (``UPLOAD_CALLBACK_URL= make dev``
    turns the callback off), and so does ``CORS_ALLOWED_ORIGINS`` over the page's
    origins; ``overrides`` win over everything. ``GRANT_SECRET`` is the state directory's
    own (endpoints.json), never one inherited from the shell.
    """
    env = {k: v for k, v in inherited.items() if not k.startswith("ALIBABA_CLOUD_")}
    if wiring.function_url:
        env.setdefault(CALLBACK_URL_VAR, f"{wiring.function_url}/callback")
    env.setdefault(PUBKEY_PREFIXES_VAR, wiring.callback_pubkey_prefix)
    env.setdefault(CORS_ORIGINS_VAR, ",".join(wiring.page_origins))
    env.update({
        "OSS_BUCKET": wiring.bucket,
        "OSS_REGION": wiring.region,
        "OSS_HOST": wiring.post_url,
        "OSS_STS_ROLE_ARN": UPLOAD_ROLE_ARN,
        "STS_ENDPOINT": wiring.sts_url,
        GRANT_SECRET_VAR: wiring.grant_secret,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": wiring.execution.access_key_id,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": wiring.execution.access_key_secret,
        "ALIBABA_CLOUD_SECURITY_TOKEN": wiring.execution.security_token or "",
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
    })
    env.update(overrides)
    return env
