"""Deploy-time Lambda zip artifacts: dependencies for the Lambda runtime, the service's code, deterministic.

`pulumi up` calls :func:`lambda_code` for every ``zip`` service. The archive holds:

- the service's pinned runtime dependencies (``services/<name>/requirements.txt``), installed by pip for
  Lambda's CPython 3.12 on the service's architecture from binary wheels only, so nothing is compiled
  for the build machine by mistake;
- ``services/__init__.py``, ``services/core/`` and ``services/<name>/``, without ``deploy.py``, tests,
  requirements files, Dockerfiles or caches (the deploy spec imports ``infra``, which is not shipped);
- byte-code for CPython 3.12 beside every source file, when a 3.12 interpreter is at hand.

Why byte-code needs a 3.12 interpreter: a ``.pyc`` holds marshalled code objects whose bytecode changes
with every minor Python version, so ``compileall`` on 3.11 writes ``cpython-311`` files that Lambda's 3.12
ignores. Instead the build runs ``compileall`` *under a real 3.12* (the interpreter running the program
if it is 3.12, else ``python3.12`` on ``PATH`` or a pyenv-installed 3.12). It writes ``unchecked-hash``
pycs (no source timestamp inside, never re-validated: the zip is immutable) whose embedded file names are
rewritten to ``/var/task/...``, so they do not depend on where the build ran. Without a 3.12 the zip ships
sources only (Lambda then compiles in memory at each cold start; ``/var/task`` is read-only) and the
build says so; the compile mode is part of the cache key, so each mode is deterministic on its own.

Determinism: entries sorted by path, every timestamp 1980-01-01, permissions 0644, no directory entries,
no pip console scripts (their shebangs name the build machine's interpreter), deflate at a fixed level.
The same inputs give a byte-identical zip, hence the same ``source_code_hash``, so an unchanged service
never updates (on the same toolchain: another zlib may deflate differently, another 3.12 patch release may
compile differently, and a change of either makes one update, after which the hash is stable again).

Builds are cached under ``build/lambda/`` by a hash of every input (requirements, target platform,
compiler, source files), and the compiled dependency install by the hash of its own inputs, so a
code-only change re-zips without touching the registry.

Under the SDK's mocks (the offline plan, the tests) nothing is built: :func:`lambda_code` returns a
small placeholder archive and no hash.
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import get_monitor

from infra.service_spec import Architecture, ServiceSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BUILD_DIR = REPO_ROOT / "build" / "lambda"

LAMBDA_PYTHON = "3.12"
LAMBDA_TASK_ROOT = "/var/task"
LAMBDA_MAX_UNZIPPED_BYTES = 250 * 1024 * 1024
"""Lambda's hard limit on a function's unzipped deployment package (layers included)."""

FORMAT_VERSION = "reggie-lambda-zip/2"
"""Bump when the archive layout or the build recipe changes, so every cache key changes with it."""

PLATFORMS: dict[Architecture, tuple[str, ...]] = {
    # Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux2014 and manylinux_2_28 both load.
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}

FORBIDDEN_DISTRIBUTIONS = frozenset(
    {"pytest", "hypothesis", "ruff", "pyright", "moto", "pip", "setuptools", "wheel", "pip-tools", "schemathesis"}
)
"""Test and build tools that must never reach a function: finding one fails the build."""

_EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "test", ".pytest_cache", ".ruff_cache", ".mypy_cache"})
_EXCLUDED_FILES = frozenset({"deploy.py", "Dockerfile", ".dockerignore", "conftest.py"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_ZIP_FILE_MODE = 0o100644 << 16
_ZIP_LEVEL = 6


class ArtifactError(RuntimeError):
    """A Lambda artifact could not be built; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class ZipArtifact:
    """A built Lambda zip."""

    path: Path
    sha256_b64: str
    """Base64 of the zip's SHA-256, the form Lambda's ``source_code_hash`` takes."""
    unzipped_bytes: int
    compiled: bool
    """Whether CPython 3.12 byte-code ships beside the sources."""


