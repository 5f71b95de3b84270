"""The custom-runtime package runs as FC starts it: its start command, FC's environment,
a free port, and real HTTP grant requests through it against the local cloud.

FC's custom runtime unpacks the zip to ``/code`` and runs ``customRuntimeConfig.command``
(s.yaml's custom instance model: ``/bin/sh /code/bootstrap``) with the function's environment
variables plus FC's own (``FC_CUSTOM_LISTEN_PORT`` and the other ``FC_*`` of
function-compute-and-deploy.md section 1.5), then forwards HTTP requests to that port.
Here the zip is built for this interpreter (``host=True``, offline) and unpacked into a
temporary ``code/``; ``/code`` in the command becomes that directory, and ``python3`` on
``PATH`` is this interpreter (FC's custom.debian10 puts CPython 3.10 there from
``/var/fc/lang/python3.10/bin``). STS and OSS are the local cloud's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from deploy.package import BOOTSTRAP, SERVER_FILES, build
from deploy.syaml import model_props
from localcloud.ports import free_port
from localcloud.stack import LocalCloud
from tests.deploy.conftest import REPO_ROOT, load_yaml
from tests.deploy.test_package import cpython_310
from tests.e2e.forms import multipart, post_json, request

#: The instance concurrency s.yaml gives the custom model: one burst of that many requests.
BURST = 20
UPLOAD = {"filename": "cat.png", "size": 4, "content_type": "image/png"}


@pytest.fixture(scope="module")
def custom_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("build") / "custom.zip", host=True, variant="custom")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud.start(tmp_path_factory.mktemp("localcloud"), start_function=False,
                          publish_web=False) as stack:
        yield stack


def custom_runtime_config() -> dict[str, Any]:
    props = model_props(load_yaml(REPO_ROOT / "s.yaml"), "signer", "custom")
    return props["customRuntimeConfig"]  # type: ignore[no-any-return]


def fc_environment(cloud: LocalCloud, root: Path, port: int, python_dir: Path) -> dict[str, str]:
    """The function's settings pointing at the local cloud, plus what FC itself sets."""
    env = cloud.function_env({})
    env.update({
        "PATH": f"{python_dir}:/usr/bin:/bin",
        "FC_CUSTOM_LISTEN_PORT": str(port),
        "FC_FUNC_CODE_PATH": str(root),
        "FC_FUNCTION_NAME": "oss-upload-signer",
        "FC_FUNCTION_HANDLER": "index.handler",
        "FC_FUNCTION_MEMORY_SIZE": "256",
        "FC_ACCOUNT_ID": "123456789012",
        "FC_REGION": cloud.region,
        "FC_INSTANCE_ID": "c-00000000-test",
        "FC_FUNCTION_VERSION": "LATEST",
    })
    return env


