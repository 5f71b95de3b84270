"""The local cloud's settings, and the one place localcloud reads the environment.

Owns the environment variable names (as constants, once) and their parsing into a frozen
``Settings``. Every other module receives settings as arguments; nothing here starts a
server or touches the file system.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_OSS_PORT = "DEV_OSS_PORT"
ENV_STS_PORT = "DEV_STS_PORT"
ENV_FUNCTION_PORT = "DEV_FUNCTION_PORT"
ENV_STATE_DIR = "DEV_STATE_DIR"
ENV_BUCKET = "DEV_BUCKET"
ENV_WEB_BUCKET = "DEV_WEB_BUCKET"
ENV_HOST = "DEV_HOST"
ENV_EXTRA_ORIGINS = "DEV_EXTRA_ORIGINS"

DEFAULT_OSS_PORT = 9100
DEFAULT_STS_PORT = 9200
DEFAULT_FUNCTION_PORT = 9000
DEFAULT_STATE_DIR = ".localcloud"
DEFAULT_BUCKET = "local-uploads"
DEFAULT_WEB_BUCKET = "local-web"
DEFAULT_HOST = "127.0.0.1"
REGION = "cn-hangzhou"

# OSS bucket naming: 3-63 characters, lowercase letters, digits and hyphens, no hyphen
# at either end.
BUCKET_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
# A browser origin as CORS compares it: scheme, host and optional port; no path, no slash.
ORIGIN_RE = re.compile(r"^https?://(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])"
                       r"(?::[0-9]{1,5})?$")


class ConfigError(ValueError):
    """One or more environment variables are invalid; the message lists them all."""


@dataclass(frozen=True)
class Settings:
    """Where the local cloud listens and keeps its state (port 0 = any free port).

    ``bucket`` receives the uploads; ``web_bucket`` holds the page and is the only one
    with website hosting, so nothing uploaded is ever served from the page's origin.
    ``extra_origins`` are pages served elsewhere (a dev server) that the function's CORS
    and the upload bucket's CORS rule allow besides the emulated page's own origin.
    """

    oss_port: int = DEFAULT_OSS_PORT
    sts_port: int = DEFAULT_STS_PORT
    function_port: int = DEFAULT_FUNCTION_PORT
    state_dir: Path = Path(DEFAULT_STATE_DIR)
    bucket: str = DEFAULT_BUCKET
    web_bucket: str = DEFAULT_WEB_BUCKET
    host: str = DEFAULT_HOST
    extra_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse settings from an environment mapping, reporting every problem at once."""
        problems: list[str] = []

        def port(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit() or int(raw) > 65535:
                problems.append(f"{name}={raw!r} is not a port number (0-65535; 0 = any free port)")
                return default
            return int(raw)

        oss_port = port(ENV_OSS_PORT, DEFAULT_OSS_PORT)
        sts_port = port(ENV_STS_PORT, DEFAULT_STS_PORT)
        function_port = port(ENV_FUNCTION_PORT, DEFAULT_FUNCTION_PORT)
        chosen = [(name, value) for name, value in ((ENV_OSS_PORT, oss_port),
                                                     (ENV_STS_PORT, sts_port),
                                                     (ENV_FUNCTION_PORT, function_port)) if value]
        for index, (name, value) in enumerate(chosen):
            for other, other_value in chosen[index + 1:]:
                if value == other_value:
                    problems.append(f"{name} and {other} are both {value}: each part needs "
                                    "its own port")
        bucket = env.get(ENV_BUCKET, "").strip() or DEFAULT_BUCKET
        if not BUCKET_NAME_RE.match(bucket):
            problems.append(f"{ENV_BUCKET}={bucket!r} is not a valid OSS bucket name")
        web_bucket = env.get(ENV_WEB_BUCKET, "").strip() or DEFAULT_WEB_BUCKET
        if not BUCKET_NAME_RE.match(web_bucket):
            problems.append(f"{ENV_WEB_BUCKET}={web_bucket!r} is not a valid OSS bucket name")
        elif web_bucket == bucket:
            problems.append(f"{ENV_WEB_BUCKET} and {ENV_BUCKET} must differ: the page and the "
                            "uploads need separate buckets (separate origins)")
        state_dir = Path(env.get(ENV_STATE_DIR, "").strip() or DEFAULT_STATE_DIR)
        host = env.get(ENV_HOST, "").strip() or DEFAULT_HOST
        extra_origins = tuple(
            item.strip() for item in env.get(ENV_EXTRA_ORIGINS, "").split(",") if item.strip())
        for origin in extra_origins:
            if not ORIGIN_RE.match(origin):
                problems.append(f"{ENV_EXTRA_ORIGINS}: {origin!r} is not an origin "
                                "(scheme://host[:port], no path)")
        if problems:
            raise ConfigError("; ".join(problems))
        return cls(
            oss_port=oss_port,
            sts_port=sts_port,
            function_port=function_port,
            state_dir=state_dir,
            bucket=bucket,
            web_bucket=web_bucket,
            host=host,
            extra_origins=tuple(dict.fromkeys(extra_origins)),
        )
