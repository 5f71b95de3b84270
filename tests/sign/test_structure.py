"""The signing function's shape: no import cycles, and a core that imports no application code.

Walks the package's imports with ``ast`` (module level and function level alike), so a
cycle or a wrong-way import fails here rather than in a reader's head.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from uploadsign.factory import build_app

from tests.support.structure import files_run_by, first_cycle, import_graph

from .support import BASE_ENV, FakeClock, FakeFetcher

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "sign" / "uploadsign"
EVENTS = Path(__file__).resolve().parent.parent / "events"
#: Pure values: credentials, policy (with its V4 signing), the sealed multipart upload id.
#: They import nothing outside this set (and ``errors``), never the application layer, the
#: SDK, the environment or the clock.
CORE = {"credentials", "policy", "uploadtoken", "errors"}


def imports() -> dict[str, set[str]]:
    """Return, for each module of the package, the package modules it imports (short names)."""
    def short(name: str) -> str:
        return name.removeprefix(PACKAGE.name + ".")

    return {short(module): {short(name) for name in imported}
            for module, imported in import_graph(PACKAGE).items()}


def test_the_package_has_no_import_cycles() -> None:
    cycle = first_cycle(imports())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or ())


def test_pure_values_import_nothing_from_the_application_layer() -> None:
    graph = imports()
    assert {module: graph[module] - CORE for module in CORE} == {module: set() for module in CORE}


def test_pure_values_hold_no_lock_clock_environment_or_logger() -> None:
    stateful = {"threading", "logging", "os", "time"}
    for module in CORE - {"errors"}:
        tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.Import) for a in node.names}
        names |= {node.module.split(".")[0] for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.module}
        assert not names & stateful, module


# --- size: few modules, none large, few files per request ------------------------------------

MAX_MODULES = 20
MAX_MODULE_LINES = 300
MAX_FILES_PER_WARM_GRANT = 10


def test_the_package_has_few_modules_and_none_is_large() -> None:
    sizes = {path.name: len(path.read_text(encoding="utf-8").splitlines())
             for path in PACKAGE.glob("*.py")}
    assert len(sizes) <= MAX_MODULES, sorted(sizes)
    too_large = {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES}
    assert too_large == {}


@pytest.fixture
def warm_index(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock, fetcher: FakeFetcher
) -> Iterator[Any]:
    """The entry module with its lazy app built (fake STS) and one grant already served."""
    import index

    built = build_app(BASE_ENV, fetcher_factory=lambda s: fetcher, clock=clock)
    monkeypatch.setattr(index.app, "_app", built)
    yield index


def test_a_warm_post_uploads_through_fc_runs_few_files(warm_index: Any) -> None:
    event = (EVENTS / "post_uploads_plain.json").read_bytes()
    assert warm_index.handler(event, None)["statusCode"] == 200
    files = files_run_by(lambda: warm_index.handler(event, None), PACKAGE.parent)
    assert len(files) <= MAX_FILES_PER_WARM_GRANT, " ".join(sorted(files))


def test_a_warm_post_uploads_through_wsgi_runs_few_files(warm_index: Any) -> None:
    body = b'{"filename": "a.png", "size": 2048, "content_type": "image/png"}'

    def post() -> None:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/uploads", "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
            "HTTP_ORIGIN": "https://app.example.com", "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "https", "SERVER_NAME": "sign.example", "SERVER_PORT": "443",
        }
        statuses: list[str] = []
        b"".join(warm_index.app(environ, lambda status, headers: statuses.append(status)))
        assert statuses == ["200 OK"]

    post()
    files = files_run_by(post, PACKAGE.parent)
    assert len(files) <= MAX_FILES_PER_WARM_GRANT, " ".join(sorted(files))
