"""The signing function's shape: no import cycles, and a core that imports no application code.

Walks the package's imports with ``ast`` (module level and function level alike), so a
cycle or a wrong-way import fails here rather than in a reader's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "sign" / "uploadsign"
#: Pure values: credentials, policy, signing. They import nothing outside this set (and
#: ``errors``), never the application layer, the SDK, the environment or the clock.
CORE = {"credentials", "policy", "signing", "errors"}


def imports() -> dict[str, set[str]]:
    """Return, for each module of the package, the package modules it imports."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "uploadsign":
                    found |= {alias.name for alias in node.names}
                elif node.module.startswith("uploadsign."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[1] for a in node.names
                          if a.name.startswith("uploadsign.")}
        graph[path.stem] = found - {path.stem}
    return graph


def test_the_package_has_no_import_cycles() -> None:
    graph = imports()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, "import cycle: " + " -> ".join([*path, module])
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


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
