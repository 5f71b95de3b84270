"""Vendor the function's pinned runtime dependencies for the FC platform.

Owns the pip invocations that put ``requirements.txt`` into a directory the FC runtime
can import from (``vendor/``, on ``sys.path`` through ``PYTHONPATH=/code/vendor``), and
the check that no compiled module in it was built for another interpreter. Also offers a
host mode for tests: copy the already-installed, pinned distributions of the running
interpreter (no network). Depends on the standard library, pip and ``packaging`` (dev
tooling, in the project venv); must not import the function code.

Why two pip steps: ``--platform``/``--python-version`` need ``--only-binary=:all:``, but
some pinned packages (``alibabacloud-tea==0.4.3``) are published as sdists only. Step one
turns every pin into a wheel with the host's pip (pure-Python sdists become
``py3-none-any`` wheels); step two installs for the FC target from that wheelhouse plus
the index, taking only wheels whose tags fit the target. A compiled wheel built for the
host can never satisfy the target's tags, so it cannot slip in.

Runtimes: FC's built-in ``python3.10`` and the custom runtime ``custom.debian10``, whose
CPython 3.10 lives at ``/var/fc/lang/python3.10`` (FC custom runtime overview,
help.aliyun.com/document_detail/132044.html): both Debian 10 (glibc 2.28: manylinux up to
2_28), x86_64, so one target fits both. The custom runtime also gets the WSGI server
(``deploy/requirements-server.txt``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeAlias

from packaging.requirements import Requirement

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO_ROOT / "requirements.txt"
#: gunicorn, gevent and what they need: the custom-runtime variant's server.
SERVER_REQUIREMENTS = REPO_ROOT / "deploy" / "requirements-server.txt"
COMPILED_SUFFIXES = (".so", ".pyd")

Runner = Callable[[Sequence[str]], None]
#: One pinned requirements file, or several whose pins are taken together.
Requirements: TypeAlias = Path | Sequence[Path]


@dataclass(frozen=True)
class Target:
    """An interpreter and platform that wheels must fit."""

    python_version: str
    abi: str
    platforms: tuple[str, ...]

    @property
    def so_tags(self) -> tuple[str, ...]:
        """Extension-module filename tags this interpreter can load."""
        return (f"cpython-{self.python_version.replace('.', '')}-", ".abi3.")


#: FC 3.0 built-in runtime python3.10: CPython 3.10 on Debian 10 (glibc 2.28), x86_64.
FC_PYTHON310 = Target(
    python_version="3.10",
    abi="cp310",
    platforms=(
        "manylinux_2_28_x86_64",
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
    ),
)


def pinned_requirements(requirements: Path) -> list[Requirement]:
    """Return the requirements of a fully pinned file (each exactly ``==`` one version)."""
    found: list[Requirement] = []
    for line in requirements.read_text(encoding="utf-8").splitlines():
        text = line.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        requirement = Requirement(text)
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise ValueError(f"{requirements}: not an exact pin: {text!r}")
        found.append(requirement)
    return found


def is_custom_runtime(runtime: str) -> bool:
    """True for FC's custom runtimes (``custom``, ``custom.debian10`` ...), which run a server."""
    return runtime == "custom" or runtime.startswith("custom.")


def requirement_files(runtime: str) -> tuple[Path, ...]:
    """The pinned files an FC ``runtime`` needs: the function's, plus the server's if custom."""
    if is_custom_runtime(runtime):
        return (REQUIREMENTS, SERVER_REQUIREMENTS)
    return (REQUIREMENTS,)


def _files(requirements: Requirements) -> tuple[Path, ...]:
    return (requirements,) if isinstance(requirements, Path) else tuple(requirements)


def pins(requirements: Requirements, python_version: str | None = None) -> dict[str, str]:
    """Return ``{name: version}`` of the pins that apply to ``python_version``.

    ``None`` means every pin, whatever its marker. A version such as ``"3.10"`` keeps the
    pins whose environment marker holds for that Python (on this platform otherwise).
    Several files are read in order; for a given version a name pinned twice must be pinned
    alike (ValueError).
    """
    found: dict[str, str] = {}
    for requirement in (r for f in _files(requirements) for r in pinned_requirements(f)):
        if python_version is not None and requirement.marker is not None:
            environment = {"python_version": python_version, "extra": ""}
            if not requirement.marker.evaluate(environment):
                continue
        version = next(iter(requirement.specifier)).version
        if python_version is None:  # one name may be pinned per Python, under markers
            found[requirement.name] = version
        elif found.setdefault(requirement.name, version) != version:
            raise ValueError(f"{requirement.name} is pinned to two versions for Python "
                             f"{python_version}")
    return found


def wheel_command(python: str, requirements: Path, wheelhouse: Path) -> list[str]:
    """pip command that turns every pin into a wheel (sdist-only pins get built)."""
    return [
        python, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
        "--no-deps", "--requirement", str(requirements), "--wheel-dir", str(wheelhouse),
    ]