class Started:
    """The started instance: its base URL, process, and log file."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()
                if line.startswith("{")]


@contextmanager
def started_as_fc_starts_it(
    package: Path, python: str, cloud: LocalCloud, tmp_path: Path
) -> Iterator[Started]:
    """Unpack ``package``, run its start command with FC's environment, stop it at the end.

    ``python`` is what ``python3`` on ``PATH`` resolves to (FC: /var/fc/lang/python3.10/bin).
    """
    root = tmp_path / "code"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(root)
    for name in SERVER_FILES:  # zipfile drops the mode bits: restore them as FC's unpacking does
        mode = (archive.getinfo(name).external_attr >> 16) & 0o777
        (root / name).chmod(mode)
    python_dir = tmp_path / "python" / "bin"
    python_dir.mkdir(parents=True)
    (python_dir / "python3").symlink_to(os.path.realpath(python))
    config = custom_runtime_config()
    command = [part.replace("/code", str(root), 1) for part in config["command"]]
    port = free_port("127.0.0.1")
    log = tmp_path / "instance.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=fc_environment(cloud, root, port, python_dir),
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    started = Started(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_answering(started)
        yield started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


@pytest.fixture
def instance(custom_zip: Path, cloud: LocalCloud, tmp_path: Path) -> Iterator[Started]:
    with started_as_fc_starts_it(custom_zip, sys.executable, cloud, tmp_path) as started:
        yield started


def wait_until_answering(started: Started, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert started.process.poll() is None, started.log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"{started.url}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    pytest.fail("the custom runtime never answered /healthz:\n" + started.log.read_text()[-3000:])


def grant(started: Started, cloud: LocalCloud) -> tuple[int, Any]:
    return post_json(f"{started.url}/uploads", UPLOAD, origin=cloud.page_origins[0])


def test_the_start_command_is_the_zips_executable_bootstrap(custom_zip: Path) -> None:
    assert custom_runtime_config()["command"] == ["/bin/sh", f"/code/{BOOTSTRAP}"]
    with zipfile.ZipFile(custom_zip) as archive:
        mode = archive.getinfo(BOOTSTRAP).external_attr >> 16
        vendored = {n.split("/")[1] for n in archive.namelist() if n.startswith("vendor/")}
    assert mode & 0o111 == 0o111
    assert {"gunicorn", "gevent", "greenlet"} <= vendored


def test_the_built_in_package_leaves_the_server_out(tmp_path: Path) -> None:
    with zipfile.ZipFile(build(tmp_path / "builtin.zip", host=True)) as archive:
        names = archive.namelist()
    assert "index.py" in names
    assert not SERVER_FILES & set(names)
    assert not any(n.startswith(("vendor/gunicorn/", "vendor/gevent/")) for n in names)


def test_a_grant_from_the_started_package_uploads_to_the_local_cloud(
    instance: Started, cloud: LocalCloud, logged_secrets: set[str]
) -> None:
    status, answer = grant(instance, cloud)
    assert status == 200, answer
    fields = answer["fields"]
    logged_secrets.update({fields["x-oss-signature"], fields["x-oss-security-token"]})
    body, content_type = multipart(fields, "cat.png", b"\x89PNG", "image/png")
    stored, _, reply = request("POST", answer["url"], body,
                               {"Content-Type": content_type, "Origin": cloud.page_origins[0]})
    assert stored == 200, reply


def test_fc_custom_zip_from_make_package_serves_a_grant_under_cpython_310(
    cloud: LocalCloud, tmp_path: Path
) -> None:
    """Opt-in: needs `make package` (network) beforehand and a CPython 3.10 (on PATH as
    python3.10, or named by DEPLOY_TEST_PYTHON310). Runs the real FC wheels (gevent,
    greenlet, zope.interface built for cp310)."""
    fc_zip = REPO_ROOT / "build" / "oss-upload-signer-custom.zip"
    python = cpython_310()
    if not fc_zip.is_file() or python is None:
        pytest.skip("needs build/oss-upload-signer-custom.zip (make package) and a CPython 3.10")
    with started_as_fc_starts_it(fc_zip, python, cloud, tmp_path) as started:
        status, answer = grant(started, cloud)
    assert status == 200, answer


def test_one_instance_serves_a_burst_with_one_assume_role_call(
    instance: Started, cloud: LocalCloud
) -> None:
    with ThreadPoolExecutor(BURST) as pool:
        statuses = [s for s, _ in pool.map(lambda _: grant(instance, cloud), range(BURST))]
    assert statuses == [200] * BURST
    # One warm interpreter, one credential cache shared by the burst: the access log's
    # sts_cache says which grant had to call AssumeRole (miss) and which reused it (hit).
    served = [e["sts_cache"] for e in instance.log_lines() if e.get("route") == "/uploads"]
    assert sorted(served) == ["hit"] * (BURST - 1) + ["miss"]


def test_the_server_imports_nothing_from_site_packages(instance: Started) -> None:
    # bootstrap runs python3 -S: only the zip (root, vendor/) and the standard library.
    workers = subprocess.run(["pgrep", "-s", str(instance.process.pid)], capture_output=True,
                             text=True, check=True).stdout.split()
    loaded = {line.split()[-1] for pid in workers
              for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
              if line.rstrip().endswith(".so") or ".so." in line}
    assert [path for path in loaded if "site-packages" in path] == []
