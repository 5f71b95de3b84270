"""Build the deployment zip FC receives: the function code plus its vendored dependencies.

One zip per instance model (README, "Instance model"; s.yaml and template.yml switch
between them):

- ``builtin`` (``build/oss-upload-signer.zip``): FC's built-in ``python3.10`` runtime calls
  ``index.handler``, one request per instance;
- ``custom`` (``build/oss-upload-signer-custom.zip``): FC's ``custom.debian10`` runtime runs
  the start command ``/bin/sh /code/bootstrap``, which serves ``index:app`` under gunicorn
  (gevent worker) on ``0.0.0.0:$FC_CUSTOM_LISTEN_PORT`` (9000), many requests per instance.
  The zip adds the server and its dependencies (``deploy/requirements-server.txt``).

Layout of the zip (FC unpacks it to ``/code``): ``index.py`` (the entry module) and
``uploadsign/`` at the root (plus ``bootstrap`` and ``gunicorn.conf.py`` for ``custom``),
the pinned dependencies under ``vendor/`` (``PYTHONPATH=/code/vendor`` in s.yaml and
template.yml, and ``bootstrap`` itself, put them on ``sys.path``).
Staging happens in ``build/``, never in the source tree. Entries are written in a fixed
order with a fixed timestamp, so the same inputs give the same bytes.

Bytecode: FC's ``/code`` is read-only, so without shipped ``.pyc`` files every cold start
compiles every imported source (tens of ms). The staged tree is therefore compiled for
the *target* interpreter (CPython 3.10: ``$FC_PYTHON`` or ``python3.10`` on ``PATH``)
with ``--invalidation-mode unchecked-hash``: the runtime trusts the ``.pyc`` without
comparing source mtimes (zip extraction sets its own), and the bytes are reproducible.
Without a matching interpreter the zip ships sources only, with a warning. The host
build (tests) compiles for the running interpreter instead.

Depends on :mod:`deploy.vendor` and the standard library; must not import the function.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from deploy.vendor import (
    FC_PYTHON310,
    REPO_ROOT,
    Requirements,
    copy_installed,
    requirement_files,
    vendor_for_target,
)

SOURCE_DIR = REPO_ROOT / "functions" / "sign"
#: FC runtime of each instance model (s.yaml and template.yml use the same values).
RUNTIMES = {"builtin": "python3.10", "custom": "custom.debian10"}
DEFAULT_ZIPS = {
    "builtin": REPO_ROOT / "build" / "oss-upload-signer.zip",
    "custom": REPO_ROOT / "build" / "oss-upload-signer-custom.zip",
}
DEFAULT_ZIP = DEFAULT_ZIPS["builtin"]
#: The custom runtime's start script, at the zip's root: FC's customRuntimeConfig.command.
BOOTSTRAP = "bootstrap"
#: Files only the custom runtime runs; the built-in runtime's zip leaves them out.
SERVER_FILES = frozenset({BOOTSTRAP, "gunicorn.conf.py"})
VENDOR_DIR = "vendor"
SKIPPED_NAMES = frozenset({VENDOR_DIR, "__pycache__", ".mypy_cache", ".pytest_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
#: Names the interpreter to compile bytecode with for FC (else ``python3.10`` on PATH).
FC_PYTHON_ENV = "FC_PYTHON"
#: Where FC unpacks the zip: the path tracebacks show for compiled modules.
CODE_ROOT = "/code"


def stage_code(source: Path, stage: Path, variant: str = "builtin") -> None:
    """Copy the function's own files (no vendor/, no caches) into ``stage``.

    The built-in variant leaves out the server's start files (:data:`SERVER_FILES`).
    """
    top = str(source)

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n in SKIPPED_NAMES or n.endswith(SKIPPED_SUFFIXES)}
        if variant == "builtin" and directory == top:
            skipped |= SERVER_FILES & set(names)
        return skipped

    shutil.copytree(source, stage, ignore=ignore, dirs_exist_ok=True)


def write_zip(stage: Path, out: Path) -> Path:
    """Zip ``stage`` reproducibly into ``out`` and return ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in stage.rglob("*") if p.is_file())
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(stage).as_posix(), date_time=ZIP_EPOCH)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return out


