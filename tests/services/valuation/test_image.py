"""The valuation image: Lambda Python 3.12 arm64 base, the spec's handler, a build context that is
the runtime folder without training (checked against the Dockerfile's COPYs with Docker's own
matching rules), and a runtime that values a mark with training and the heavy libraries unimportable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

from services.valuation.deploy import SPEC

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = (REPO / "services/valuation/Dockerfile").read_text()
DOCKERIGNORE = REPO / "services/valuation/Dockerfile.dockerignore"
TRAINING_ONLY = ("services.valuation.training", "lightgbm", "pandas", "sklearn", "scipy", "matplotlib", "faker")
NOT_IN_IMAGE = (*TRAINING_ONLY, "sqlalchemy", "litestar", "boto3", "botocore")
SKIPPED_DIRS = {".git", ".venv", "node_modules", ".pytest_cache", ".ruff_cache", ".hypothesis", ".local", "build"}


def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore line as moby's patternmatcher reads it: ``**`` any number of directories,
    ``*`` and ``?`` never across ``/``, matched against the whole cleaned path."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob.startswith("**", i):
            out, i = out + ".*", i + 2
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


@cache
def _rules() -> tuple[tuple[bool, re.Pattern[str]], ...]:
    """(is_exception, pattern) per line, in order."""
    rules: list[tuple[bool, re.Pattern[str]]] = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exception = line.startswith("!")
        rules.append((exception, _pattern(os.path.normpath(line.lstrip("!").strip()).lstrip("/"))))
    return tuple(rules)


def _in_context(path: str) -> bool:
    """Whether ``path`` (relative to the repository) reaches the build: the last line matching the
    path or one of its parent directories decides, as in Docker."""
    parents = [str(Path(*Path(path).parts[:n])) for n in range(1, len(Path(path).parts) + 1)]
    included = True
    for exception, pattern in _rules():
        if any(pattern.fullmatch(p) for p in parents):
            included = exception
    return included


def _repository_files() -> list[str]:
    files: list[str] = []
    for root, dirs, names in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and d != "__pycache__"]
        files += [str((Path(root) / n).relative_to(REPO)) for n in names]
    return files


def _copy_sources() -> list[str]:
    """Sources of the COPY lines that put files in the task root."""
    joined = DOCKERFILE.replace("\\\n", " ")
    copies = [line.split()[1:-1] for line in joined.splitlines() if line.startswith("COPY") and "LAMBDA" in line]
    return [source for sources in copies for source in sources]


def test_base_image_and_handler() -> None:
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12-arm64$", DOCKERFILE, re.M)
    assert SPEC.architecture == "arm64"
    assert SPEC.package == "image"
    assert SPEC.memory_mb == 1536
    assert f'CMD ["{SPEC.handler}"]' in DOCKERFILE
    assert "COPY services/valuation/ ${LAMBDA_TASK_ROOT}/services/valuation/" in DOCKERFILE


def test_the_matcher_follows_dockers_rules() -> None:
    """The reading of the ignore file itself: parents decide for their files, the last line wins."""
    assert _pattern("services/valuation").fullmatch("services/valuation")
    assert not _pattern("services/*").fullmatch("services/valuation/handler.py")
    assert _pattern("**/__pycache__").fullmatch("services/valuation/__pycache__")
    assert _pattern("**/__pycache__").fullmatch("__pycache__")
    assert _in_context("services/valuation/handler.py")
    assert not _in_context("services/valuation/training/train.py")
    assert not _in_context("services/valuation/__pycache__/handler.cpython-312.pyc")
    assert not _in_context("README.md")
    assert not _in_context("services/api/app.py")


def test_the_allow_list_admits_exactly_what_the_dockerfile_copies() -> None:
    context = [f for f in _repository_files() if _in_context(f)]
    sources = _copy_sources()
    for source in sources:  # every COPY finds its files in the context
        assert any(f == source or f.startswith(source) for f in context), f"COPY {source} finds nothing"
    taken = [*sources, "services/valuation/requirements.txt"]  # the requirements go to /tmp
    for file in context:  # nothing reaches the context that no COPY takes
        assert any(file == s or file.startswith(s) for s in taken), file
    assert not [f for f in context if f.startswith("services/valuation/training/")]
    assert "services/valuation/artifact/model.txt" not in context
    assert "services/valuation/deploy.py" not in context
    artifact = [f for f in context if f.startswith("services/valuation/artifact/")]
    assert {Path(f).name for f in artifact} == {"metadata.json", "learned.json", "learned.npz", "forest.npz"}
    assert sum((REPO / f).stat().st_size for f in artifact) < 3 * 2**20


_PROBE = """
import importlib.abc, json, sys

class Unimportable(importlib.abc.MetaPathFinder):
    # What the image does not have: training, the heavy libraries and the API's dependencies.
    def find_spec(self, name, path=None, target=None):
        if any(name == m or name.startswith(m + ".") for m in {blocked!r}):
            raise ImportError(f"{{name}} is not in the valuation image")
        return None

sys.meta_path.insert(0, Unimportable())
from services.valuation.handler import handler
answer = handler({{"registrations": ["AB12 CDE", "1 A"]}})
assert [r["registration"] for r in answer["results"]] == ["AB12 CDE", "1 A"], answer
assert all(r["price"] > 0 for r in answer["results"]), answer
files = sorted(m.__file__ for m in list(sys.modules.values())
               if getattr(m, "__name__", "").startswith("services") and getattr(m, "__file__", None))
print(json.dumps({{"files": files, "modules": sorted(sys.modules)}}))
"""


def test_the_handler_values_marks_with_training_unimportable() -> None:
    probe = _PROBE.format(blocked=NOT_IN_IMAGE)
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for file in found["files"]:  # every module the runtime loads reaches the image
        assert _in_context(str(Path(file).relative_to(REPO))), file
    loaded = [m for m in found["modules"] if any(m == b or m.startswith(b + ".") for b in NOT_IN_IMAGE)]
    assert loaded == []


def test_the_runtime_requirements_are_numpy_and_msgspec_pinned() -> None:
    declared = (REPO / "services/valuation/requirements.in").read_text().splitlines()
    assert [line for line in declared if line and not line.startswith("#")] == ["msgspec", "numpy"]
    pinned = (REPO / "services/valuation/requirements.txt").read_text()
    assert re.search(r"^msgspec==\S+ \\$", pinned, re.M)
    assert re.search(r"^numpy==\S+ \\$", pinned, re.M)
