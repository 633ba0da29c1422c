"""The release on every function: the package version, and per function the newest commit that changed its
package, so a commit that leaves a function's package alone leaves its configuration alone. Checked on real
git repositories made for the test (``tests/infra/test_stack.py`` checks this repository's plan)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.release import UNKNOWN, current_release, package_paths, package_version, source_commits
from infra.service_spec import ServiceSpec

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")  # git is part of the toolchain

ZIP = ServiceSpec(name="api", package="zip", handler="services.api.handler.handler")
IMAGE = ServiceSpec(
    name="model",
    package="image",
    handler="services.model.handler.handler",
    dockerfile="services/model/Dockerfile",
)
MODEL_ALLOW_LIST = "*\n!services/__init__.py\n!services/core/wire.py\n!services/model/handler.py\n"
"""What the model image's build receives besides its Dockerfile (its Dockerfile.dockerignore)."""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env={**os.environ, **GIT_ENV}
    )
    return done.stdout.strip()


def write(repo: Path, path: str, text: str) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text)


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    write(root, "pyproject.toml", '[project]\nname = "x"\nversion = "2.3.4"\n')
    write(root, "services/__init__.py", "")
    write(root, "services/core/settings.py", "A = 1\n")
    write(root, "services/core/wire.py", "W = 1\n")
    write(root, "services/api/handler.py", "def handler(e, c): return 1\n")
    write(root, "services/model/Dockerfile", "FROM scratch\n")
    write(root, "services/model/Dockerfile.dockerignore", MODEL_ALLOW_LIST)
    write(root, "services/model/handler.py", "def handler(e, c): return 2\n")
    write(root, "README.md", "hello\n")
    return root


def test_each_function_gets_the_newest_commit_of_its_own_package(repo: Path) -> None:
    first = commit(repo, "first")
    assert source_commits([ZIP, IMAGE], repo) == {"api": first, "model": first}

    write(repo, "README.md", "hello again\n")  # neither package: neither function changes
    commit(repo, "docs")
    assert source_commits([ZIP, IMAGE], repo) == {"api": first, "model": first}

    write(repo, "services/api/handler.py", "def handler(e, c): return 3\n")
    api_change = commit(repo, "api")
    assert source_commits([ZIP, IMAGE], repo) == {"api": api_change, "model": first}

    write(repo, "services/core/settings.py", "A = 2\n")  # the zip ships all of core; the image copies wire.py only
    core_change = commit(repo, "core")
    assert source_commits([ZIP, IMAGE], repo) == {"api": core_change, "model": first}

    write(repo, "services/core/wire.py", "W = 2\n")
    wire_change = commit(repo, "wire")
    assert source_commits([ZIP, IMAGE], repo) == {"api": wire_change, "model": wire_change}


def test_uncommitted_changes_mark_only_the_packages_they_touch(repo: Path) -> None:
    head = commit(repo, "first")
    write(repo, "services/model/handler.py", "def handler(e, c): return 9\n")
    assert source_commits([ZIP, IMAGE], repo) == {"api": head, "model": f"{head}-dirty"}
    git(repo, "checkout", "--", "services/model/handler.py")
    write(repo, "services/api/new_module.py", "X = 1\n")  # not yet added, but the zip would ship it
    assert source_commits([ZIP, IMAGE], repo) == {"api": f"{head}-dirty", "model": head}


def test_a_shallow_checkout_gives_every_function_its_head(repo: Path, tmp_path: Path) -> None:
    commit(repo, "first")
    write(repo, "services/api/handler.py", "def handler(e, c): return 3\n")
    head = commit(repo, "api")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow)],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    # without history the model's own commit cannot be found: HEAD (and a warning), never a wrong older one
    assert source_commits([ZIP, IMAGE], shallow) == {"api": head, "model": head}


def test_without_git_history_the_release_is_unknown(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[project]\nname = "x"\nversion = "1.0.0"\n')
    release = current_release([ZIP, IMAGE], tmp_path)
    assert release.version == "1.0.0"
    assert release.environment("api") == {"APP_VERSION": "1.0.0", "GIT_COMMIT": UNKNOWN}
    assert package_version(tmp_path / "nowhere") == UNKNOWN


def test_package_paths_are_what_the_package_is_built_from(repo: Path) -> None:
    assert package_paths(ZIP, repo) == ("services/__init__.py", "services/core", "services/api")
    assert package_paths(IMAGE, repo) == (
        "services/model/Dockerfile",
        "services/model/Dockerfile.dockerignore",
        "services/__init__.py",
        "services/core/wire.py",
        "services/model/handler.py",
    )
