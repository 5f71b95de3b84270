"""The deployment zip is self-contained: unpacked alone, it answers a real-shaped FC event.

The zip here is built for *this* interpreter (``host=True``: the pinned distributions
installed in the test environment, copied offline), because compiled dependencies built
for FC's CPython 3.10 cannot load in the test interpreter. ``make package`` builds the FC
one with the same code path except the vendoring step. The isolated interpreter gets
exactly what FC gives the function: the unpacked root and ``vendor/`` (PYTHONPATH) plus
the standard library; ``-I -S`` keeps the environment, user site and site-packages out.
STS is the local cloud's stub on loopback (``tests/support/loopback.py``), trusting the
execution identity the isolated interpreter is given.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt
import pytest

from deploy.package import (
    FC_PYTHON_ENV,
    build,
    interpreter_version,
    target_interpreter,
    write_zip,
)
from deploy.vendor import (
    FC_PYTHON310,
    SERVER_REQUIREMENTS,
    foreign_binaries,
    install_command,
    pins,
    unpinned_dependencies,
)
from tests.support.loopback import LoopbackSts, execution_identity, loopback_sts

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET = "deploy-test-bucket"
REGION = "cn-hangzhou"
UPLOAD_ROLE_ARN = "acs:ram::123456789012:role/oss-uploader"
#: The execution role's credentials as FC hands them to the function (obviously fake).
EXECUTION_ENV = {
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "FAKE-AK-EXECUTION-ROLE",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "FAKE-SECRET-execution-role",
    "ALIBABA_CLOUD_SECURITY_TOKEN": "FAKE-TOKEN-execution-role",
}
ORIGIN = "https://upload.example.com"
PYTHON310_ENV = "DEPLOY_TEST_PYTHON310"


@pytest.fixture
def sts_stub(logged_secrets: set[str]) -> Iterator[LoopbackSts]:
    identity = execution_identity(EXECUTION_ENV, role_arn=UPLOAD_ROLE_ARN)
    with loopback_sts(identity=identity, role_arn=UPLOAD_ROLE_ARN, bucket=BUCKET) as running:
        yield running
        logged_secrets.update(running.issued_secrets())


@pytest.fixture(scope="module")
def host_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("build") / "signer.zip", host=True)


@pytest.fixture
def unpacked(host_zip: Path, tmp_path: Path) -> Path:
    root = tmp_path / "code"
    root.mkdir()
    with zipfile.ZipFile(host_zip) as archive:
        archive.extractall(root)
    return root


def fc_http_event(body: dict[str, Any], headers: dict[str, str] | None = None) -> bytes:
    """A POST /uploads event in the FC 3.0 HTTP-trigger shape (headers Go-canonicalised)."""
    return json.dumps(
        {
            "version": "v1",
            "rawPath": "/uploads",
            "body": json.dumps(body),
            "isBase64Encoded": False,
            "headers": {
                "Content-Type": "application/json",
                "Origin": ORIGIN,
                "User-Agent": "Mozilla/5.0",
                "Accept": "application/json",
                **(headers or {}),
            },
            "queryParameters": {},
            "requestContext": {
                "accountId": "123456789012",
                "domainName": f"oss-upload-signer-abcdef.{REGION}.fcapp.run",
                "domainPrefix": "oss-upload-signer-abcdef",
                "http": {
                    "method": "POST",
                    "path": "/uploads",
                    "protocol": "HTTP/1.1",
                    "sourceIp": "203.0.113.7",
                    "userAgent": "Mozilla/5.0",
                },
                "requestId": "1-00000000-000000000000000000000000",
                "time": "2026-01-01T00:00:00Z",
                "timeEpoch": "1767225600000",
                "triggerId": "http",
            },
        }
    ).encode()


# Runs inside the isolated interpreter: argv = [root, event file].
ISOLATED_SCRIPT = """
import json, sys, types
root = sys.argv[1]
sys.path[:0] = [root, root + "/vendor"]
assert not any("site-packages" in p for p in sys.path), sys.path
import index
context = types.SimpleNamespace(request_id="1-00000000", region="cn-hangzhou")
with open(sys.argv[2], "rb") as f:
    result = index.handler(f.read(), context)