def install_command(
    python: str, requirements: Path, dest: Path, wheelhouse: Path, target: Target
) -> list[str]:
    """pip command that installs the pins for ``target`` into ``dest``."""
    command = [
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--target", str(dest),
        "--find-links", str(wheelhouse), "--only-binary=:all:",
        "--implementation", "cp", "--python-version", target.python_version,
        "--abi", target.abi, "--abi", "abi3", "--abi", "none",
    ]
    for platform in target.platforms:
        command += ["--platform", platform]
    return [*command, "--requirement", str(requirements)]


def foreign_binaries(dest: Path, target: Target) -> list[Path]:
    """Return compiled modules under ``dest`` that ``target`` cannot load."""
    return sorted(
        path
        for path in dest.rglob("*")
        if path.suffix in COMPILED_SUFFIXES
        and not any(tag in path.name for tag in target.so_tags)
        and not path.name.startswith("lib")  # bundled shared libraries, not modules
    )


def run_checked(command: Sequence[str]) -> None:
    subprocess.run(list(command), check=True)


def vendor_for_target(
    dest: Path,
    target: Target = FC_PYTHON310,
    requirements: Requirements = REQUIREMENTS,
    python: str = sys.executable,
    run: Runner = run_checked,
) -> None:
    """Install the pinned runtime dependencies for ``target`` into an emptied ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="vendor-") as scratch:
        # pip evaluates environment markers for the *running* Python even with
        # --python-version, so pins such as ``async-timeout; python_version < "3.11"``
        # are resolved for the target here and handed to pip without markers.
        flat = Path(scratch) / f"requirements-{target.abi}.txt"
        flat.write_text(
            "".join(f"{n}=={v}\n" for n, v in pins(requirements, target.python_version).items()),
            encoding="utf-8",
        )
        wheelhouse = Path(scratch) / "wheelhouse"
        run(wheel_command(python, flat, wheelhouse))
        run(install_command(python, flat, dest, wheelhouse, target))
    wrong = foreign_binaries(dest, target)
    if wrong:
        raise RuntimeError(f"compiled modules not loadable on {target.abi}: {wrong}")


def canonical(name: str) -> str:
    """Normalise a distribution name (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(names: Iterable[str]) -> dict[str, metadata.Distribution]:
    """Return the installed distributions of ``names`` and everything they require.

    Requirements whose environment markers do not hold here (extras, other Pythons or
    platforms) are left out, as pip would.
    """
    found: dict[str, metadata.Distribution] = {}
    queue = [canonical(n) for n in names]
    while queue:
        name = queue.pop()
        if name in found:
            continue
        dist = metadata.distribution(name)
        found[name] = dist
        for line in dist.requires or ():
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            queue.append(canonical(requirement.name))
    return found


def unpinned_dependencies(requirements: Requirements = REQUIREMENTS) -> list[str]:
    """Return the dependencies (as installed here) the pins pull in without pinning them."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    pinned = {canonical(n) for n in pins(requirements, here)}
    return sorted(set(dependency_closure(pinned)) - pinned)


def copy_installed(dest: Path, requirements: Requirements = REQUIREMENTS) -> None:
    """Copy the running interpreter's installed pins, and what they require, into ``dest``.

    Offline stand-in for :func:`vendor_for_target` aimed at *this* interpreter, for
    tests: pinned versions must be the installed ones, and dependencies are followed as
    pip follows them. Only files the distributions' RECORDs list under site-packages are
    copied (no scripts, no bytecode).
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    pinned = {canonical(n): v for n, v in pins(requirements, here).items()}
    for name, dist in sorted(dependency_closure(pinned).items()):
        if name in pinned and dist.version != pinned[name]:
            raise RuntimeError(
                f"{name} {dist.version} is installed, requirements pin {pinned[name]}"
            )
        for file in dist.files or ():
            relative = Path(str(file))
            if relative.parts[0] == ".." or "__pycache__" in relative.parts:
                continue
            source = Path(str(dist.locate_file(file)))
            if not source.is_file():
                # Legacy `setup.py install` records (old pip without `wheel`) can list
                # files that were never installed, such as a README beside the package.
                continue
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dest", type=Path, required=True, help="directory to fill")
    parser.add_argument(
        "--runtime", default="python3.10",
        help="the FC runtime (s.yaml's props.runtime); a custom one adds the WSGI server",
    )
    parser.add_argument(
        "--host", action="store_true",
        help="copy this interpreter's installed pins instead (tests; not for FC)",
    )
    args = parser.parse_args(argv)
    files = requirement_files(args.runtime)
    if args.host:
        copy_installed(args.dest, files)
    else:
        vendor_for_target(args.dest, requirements=files)
    print(f"vendored {len(pins(files))} pinned distributions into {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
