"""Cold-start hygiene: what importing the entry points and building each mode loads.

Each check runs in a fresh interpreter (this test process has long imported everything)
and compares module sets, never timings: ``import index`` loads no application code,
no SDK and no HTTP client; ``AUTH_MODE=none`` never loads PyJWT; PyJWT arrives with
``AUTH_MODE=jwt``, ``redis`` with ``LIMITS_REDIS_URL``, ``cryptography`` with the first
callback verification; no build loads the OSS SDK (the first multipart call does).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .support import BASE_ENV

SIGN_ROOT = Path(__file__).resolve().parents[2] / "functions" / "sign"
WATCHED = (
    "jwt",
    "cryptography",
    "urllib.request",
    "http.client",
    "alibabacloud_sts20150401",
    "alibabacloud_credentials",
    "uploadsign.factory",
    "uploadsign.routes",
    "uploadsign.jwtauth",
    "uploadsign.limits",
    "redis",
    "alibabacloud_oss_v2",
)

def loaded_after(script: str) -> set[str]:
    """Run ``script`` in a fresh interpreter; return which watched modules it loaded."""
    code = (
        "import json, sys\n"
        + script
        + "\nprint(json.dumps([m for m in " + repr(WATCHED) + " if m in sys.modules]))"
    )
    env = {**os.environ, "PYTHONPATH": str(SIGN_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=SIGN_ROOT, capture_output=True, text=True,
        check=True, timeout=120,
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_index_loads_no_application_sdk_or_http_client() -> None:
    assert loaded_after("import index") == set()


BUILD = (
    "from uploadsign.factory import build_app\n"
    "app = build_app({env!r}, fetcher_factory=lambda s: (lambda: None))\n"
)


def test_anonymous_mode_never_loads_pyjwt_or_an_http_client() -> None:
    loaded = loaded_after(BUILD.format(env=BASE_ENV))
    assert not loaded & {"jwt", "uploadsign.jwtauth", "urllib.request"}


def test_a_build_without_limits_or_a_multipart_call_loads_neither_redis_nor_the_oss_sdk() -> None:
    loaded = loaded_after(BUILD.format(env=BASE_ENV))
    assert not loaded & {"redis", "uploadsign.limits", "alibabacloud_oss_v2"}


def test_limits_load_redis_when_built() -> None:
    env = {**BASE_ENV, "LIMITS_REDIS_URL": "redis://127.0.0.1:1/0"}
    assert {"redis", "uploadsign.limits"} <= loaded_after(BUILD.format(env=env))


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({"AUTH_JWT_SECRET": "FAKE-HS256-SECRET-for-tests-only-0123456789"},
                     {"jwt", "uploadsign.jwtauth"}, id="hs256"),
        pytest.param({"AUTH_JWKS_URL": "https://id.example.com/jwks.json"},
                     {"jwt", "uploadsign.jwtauth"}, id="jwks"),
    ],
)
def test_jwt_mode_loads_pyjwt_when_built(extra: dict[str, str], expected: set[str]) -> None:
    env = {**BASE_ENV, "AUTH_MODE": "jwt", **extra}
    assert expected <= loaded_after(BUILD.format(env=env))


def test_callback_verification_loads_cryptography_on_first_use() -> None:
    script = (
        "from uploadsign import callback_verify\n"
        "before = 'cryptography.hazmat.primitives.asymmetric.padding' in sys.modules\n"
        "callback_verify.signature_valid(None, b'', 'not base64!')\n"
        "assert not before\n"
    )
    assert "cryptography" in loaded_after(script)