@dataclass(frozen=True, slots=True)
class LambdaCode:
    """What the wiring hands to ``aws.lambda_.Function(code=..., source_code_hash=...)``."""

    archive: pulumi.Archive
    source_code_hash: str | None
    """``None`` when the build was skipped (under mocks)."""


# --------------------------------------------------------------------------------------------- inputs


def service_sources(spec: ServiceSpec, repo_root: Path = REPO_ROOT) -> list[tuple[str, Path]]:
    """The code files the zip ships, as ``(archive path, file)`` pairs sorted by archive path."""
    services = repo_root / "services"
    service_dir = services / spec.name
    if not service_dir.is_dir():
        raise ArtifactError(f"service {spec.name!r}: no folder {service_dir.relative_to(repo_root)}")
    roots = [services / "core", service_dir]
    found: dict[str, Path] = {}
    init = services / "__init__.py"
    if init.is_file():
        found["services/__init__.py"] = init
    for root in roots:
        for path in _walk(root):
            found[path.relative_to(repo_root).as_posix()] = path
    handler_module = spec.handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
    if handler_module not in found:
        raise ArtifactError(
            f"service {spec.name!r}: handler {spec.handler!r} needs {handler_module}, which does not exist"
        )
    _check_imports(spec, found)
    return sorted(found.items())


def _check_imports(spec: ServiceSpec, sources: dict[str, Path]) -> None:
    """Fail when shipped code imports repository code the zip does not carry (another service, ``infra``)."""
    shipped = {"core", spec.name}
    for name, path in sources.items():
        if not name.endswith(".py"):
            continue
        for node in ast.walk(ast.parse(path.read_bytes(), filename=name)):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "infra" or (parts[0] == "services" and len(parts) > 1 and parts[1] not in shipped):
                    raise ArtifactError(
                        f"{name}:{node.lineno} imports {module}, which the {spec.name!r} zip does not ship "
                        "(it carries services/core and its own folder only)"
                    )


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _EXCLUDED_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            if _shipped_source(filename):
                yield Path(dirpath) / filename


def _shipped_source(filename: str) -> bool:
    if filename in _EXCLUDED_FILES or filename.endswith(_EXCLUDED_SUFFIXES) or filename.startswith("."):
        return False
    return not (filename.startswith("requirements") and filename.endswith((".in", ".txt")))


def requirements_file(spec: ServiceSpec, repo_root: Path = REPO_ROOT) -> Path:
    """The service's pinned runtime requirements, ``services/<name>/requirements.txt``."""
    path = repo_root / "services" / spec.name / "requirements.txt"
    if not path.is_file():
        raise ArtifactError(
            f"service {spec.name!r}: {path.relative_to(repo_root)} is missing; list the runtime dependencies in "
            "requirements.in beside it and run `make lock`"
        )
    return path


# ------------------------------------------------------------------------------------------ compiler


def find_python(version: str = LAMBDA_PYTHON) -> Path | None:
    """A CPython interpreter of exactly ``version`` (``"3.12"``) to byte-compile with, or ``None``.

    Tried in order: the running interpreter, ``python<version>`` on ``PATH``, pyenv's installed versions.
    Each candidate is asked for its version, because a pyenv shim can exist without a usable interpreter.
    """
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return Path(sys.executable)
    candidates: list[Path] = []
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(Path(on_path))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates.extend(sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}"), reverse=True))
    for candidate in candidates:
        if _python_version(candidate) == version:
            return candidate
    return None