stdlib = sys.base_prefix
outside = sorted(
    name for name, module in list(sys.modules.items())
    if getattr(module, "__file__", None)
    and not module.__file__.startswith(root)
    and not module.__file__.startswith(stdlib)
)
print(json.dumps({"result": result, "outside": outside}))
"""


def run_isolated(
    root: Path,
    event: bytes,
    sts_url: str,
    tmp_path: Path,
    python: str = sys.executable,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    event_file = tmp_path / "event.json"
    event_file.write_bytes(event)
    env = {
        "PATH": "/usr/bin:/bin",
        **EXECUTION_ENV,
        "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
        "ALIBABA_CLOUD_CLI_PROFILE_DISABLED": "true",
        "OSS_BUCKET": BUCKET,
        "OSS_REGION": REGION,
        "OSS_UPLOAD_DIR": "uploads/",
        "OSS_STS_ROLE_ARN": UPLOAD_ROLE_ARN,
        "STS_ENDPOINT": sts_url,
        "STS_DURATION_SECONDS": "3600",
        "UPLOAD_MAX_BYTES": "1048576",
        "UPLOAD_ALLOWED_CONTENT_TYPES": "image/png,text/plain",
        "CORS_ALLOWED_ORIGINS": ORIGIN,
        **(extra_env or {}),
    }
    completed = subprocess.run(
        [python, "-I", "-S", "-c", ISOLATED_SCRIPT, str(root), str(event_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def assert_signed_grant(answer: dict[str, Any], sts: LoopbackSts) -> None:
    assert answer["outside"] == [], "modules were imported from outside the zip and stdlib"
    result = answer["result"]
    assert result["statusCode"] == 200, result
    headers = {k.lower(): v for k, v in result["headers"].items()}
    assert headers["access-control-allow-origin"] == ORIGIN
    assert sts.stub.issued, "STS issued nothing"

    grant = json.loads(result["body"])
    fields = grant["fields"]
    assert grant["url"] == f"https://{BUCKET}.oss-{REGION}.aliyuncs.com"
    issued = sts.issued(fields["x-oss-credential"].split("/", 1)[0])
    assert fields["x-oss-security-token"] == issued.security_token
    assert fields["key"].startswith("uploads/") and fields["key"].endswith(".png")

    policy = json.loads(base64.b64decode(fields["policy"]))
    assert set(policy) == {"expiration", "conditions"}
    conditions = policy["conditions"]
    assert {"bucket": BUCKET} in conditions
    assert ["content-length-range", 2048, 2048] in conditions
    assert ["eq", "$key", fields["key"]] in conditions
    assert {"x-oss-security-token": issued.security_token} in conditions


UPLOAD_BODY = {"filename": "cat.png", "size": 2048, "content_type": "image/png"}
JWT_SECRET = "FAKE-HS256-SECRET-deploy-test-0123456789"
JWT_ENV = {"AUTH_MODE": "jwt", "AUTH_JWT_SECRET": JWT_SECRET}


def bearer(secret: str) -> dict[str, str]:
    """An Authorization header with an HS256 token valid for ten minutes from now."""
    # Test input, not code under test: the function in the subprocess reads its own clock.
    expires = datetime.now(timezone.utc) + timedelta(minutes=10)
    token = jwt.encode({"sub": "user-42", "exp": expires}, secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def test_unpacked_zip_signs_a_grant_in_an_isolated_interpreter(
    unpacked: Path, sts_stub: LoopbackSts, tmp_path: Path
) -> None:
    answer = run_isolated(unpacked, fc_http_event(UPLOAD_BODY), sts_stub.url, tmp_path)
    assert_signed_grant(answer, sts_stub)


def test_unpacked_zip_runs_from_its_bytecode_without_reading_the_sources(
    unpacked: Path, sts_stub: LoopbackSts, tmp_path: Path
) -> None:
    # FC's /code is read-only: only shipped bytecode spares a cold start the compiling.
    # Unchecked .pyc files are used as they are, so a broken source must not matter.
    for source in ("uploadsign/policy.py", "vendor/alibabacloud_sts20150401/client.py"):
        (unpacked / source).write_text("raise RuntimeError('source read')\n")
    answer = run_isolated(unpacked, fc_http_event(UPLOAD_BODY), sts_stub.url, tmp_path)
    assert_signed_grant(answer, sts_stub)


def test_unpacked_zip_verifies_a_jwt_with_the_vendored_pyjwt(
    unpacked: Path, sts_stub: LoopbackSts, tmp_path: Path
) -> None:
    # AUTH_MODE=jwt is the path that imports PyJWT; none mode never loads it.
    event = fc_http_event(UPLOAD_BODY, bearer(JWT_SECRET))
    answer = run_isolated(unpacked, event, sts_stub.url, tmp_path, extra_env=JWT_ENV)
    assert_signed_grant(answer, sts_stub)
    assert JWT_SECRET not in json.dumps(answer)


def test_unpacked_zip_refuses_a_jwt_signed_with_another_secret(
    unpacked: Path, sts_stub: LoopbackSts, tmp_path: Path
) -> None:
    event = fc_http_event(UPLOAD_BODY, bearer("FAKE-HS256-OTHER-SECRET-0123456789abcd"))
    result = run_isolated(unpacked, event, sts_stub.url, tmp_path, extra_env=JWT_ENV)["result"]
    assert result["statusCode"] == 401, result
    assert JWT_SECRET not in json.dumps(result)
    assert sts_stub.stub.assume_role_calls == 0


def cpython_310() -> str | None:
    """Path of a CPython 3.10 interpreter on this machine, if there is one."""
    for candidate in (os.environ.get(PYTHON310_ENV, ""), "python3.10"):
        found = shutil.which(candidate) if candidate else None
        if found:
            probe = subprocess.run(
                [found, "-c", "import sys; print(sys.executable, sys.version_info[:2])"],
                capture_output=True, text=True, timeout=60,
            )
            if probe.returncode == 0 and probe.stdout.strip().endswith("(3, 10)"):
                return probe.stdout.split()[0]
    return None


@pytest.mark.parametrize("auth", ["none", "jwt"])
def test_fc_zip_from_make_package_signs_a_grant_under_cpython_310(
    sts_stub: LoopbackSts, tmp_path: Path, auth: str
) -> None:
    """Opt-in: needs `make package` (network) beforehand and a CPython 3.10 (on PATH as
    python3.10, or named by DEPLOY_TEST_PYTHON310). Loads the real FC wheels."""
    fc_zip = REPO_ROOT / "build" / "oss-upload-signer.zip"
    python = cpython_310()
    if not fc_zip.is_file() or python is None:
        pytest.skip("needs build/oss-upload-signer.zip (make package) and a CPython 3.10")
    root = tmp_path / "code"
    with zipfile.ZipFile(fc_zip) as archive:
        archive.extractall(root)
    if auth == "jwt":
        event = fc_http_event(UPLOAD_BODY, bearer(JWT_SECRET))
        answer = run_isolated(root, event, sts_stub.url, tmp_path, python, extra_env=JWT_ENV)
    else:
        answer = run_isolated(root, fc_http_event(UPLOAD_BODY), sts_stub.url, tmp_path, python)
    assert_signed_grant(answer, sts_stub)


def test_unpacked_zip_answers_a_malformed_body_with_a_4xx(
    unpacked: Path, sts_stub: LoopbackSts, tmp_path: Path
) -> None:
    event = fc_http_event({"filename": "cat.png"})
    result = run_isolated(unpacked, event, sts_stub.url, tmp_path)["result"]
    assert result["statusCode"] == 400, result
    assert json.loads(result["body"])["error"]["code"] == "bad_request"
    shown = json.dumps(result)
    never_shown = {*sts_stub.issued_secrets(), EXECUTION_ENV["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                   EXECUTION_ENV["ALIBABA_CLOUD_SECURITY_TOKEN"]}
    assert not [secret for secret in never_shown if secret in shown]


def test_zip_holds_the_handler_at_its_root_and_unchecked_bytecode_for_its_python(
    host_zip: Path,
) -> None:
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(host_zip) as archive:
        names = archive.namelist()
        header = archive.read(f"uploadsign/__pycache__/config.{tag}.pyc")[:8]
    assert "index.py" in names and "uploadsign/config.py" in names
    compiled = [n for n in names if n.endswith(".pyc")]
    assert f"__pycache__/index.{tag}.pyc" in compiled
    assert f"vendor/alibabacloud_sts20150401/__pycache__/client.{tag}.pyc" in compiled
    assert all(f".{tag}.pyc" in n and "/__pycache__/" in f"/{n}" for n in compiled)
    # PEP 552 flags: bit 0 hash-based, bit 1 check_source; unchecked = 0b01.
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01
    vendored = {n.split("/")[1] for n in names if n.startswith("vendor/") and n.count("/") > 1}
    assert {"alibabacloud_sts20150401", "alibabacloud_credentials", "darabonba", "jwt"} <= vendored


def test_zip_bytes_depend_only_on_the_staged_files(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    (stage / "pkg").mkdir(parents=True)
    (stage / "index.py").write_text("x = 1\n")
    (stage / "pkg" / "m.py").write_text("y = 2\n")
    first = write_zip(stage, tmp_path / "a.zip").read_bytes()
    (stage / "index.py").touch()
    second = write_zip(stage, tmp_path / "b.zip").read_bytes()
    assert first == second


def test_fc_install_command_targets_cpython_310_manylinux_wheels_only(tmp_path: Path) -> None:
    command = install_command("python", Path("requirements.txt"), tmp_path, tmp_path, FC_PYTHON310)
    joined = " ".join(command)
    assert "--only-binary=:all:" in command
    assert "--python-version 3.10" in joined and "--abi cp310" in joined
    assert "--platform manylinux_2_28_x86_64" in joined  # Debian 10's glibc 2.28
    assert "manylinux_2_31" not in joined and "manylinux_2_34" not in joined


def test_binaries_built_for_another_interpreter_are_reported(tmp_path: Path) -> None:
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "_a.cpython-310-x86_64-linux-gnu.so").write_bytes(b"")
    (tmp_path / "ok" / "_b.abi3.so").write_bytes(b"")
    wrong = tmp_path / "bad" / "_c.cpython-311-x86_64-linux-gnu.so"
    wrong.parent.mkdir()
    wrong.write_bytes(b"")
    assert foreign_binaries(tmp_path, FC_PYTHON310) == [wrong]


def test_requirements_are_exact_pins() -> None:
    pinned = pins(REPO_ROOT / "requirements.txt")
    assert "alibabacloud-sts20150401" in pinned
    assert all(version[0].isdigit() for version in pinned.values())


def test_requirements_pin_every_runtime_dependency() -> None:
    assert unpinned_dependencies(REPO_ROOT / "requirements.txt") == []


def test_target_interpreter_is_taken_from_fc_python_only_when_its_version_matches() -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    environ = {FC_PYTHON_ENV: sys.executable}
    found = target_interpreter(here, environ)
    assert found is not None and interpreter_version(found) == here
    assert target_interpreter("2.0", environ) is None


def test_server_pins_are_what_the_local_cloud_serves_the_function_with() -> None:
    # The custom runtime's server is the one `make dev` and the tests run, pin for pin, on
    # FC's CPython 3.10 and on this interpreter alike.
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    for version in ("3.10", here):
        server = pins(SERVER_REQUIREMENTS, version)
        dev = pins(REPO_ROOT / "requirements-dev.txt", version)
        assert {"gunicorn", "gevent"} <= set(server)
        assert server == {name: dev[name] for name in server}
    assert unpinned_dependencies((REPO_ROOT / "requirements.txt", SERVER_REQUIREMENTS)) == []
