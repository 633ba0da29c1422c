"""What a deploy stamps on every function: the platform's version and the commit the function's package came from.

Every function gets ``APP_VERSION`` and ``GIT_COMMIT`` (``services/core/contract.py``), which the API reports on
``/health/version`` and any service can log.

- ``APP_VERSION`` is ``[project].version`` of ``pyproject.toml``. It changes when a release bumps it, and then
  every function updating once is what a release means.
- ``GIT_COMMIT`` is *not* the checkout's ``HEAD``. A function's environment is part of its configuration: if it
  held ``HEAD``, every commit (a README fix, a valuation experiment) would update every function on the next
  deploy, which replaces every warm execution environment (a cold start each), publishes a new SnapStart version
  of the API (a new snapshot, and its cache billed until Lambda retires it 14 days later) and runs the migrator
  again (its invocation is triggered by the function's configuration). The platform is built so that a deploy
  leaves an unchanged service alone (byte-identical zips, image tags from content hashes); a label must not
  undo that. So each function gets the newest commit that changed its *package*: for a zip, the shared
  ``services/core``, ``services/__init__.py`` and the service's folder; for an image, the Dockerfile's folder
  and the spec's ``image_inputs`` (exactly what its tag hashes). That commit changes exactly when the package
  can, and it names the code the function runs. With uncommitted changes in those paths it ends in ``-dirty``.

This needs the checkout's history: a shallow clone has none, so there every function gets ``HEAD`` (and a warning
says why); the deploy workflows check out with ``fetch-depth: 0``. Without git (a source archive) both are
``unknown``.
"""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from infra.image_context import context_files, ignore_file
from infra.registry import REPO_ROOT
from infra.service_spec import ServiceSpec
from services.core import contract

UNKNOWN = contract.UNKNOWN_RELEASE
_GIT_TIMEOUT_S = 30


@dataclass(frozen=True, slots=True)
class Release:
    """The version, and per service the commit of its package."""

    version: str
    commits: Mapping[str, str]

    def environment(self, service: str) -> dict[str, str]:
        """The release variables of one service's function."""
        return {contract.APP_VERSION: self.version, contract.GIT_COMMIT: self.commits.get(service, UNKNOWN)}


def package_version(repo_root: Path = REPO_ROOT) -> str:
    """``[project].version`` of the repository's ``pyproject.toml``, or ``unknown``."""
    path = repo_root / "pyproject.toml"
    try:
        project: Any = tomllib.loads(path.read_text()).get("project")
    except (OSError, tomllib.TOMLDecodeError):
        return UNKNOWN
    table: dict[str, Any] = project if isinstance(project, dict) else {}  # pyright: ignore[reportUnknownVariableType]
    version = table.get("version")
    return version if isinstance(version, str) and version else UNKNOWN


def package_paths(spec: ServiceSpec, repo_root: Path = REPO_ROOT) -> tuple[str, ...]:
    """What a service's package is built from, relative to the repository root: an image's Dockerfile, its
    allow-list and every file the allow-list admits to the build (:mod:`infra.image_context`); a zip's
    shared core and its own folder."""
    if spec.package == "image" and spec.dockerfile is not None:  # the registry requires a Dockerfile for an image
        dockerfile = repo_root / spec.dockerfile
        allow_list = ignore_file(dockerfile).relative_to(repo_root).as_posix()
        return (spec.dockerfile, allow_list, *context_files(repo_root, dockerfile))
    return ("services/__init__.py", "services/core", f"services/{spec.name}")


class _Git:
    """The few read-only git questions the release asks of a checkout (a fixed argument list, no shell)."""

    def __init__(self, repo_root: Path) -> None:
        self._root = repo_root
        self._git = shutil.which("git")

    def ask(self, *args: str) -> str | None:
        """Git's answer, stripped, or ``None`` when there is no git, no repository, or an error."""
        if self._git is None:
            return None
        try:
            done = subprocess.run(  # noqa: S603 - git by its full path, fixed arguments, no shell
                [self._git, "-C", str(self._root), *args],
                capture_output=True,
                text=True,
                check=False,
                timeout=_GIT_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None


def source_commits(specs: Sequence[ServiceSpec], repo_root: Path = REPO_ROOT) -> dict[str, str]:
    """Per service, the newest commit that changed its package (``-dirty`` with uncommitted changes there)."""
    git = _Git(repo_root)
    head = git.ask("rev-parse", "HEAD")
    if head is None:
        return dict.fromkeys((spec.name for spec in specs), UNKNOWN)
    shallow = git.ask("rev-parse", "--is-shallow-repository") == "true"
    if shallow:
        pulumi.log.warn(
            "release: the checkout is shallow, so every function gets the checkout's commit and changes on every "
            "deploy; fetch the whole history (actions/checkout with fetch-depth: 0)"
        )
    commits: dict[str, str] = {}
    for spec in specs:
        paths = package_paths(spec, repo_root)
        commit = head if shallow else (git.ask("log", "-1", "--format=%H", "--", *paths) or head)
        dirty = git.ask("status", "--porcelain", "--untracked-files=all", "--", *paths)
        commits[spec.name] = f"{commit}-dirty" if dirty else commit
    return commits


def current_release(specs: Sequence[ServiceSpec], repo_root: Path = REPO_ROOT) -> Release:
    """The release of this checkout for ``specs``."""
    return Release(version=package_version(repo_root), commits=source_commits(specs, repo_root))