def _python_version(python: Path) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def _compiler_id(python: Path | None) -> str:
    """The compiler's full version (part of the cache key), or ``source`` when shipping sources only."""
    if python is None:
        return "source"
    done = subprocess.run(  # noqa: S603
        [str(python), "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


_COMPILE_SCRIPT = """
import compileall, py_compile, sys
ok = compileall.compile_dir(sys.argv[1], quiet=2, stripdir=sys.argv[1], prependdir=sys.argv[2], workers=1,
                            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print("ok" if ok else "partial")
"""


def _byte_compile(python: Path, tree: Path) -> None:
    """Write a cpython-312 pyc beside every source under ``tree``, reproducibly.

    One process, files in sorted order (compileall sorts), a fixed hash seed: marshal's output depends on
    the compiling process's state (which constants are shared, set iteration order), so parallel workers
    that each compile a different share of the files, or a random seed, can make two builds of the same
    tree differ in a few bytes. Files a dependency ships for other Python versions may fail to compile:
    they stay source-only, as they would fail to import anyway.
    """
    subprocess.run(  # noqa: S603
        [str(python), "-c", _COMPILE_SCRIPT, str(tree), LAMBDA_TASK_ROOT],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


# ---------------------------------------------------------------------------------------------- build


def _digest(parts: Iterable[bytes]) -> str:
    sha = hashlib.sha256()
    for part in parts:
        sha.update(len(part).to_bytes(8, "big"))
        sha.update(part)
    return sha.hexdigest()


def _install_dependencies(
    requirements: Path, architecture: Architecture, cache_dir: Path, compiler: Path | None
) -> Path:
    """Install ``requirements`` for Lambda's runtime (byte-compiled when ``compiler`` is given) into a cached
    folder named by its inputs; return it. Code-only changes reuse it, compiled, as it is."""
    platforms = [platform.encode() for platform in PLATFORMS[architecture]]
    compiled_by = _compiler_id(compiler).encode()
    key = _digest([FORMAT_VERSION.encode(), LAMBDA_PYTHON.encode(), *platforms, compiled_by, requirements.read_bytes()])
    target = cache_dir / "deps" / f"{architecture}-{key[:24]}"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]
        command += ["--no-compile", "--no-warn-script-location", "--target", str(staging)]
        for platform in PLATFORMS[architecture]:
            command += ["--platform", platform]
        command += ["--only-binary=:all:", "--python-version", LAMBDA_PYTHON, "--implementation", "cp"]
        command += ["--requirement", str(requirements)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise ArtifactError(
                f"pip could not install {requirements.name} for Lambda (CPython {LAMBDA_PYTHON}, {architecture}):\n"
                + (done.stderr.strip() or done.stdout.strip())
            )
        # Console scripts carry the build machine's interpreter in their shebang and are never run on Lambda.
        shutil.rmtree(staging / "bin", ignore_errors=True)
        _check_no_forbidden(staging)
        if compiler is not None:
            _byte_compile(compiler, staging)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # not a concurrent build that got there first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def installed_distributions(tree: Path) -> set[str]:
    """Normalised names of the distributions installed in ``tree`` (from their ``.dist-info`` folders)."""
    names: set[str] = set()
    for info in tree.glob("*.dist-info"):
        names.add(info.name.removesuffix(".dist-info").rsplit("-", 1)[0].replace("_", "-").replace(".", "-").lower())
    return names


def _check_no_forbidden(tree: Path) -> None:
    leaked = sorted(installed_distributions(tree) & FORBIDDEN_DISTRIBUTIONS)
    if leaked:
        raise ArtifactError(f"test or build tools in a Lambda's runtime dependencies: {', '.join(leaked)}")


def _files_under(tree: Path) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if filename.endswith(_EXCLUDED_SUFFIXES) and "__pycache__" not in path.parts:
                continue
            files.append((path.relative_to(tree).as_posix(), path))
    return files


def _write_zip(entries: Sequence[tuple[str, Path]], destination: Path) -> int:
    """Write a reproducible zip of ``entries`` (already unique); return the unzipped size in bytes."""
    total = 0
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL) as archive:
        for name, path in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = _ZIP_FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode above is read as one on every platform
            data = path.read_bytes()
            total += len(data)
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=_ZIP_LEVEL)
    return total


def _sha256_b64(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return base64.b64encode(sha.digest()).decode("ascii")


def build_zip(
    spec: ServiceSpec,
    *,
    repo_root: Path = REPO_ROOT,
    build_dir: Path = DEFAULT_BUILD_DIR,
    requirements: Path | None = None,
    python: Path | bool | None = True,
) -> ZipArtifact:
    """Build (or reuse from the cache) the Lambda zip of a ``zip`` service.

    ``requirements`` overrides ``services/<name>/requirements.txt``; ``python`` is the CPython 3.12 to
    byte-compile with (``True``: find one, ``False``/``None``: ship sources only).
    """
    if spec.package != "zip":
        raise ArtifactError(f"service {spec.name!r} is packaged as {spec.package!r}, not as a zip")
    requirements = requirements if requirements is not None else requirements_file(spec, repo_root)
    compiler = find_python() if python is True else (python or None)
    sources = service_sources(spec, repo_root)
    key = _digest(
        [FORMAT_VERSION.encode(), spec.architecture.encode(), LAMBDA_PYTHON.encode(), _compiler_id(compiler).encode()]
        + [requirements.read_bytes()]
        + [part for name, path in sources for part in (name.encode(), path.read_bytes())]
    )
    build_dir.mkdir(parents=True, exist_ok=True)
    destination = build_dir / f"{spec.name}-{spec.architecture}-{key[:24]}.zip"
    if not destination.is_file():
        deps = _install_dependencies(requirements, spec.architecture, build_dir, compiler)
        _assemble(sources, deps, compiler, destination)
    with zipfile.ZipFile(destination) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    if unzipped > LAMBDA_MAX_UNZIPPED_BYTES:
        raise ArtifactError(
            f"service {spec.name!r}: {unzipped / 2**20:.0f} MiB unzipped, over Lambda's 250 MiB limit; "
            "trim its requirements or package it as an image"
        )
    return ZipArtifact(destination, _sha256_b64(destination), unzipped, compiler is not None)


def _assemble(sources: Sequence[tuple[str, Path]], deps: Path, compiler: Path | None, destination: Path) -> None:
    """Zip the (cached, already compiled) dependencies with the service's sources, compiled here."""
    with tempfile.TemporaryDirectory(prefix=destination.stem + ".", dir=destination.parent) as scratch:
        code = Path(scratch) / "task"
        for name, path in sources:
            if (deps / name).exists():
                raise ArtifactError(f"{name} is shipped both by a dependency and by the service's code")
            (code / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, code / name)
        if compiler is not None:
            _byte_compile(compiler, code)
        partial = Path(scratch) / destination.name
        _write_zip([*_files_under(deps), *_files_under(code)], partial)
        partial.replace(destination)  # atomic: a cached zip is always complete


# ----------------------------------------------------------------------------------------- pulumi side


def under_mocks() -> bool:
    """Whether the program runs under ``pulumi.runtime.set_mocks`` (the offline plan and the tests).

    Not ``is_dry_run()``: a real ``pulumi preview`` builds, so the preview shows whether the code changed.
    """
    return isinstance(get_monitor(), MockMonitor)


def lambda_code(spec: ServiceSpec, *, build: bool | None = None, **options: Path) -> LambdaCode:
    """The code of a ``zip`` service for ``aws.lambda_.Function``: the built archive and its hash.

    ``build=None`` builds unless under mocks; ``build=False`` returns a placeholder archive and no hash.
    ``options`` pass through to :func:`build_zip` (``repo_root``, ``build_dir``, ``requirements``).
    """
    if spec.package != "zip":
        raise ArtifactError(f"service {spec.name!r} is packaged as {spec.package!r}, not as a zip")
    if not (build if build is not None else not under_mocks()):
        placeholder = pulumi.StringAsset(f"{spec.name}: built by `pulumi up`, not by the offline plan\n")
        return LambdaCode(pulumi.AssetArchive({"NOT_BUILT.txt": placeholder}), None)
    artifact = build_zip(spec, **options)
    return LambdaCode(pulumi.FileArchive(str(artifact.path)), artifact.sha256_b64)


def lambda_archive(spec: ServiceSpec, *, build: bool | None = None) -> pulumi.Archive:
    """Just the archive of :func:`lambda_code`, for callers that do not set ``source_code_hash``."""
    return lambda_code(spec, build=build).archive
