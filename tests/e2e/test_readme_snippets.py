"""The README's SDK snippets ("SDK clients against the local cloud") run as written.

Each fenced block after a ``<!-- readme-snippet: NAME -->`` marker is taken from README.md
byte for byte and run against a started local cloud, from a directory whose
``.localcloud/`` is that cloud's state directory, as ``make dev`` leaves it for a user. A
snippet that stops working, or a marker that goes missing, fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import alibabacloud_oss_v2 as oss
import pytest

from localcloud.stack import LocalCloud
from tests.e2e.conftest import admin_client
from tests.e2e.nodejs import NODE_MODULES, REPO, run_node

README = REPO / "README.md"
SNIPPET = re.compile(
    r"^<!-- readme-snippet: (?P<name>[a-z0-9-]+) -->\n```(?P<lang>\w+)\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
EXPECTED = {"python-oss-v2": "python", "ali-oss": "js"}
KEY = "readme/hello.txt"


def readme_snippets() -> dict[str, tuple[str, str]]:
    """Return ``{name: (language, code)}`` for every marked block in README.md."""
    found: dict[str, tuple[str, str]] = {}
    for match in SNIPPET.finditer(README.read_text(encoding="utf-8")):
        assert match["name"] not in found, f"two README snippets named {match['name']}"
        found[match["name"]] = (match["lang"], match["code"])
    return found


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[tuple[Path, LocalCloud]]:
    """A directory holding a running local cloud's state as ``.localcloud/``."""
    cloud = LocalCloud.start(tmp_path / ".localcloud", start_function=False, publish_web=False)
    try:
        yield tmp_path, cloud
    finally:
        cloud.stop()


def _stored(cloud: LocalCloud) -> bytes:
    got = admin_client(cloud).get_object(oss.GetObjectRequest(bucket=cloud.bucket, key=KEY))
    body: bytes = got.body.read()
    return body


def test_readme_has_exactly_the_tested_snippets() -> None:
    found = readme_snippets()

    assert {name: lang for name, (lang, _) in found.items()} == EXPECTED


def test_python_sdk_snippet_runs_against_the_local_cloud(
    workdir: tuple[Path, LocalCloud], logged_secrets: set[str]
) -> None:
    directory, cloud = workdir
    logged_secrets.add(cloud.admin_credentials.access_key_secret)
    _, code = readme_snippets()["python-oss-v2"]
    (directory / "snippet.py").write_text(code, encoding="utf-8")

    done = subprocess.run([sys.executable, "snippet.py"], cwd=directory, capture_output=True,
                          text=True, timeout=60, check=False)

    assert (done.returncode, done.stdout) == (0, "hello from Python\n"), done.stderr
    assert _stored(cloud) == b"hello from Python"


def test_ali_oss_snippet_runs_against_the_local_cloud(
    workdir: tuple[Path, LocalCloud], logged_secrets: set[str]
) -> None:
    directory, cloud = workdir
    logged_secrets.add(cloud.admin_credentials.access_key_secret)
    _, code = readme_snippets()["ali-oss"]
    (directory / "hello.mjs").write_text(code, encoding="utf-8")
    # As if `npm install ali-oss` had been run here: the pinned copy of tests/node.
    (directory / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)

    done = run_node(directory / "hello.mjs", cwd=directory)

    assert (done.returncode, done.stdout) == (0, "hello from ali-oss\n"), done.stderr
    assert _stored(cloud) == b"hello from ali-oss"
