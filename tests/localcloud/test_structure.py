"""The local cloud's shape: no import cycles, no large module, few files per PostObject.

Walks ``localcloud``'s imports with ``ast`` (module level and function level alike, the
graph code of ``tests/support/structure.py`` that the function's structure test uses too),
and traces a warm PostObject through the in-process emulator application with
``sys.settrace`` to count the project files it runs.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from localcloud.identity import IdentityStore, Principal
from localcloud.oss.buckets import BucketConfig
from localcloud.oss.emulator import Emulator
from localcloud.oss.httpmessages import Request
from tests.localcloud.formbuilder import Signer, content_type, encode, file_part, v4_form
from tests.support.structure import files_run_by, first_cycle, import_graph, line_counts

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "localcloud"

MAX_MODULE_LINES = 300
#: Modules allowed past MAX_MODULE_LINES, each with its reason.
LARGER_MODULES = {
    # The table of OSS operations: one row per operation (~200 lines of data), and the
    # classification of a request against it.
    "localcloud/oss/operations.py": 310,
    # The pooled server: one loop and its workers sharing one connection state and lock
    # (a connection's own bytes are connections.py's).
    "localcloud/serving.py": 350,
    # The stack's start-up order (emulator, STS stub, buckets, function, page) and its
    # public facts; each step's content lives in devidentity, functionenv, functionproc,
    # sts_wiring and webupload.
    "localcloud/stack.py": 370,
}
#: Project files a warm PostObject runs in the emulator application: 18 before the
#: PostObject path became one package, 17 after.
MAX_FILES_PER_WARM_POST_OBJECT = 17


def test_the_local_cloud_has_no_import_cycles() -> None:
    cycle = first_cycle(import_graph(PACKAGE))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_no_local_cloud_module_is_large() -> None:
    too_large = {name: n for name, n in line_counts(PACKAGE).items()
                 if n > LARGER_MODULES.get(name, MAX_MODULE_LINES)}
    assert too_large == {}


NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=timezone.utc)
UPLOADER = Signer("FAKE-AK-TRACE-0001", "fake-secret-trace-0001")
BUCKET = "tracebucket"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """An emulator with one private bucket and one long-lived key, at a fixed time."""
    identities = IdentityStore([Principal(UPLOADER.access_key_id, UPLOADER.secret)])
    emu = Emulator.start(tmp_path / "state", lookup=identities.lookup, clock=lambda: NOW)
    try:
        emu.buckets.create(BucketConfig(BUCKET))
        yield emu
    finally:
        emu.stop()


def post_object(emu: Emulator) -> int:
    """Send one signed PostObject (201 answer asked) to the application; return the status."""
    fields = v4_form(UPLOADER, NOW, BUCKET, key="uploads/${filename}",
                     extra_fields=[("success_action_status", "201")],
                     conditions=[["starts-with", "$key", "uploads/"],
                                 {"success_action_status": "201"},
                                 ["content-length-range", 1, 1024]],
                     expiration=NOW + timedelta(minutes=5))
    body = encode([*fields, file_part(b"\x89PNG fake image bytes", "photo.png")])
    request = Request(
        method="POST", target=f"/{BUCKET}",
        headers={"host": f"127.0.0.1:{emu.port}", "content-type": content_type(),
                 "content-length": str(len(body))},
        body=io.BytesIO(body), client_ip="127.0.0.1", request_id="TRACE0000000000000000001",
        now=NOW, content_length=len(body),
    )
    return emu.app(request).status


def warm_post_object_files(emu: Emulator) -> set[str]:
    """Return the project files the second of two identical PostObjects runs."""
    assert post_object(emu) == 201
    statuses: list[int] = []
    files = files_run_by(lambda: statuses.append(post_object(emu)), PACKAGE)
    assert statuses == [201]
    return files


def test_a_warm_post_object_runs_few_files(emulator: Emulator) -> None:
    files = warm_post_object_files(emulator)
    assert len(files) <= MAX_FILES_PER_WARM_POST_OBJECT, " ".join(sorted(files))