def interpreter_version(python: str) -> str | None:
    """Return ``"X.Y"`` of the interpreter at ``python``, or None if it does not run."""
    try:
        probe = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=60,
        )
    except OSError:
        return None
    return probe.stdout.strip() if probe.returncode == 0 else None


def target_interpreter(
    version: str = FC_PYTHON310.python_version, environ: Mapping[str, str] = os.environ
) -> str | None:
    """Find a CPython ``version`` to compile for: ``$FC_PYTHON``, then ``pythonX.Y``."""
    for candidate in (environ.get(FC_PYTHON_ENV, ""), f"python{version}"):
        found = shutil.which(candidate) if candidate else None
        if found and interpreter_version(found) == version:
            return found
    return None


def compile_bytecode(stage: Path, python: str) -> bool:
    """Compile every source under ``stage`` with ``python``; say whether all compiled.

    A vendored file that does not compile (a template, another Python's syntax) is left
    as source; compileall reports it and the rest still compiles.
    """
    command = [
        python, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash",
        "-s", str(stage), "-p", CODE_ROOT, str(stage),
    ]
    return subprocess.run(command, check=False).returncode == 0


def build(
    out: Path = DEFAULT_ZIP,
    *,
    host: bool = False,
    variant: str = "builtin",
    source: Path = SOURCE_DIR,
    requirements: Requirements | None = None,
) -> Path:
    """Stage code and dependencies next to ``out`` and write the zip.

    ``variant`` is ``builtin`` or ``custom`` (module docstring); ``requirements`` defaults
    to what that variant's runtime needs (:func:`deploy.vendor.requirement_files`).
    ``host=False`` vendors for FC (CPython 3.10, manylinux x86_64) through pip;
    ``host=True`` copies this interpreter's installed pins instead, offline, so a test
    can import the result with this interpreter. Bytecode is compiled for the same
    interpreter the dependencies were chosen for (see the module docstring).
    Raises ValueError for an unknown variant.
    """
    if variant not in RUNTIMES:
        raise ValueError(f"variant must be one of {sorted(RUNTIMES)}, got {variant!r}")
    if requirements is None:
        requirements = requirement_files(RUNTIMES[variant])
    stage = out.parent / (out.stem + ("-host" if host else "") + ".staging")
    if stage.exists():
        shutil.rmtree(stage)
    stage_code(source, stage, variant)
    if host:
        copy_installed(stage / VENDOR_DIR, requirements)
        python: str | None = sys.executable
    else:
        vendor_for_target(stage / VENDOR_DIR, requirements=requirements)
        python = target_interpreter()
    if python is None:
        print(
            f"warning: no CPython {FC_PYTHON310.python_version} found (set {FC_PYTHON_ENV} or put "
            f"python{FC_PYTHON310.python_version} on PATH): the zip ships sources only, and "
            "every cold start on FC will compile them",
            file=sys.stderr,
        )
    elif not compile_bytecode(stage, python):
        print("warning: some files did not compile; they ship as sources", file=sys.stderr)
    return write_zip(stage, out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--variant", choices=sorted(RUNTIMES), default="builtin",
                        help="instance model: builtin (index.handler) or custom (gunicorn)")
    parser.add_argument("--out", type=Path, help="zip to write (default: the variant's)")
    parser.add_argument(
        "--host", action="store_true",
        help="vendor this interpreter's installed pins (for tests), not the FC platform's",
    )
    args = parser.parse_args(argv)
    out = build(args.out or DEFAULT_ZIPS[args.variant], host=args.host, variant=args.variant)
    size = os.path.getsize(out)
    print(f"{out}: {size} bytes ({size / 1024 / 1024:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
