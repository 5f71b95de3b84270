"""Static and traced shape of a package: its import graph, cycles in it, files a call runs.

Shared by the structure tests of the signing function (``tests/sign/test_structure.py``)
and of the local cloud (``tests/localcloud/test_structure.py``). The graph is read with
``ast`` from the source (module-level and function-level imports alike), so a cycle fails a
test rather than a reader's head; nothing is imported.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType


def module_names(package_dir: Path) -> dict[str, Path]:
    """Return every module of the package under ``package_dir``, by dotted name.

    A package's ``__init__.py`` is named after the package (``localcloud.sts``).
    """
    root = package_dir.parent
    names: dict[str, Path] = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Return the modules of ``known`` that one import statement of ``module`` names."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if not isinstance(node, ast.ImportFrom):
        return set()
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, base] if base else anchor)
    # ``from pkg import name`` runs pkg's ``__init__`` and reads its namespace, whether the
    # name is defined there or is a submodule (then imported too): an ``__init__`` that
    # imports its submodules while one of them imports names from the package is a cycle.
    found = {base} if base in known else set()
    for alias in node.names:
        if f"{base}.{alias.name}" in known:
            found.add(f"{base}.{alias.name}")
    return found


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Return, for each module of the package, the package's modules it imports."""
    modules = module_names(package_dir)
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(tree):
            found |= _imported(node, name, is_package, known)
        graph[name] = found - {name}
    return graph


def first_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """Return one import cycle as ``[a, b, …, a]``, or None when the graph has none."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module):], module]
        if module in done:
            return None
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported, [*path, module])
            if cycle is not None:
                return cycle
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module, [])
        if cycle is not None:
            return cycle
    return None


def line_counts(package_dir: Path) -> dict[str, int]:
    """Return each module's line count, by path relative to ``package_dir``'s parent."""
    root = package_dir.parent
    return {path.relative_to(root).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
            for path in module_names(package_dir).values()}


def files_run_by(call: Callable[[], object], root: Path) -> set[str]:
    """Return the files under ``root`` whose code ``call`` executes (``sys.settrace``).

    Paths are relative to ``root``. Only function calls are traced (the ``call`` event),
    which is where a file's code starts running.
    """
    prefix = str(root)
    seen: set[str] = set()

    def tracer(frame: FrameType, event: str, arg: object) -> None:
        filename = frame.f_code.co_filename
        if filename.startswith(prefix):
            seen.add(Path(filename).relative_to(root).as_posix())

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        call()
    finally:
        sys.settrace(previous)
    return seen
