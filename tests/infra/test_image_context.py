"""Each image's build context and tag: an allow-list beside every Dockerfile, read with Docker's rules; the
files it admits are exactly the files the COPY lines take; the tag hashes exactly those (so it changes when
the builder would push again, and only then); base images pinned by digest."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from infra.image_context import (
    IgnoreRules,
    ImageContextError,
    context_files,
    copied_files,
    ignore_file,
    source_tag,
)
from infra.plan import run_plan
from infra.registry import REPO_ROOT, discover
from infra.service_spec import ServiceSpec
from infra.wiring import image_platform
from infra.wiring import source_tag as spec_tag

IMAGES = [spec for spec in discover() if spec.package == "image"]
DIGEST_PINNED = re.compile(
    r"^FROM (--platform=\S+ )?public\.ecr\.aws/lambda/python:[\w.-]+@sha256:[0-9a-f]{64}( AS \w+)?$"
)


def dockerfile_of(spec: ServiceSpec) -> Path:
    assert spec.dockerfile is not None
    return REPO_ROOT / spec.dockerfile


def test_there_are_images() -> None:
    assert sorted(spec.name for spec in IMAGES) == ["migrator", "valuation"]


@pytest.mark.parametrize("spec", IMAGES, ids=lambda spec: spec.name)
def test_the_hashed_inputs_are_exactly_the_copied_files(spec: ServiceSpec) -> None:
    dockerfile = dockerfile_of(spec)
    hashed = context_files(REPO_ROOT, dockerfile)
    taken = copied_files(dockerfile, hashed)
    empty = [source for source, files in taken.items() if not files]
    assert empty == [], f"COPY sources the allow-list leaves empty: {empty}"
    copied = sorted({file for files in taken.values() for file in files})
    assert hashed == copied, f"in the context but copied by no COPY: {sorted(set(hashed) - set(copied))}"
    assert not [f for f in hashed if f.split("/")[0] in {".git", ".venv", "build", ".local", "tests"}]
    assert not [f for f in hashed if "__pycache__" in f or f.endswith(".pyc")]


@pytest.mark.parametrize("spec", IMAGES, ids=lambda spec: spec.name)
def test_base_images_are_pinned_by_digest(spec: ServiceSpec) -> None:
    froms = [line for line in dockerfile_of(spec).read_text().splitlines() if line.startswith("FROM ")]
    assert froms
    for line in froms:
        assert DIGEST_PINNED.match(line), f"not pinned by digest: {line}"


def test_the_migrator_takes_its_alembic_config() -> None:
    (migrator,) = [spec for spec in IMAGES if spec.name == "migrator"]
    hashed = context_files(REPO_ROOT, dockerfile_of(migrator))
    assert "alembic.ini" in hashed
    assert "migrations/env.py" in hashed
    assert "services/migrator/handler.py" in hashed
    assert "services/migrator/deploy.py" not in hashed  # imports infra/, which the image does not have


def test_the_matcher_follows_dockers_rules() -> None:
    rules = IgnoreRules.parse("*\n!services/valuation\nservices/valuation/training\n**/__pycache__\n!a/[bc]?.py\n")
    assert rules.admits("services/valuation/handler.py")  # a parent directory decides for its files
    assert not rules.admits("services/valuation/training/train.py")  # the last matching line wins
    assert not rules.admits("services/valuation/__pycache__/handler.cpython-312.pyc")
    assert not rules.admits("README.md")
    assert not rules.admits("services/api/app.py")
    assert rules.admits("a/b1.py")
    assert not rules.admits("a/d1.py")
    assert rules.may_admit_below("services")  # walked: an exception reaches below it
    assert rules.may_admit_below("a")
    assert not rules.may_admit_below(".git")  # never walked
    assert not rules.may_admit_below("services/valuation/training")
    assert IgnoreRules.parse("*\n!**/keep\n").may_admit_below("anything/at/all")


def _copy_image(spec: ServiceSpec, target: Path) -> Path:
    """The Dockerfile, its allow-list and the files it admits, copied into ``target`` (a context of its own)."""
    dockerfile = dockerfile_of(spec)
    for name in [*context_files(REPO_ROOT, dockerfile), str(dockerfile.relative_to(REPO_ROOT))]:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target / name)
    shutil.copy2(ignore_file(dockerfile), ignore_file(target / dockerfile.relative_to(REPO_ROOT)))
    return target / dockerfile.relative_to(REPO_ROOT)


@pytest.mark.parametrize("spec", IMAGES, ids=lambda spec: spec.name)
def test_the_tag_follows_what_the_build_receives_and_nothing_else(spec: ServiceSpec, tmp_path: Path) -> None:
    dockerfile = _copy_image(spec, tmp_path)
    platform = image_platform(spec)
    tag = source_tag(tmp_path, dockerfile, platform)
    assert tag == spec_tag(spec), "the same files elsewhere give the same tag"
    assert re.fullmatch(r"src-[0-9a-f]{16}", tag)

    # What the build never receives: the repository's history, a venv, build output, caches, other services.
    for noise in (".git/HEAD", ".venv/bin/python", "build/lambda/api.zip", "README.md", "services/api/app.py"):
        (tmp_path / noise).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / noise).write_text("changes on every CI run")
    cache = tmp_path / "services/core/__pycache__/registration.cpython-312.pyc"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"\0")
    assert source_tag(tmp_path, dockerfile, platform) == tag

    # What it does receive: any copied file's content or mode, the Dockerfile, the allow-list, the platform.
    first = tmp_path / context_files(tmp_path, dockerfile)[0]
    first.chmod(first.stat().st_mode | 0o111)
    assert source_tag(tmp_path, dockerfile, platform) != tag
    first.chmod(first.stat().st_mode & ~0o111)
    assert source_tag(tmp_path, dockerfile, platform) == tag
    with first.open("a") as handle:
        handle.write("\n")
    changed = source_tag(tmp_path, dockerfile, platform)
    assert changed != tag
    (tmp_path / "services/core/newly_copied.py").write_text("")  # services/core/ is copied whole or in part
    assert (source_tag(tmp_path, dockerfile, platform) != changed) is IgnoreRules.beside(dockerfile).admits(
        "services/core/newly_copied.py"
    )
    assert source_tag(tmp_path, dockerfile, "linux/riscv64") != source_tag(tmp_path, dockerfile, platform)


def test_a_missing_allow_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY . /\n")
    with pytest.raises(ImageContextError, match=r"Dockerfile\.dockerignore: missing"):
        context_files(tmp_path, tmp_path / "Dockerfile")


def test_folders_outside_the_allow_list_are_not_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big or private folders in the clone (.git, a PostgreSQL data directory owned by another user) are not
    entered: a folder no line can let anything in from is pruned."""
    (tmp_path / "Dockerfile").write_text("FROM scratch\nCOPY app/ /app/\n")
    (tmp_path / "Dockerfile.dockerignore").write_text("*\n!app\napp/secret\n")
    for name in ("app/main.py", "app/secret/key.pem", ".local/postgres/data/pg_control", ".git/HEAD"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    walked: list[str] = []
    real_walk = os.walk

    def recording_walk(top: Path) -> object:
        for folder, dirs, names in real_walk(top):
            walked.append(Path(folder).relative_to(tmp_path).as_posix())
            yield folder, dirs, names

    monkeypatch.setattr("infra.image_context.os.walk", recording_walk)
    assert context_files(tmp_path, tmp_path / "Dockerfile") == ["app/main.py"]
    assert walked == [".", "app"]


def test_the_plan_tags_each_image_with_its_source_tag() -> None:
    images = {r.name: r for r in run_plan("dev-demo") if r.type == "docker:index/image:Image"}
    for spec in IMAGES:
        image = images[f"{spec.name}-image"]
        assert image.inputs["imageName"].endswith(f":{spec_tag(spec)}")
        build = image.inputs["build"]
        assert Path(build["context"]) == REPO_ROOT
        assert os.path.samefile(build["dockerfile"], dockerfile_of(spec))
        assert build["platform"] == image_platform(spec)
