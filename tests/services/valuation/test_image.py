"""The valuation image: Lambda Python 3.12 arm64 base, the spec's handler, a build context that is
the runtime folder without training (held to the Dockerfile's COPYs by tests/infra/test_image_context.py,
with Docker's own matching rules), and a runtime that values a mark with training and the heavy libraries
unimportable."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from infra.image_context import IgnoreRules, context_files
from services.valuation.deploy import SPEC

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = (REPO / "services/valuation/Dockerfile").read_text()
TRAINING_ONLY = ("services.valuation.training", "lightgbm", "pandas", "sklearn", "scipy", "matplotlib", "faker")
NOT_IN_IMAGE = (*TRAINING_ONLY, "sqlalchemy", "litestar")
FIRST_LOOKUP_ONLY = ("psycopg", "boto3", "botocore")
"""In the image, but loaded by the first comparables lookup, never at cold start."""


def _in_context(path: str) -> bool:
    """Whether ``path`` (relative to the repository) reaches the build, by Docker's rules."""
    return IgnoreRules.beside(REPO / "services/valuation/Dockerfile").admits(path)


def test_base_image_and_handler() -> None:
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12-arm64@sha256:[0-9a-f]{64}$", DOCKERFILE, re.M)
    assert SPEC.architecture == "arm64"
    assert SPEC.package == "image"
    assert SPEC.memory_mb == 1536
    assert f'CMD ["{SPEC.handler}"]' in DOCKERFILE
    assert "COPY services/valuation/ ${LAMBDA_TASK_ROOT}/services/valuation/" in DOCKERFILE


def test_the_context_is_the_runtime_without_training() -> None:
    """tests/infra/test_image_context.py holds the allow-list to the COPY lines; here, what that leaves in."""
    context = context_files(REPO, REPO / "services/valuation/Dockerfile")
    assert "services/valuation/handler.py" in context
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
from services.valuation import handler as module
at_init = sorted(sys.modules)
assert module.sales is not None  # deployed with a database: the reader is ready, not connected
module.sales = None  # value without it (the database here does not exist)
answer = module.handler({{"registrations": ["AB12 CDE", "1 A"]}})
assert [r["registration"] for r in answer["results"]] == ["AB12 CDE", "1 A"], answer
assert all(r["price"] > 0 for r in answer["results"]), answer
files = sorted(m.__file__ for m in list(sys.modules.values())
               if getattr(m, "__name__", "").startswith("services") and getattr(m, "__file__", None))
from services.core.settings import get_settings
roots = get_settings().database.ca_file  # the RDS roots its connections verify the database against
print(json.dumps({{"files": [*files, roots], "modules": sorted(sys.modules), "at_init": at_init}}))
"""

LAMBDA_ENVIRONMENT = {
    # What the database link gives the function (its role; a token is signed by the first lookup, not here),
    # and the region Lambda sets.
    "STAGE": "dev-test",
    "SERVICE_NAME": "valuation",
    "DB_HOST": "db.invalid",
    "DB_PORT": "5432",
    "DB_NAME": "reggie",
    "DB_USER": "reggie_valuation",
    "AWS_REGION": "eu-west-2",
}


def test_the_handler_values_marks_with_training_unimportable() -> None:
    probe = _PROBE.format(blocked=NOT_IN_IMAGE)
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | LAMBDA_ENVIRONMENT
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False, env=environment
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for file in found["files"]:  # every module the runtime loads, and the RDS roots, reach the image
        assert _in_context(str(Path(file).relative_to(REPO))), file
    loaded = [m for m in found["modules"] if any(m == b or m.startswith(b + ".") for b in NOT_IN_IMAGE)]
    assert loaded == []
    at_init = [m for m in found["at_init"] if any(m == b or m.startswith(b + ".") for b in FIRST_LOOKUP_ONLY)]
    assert at_init == [], "the cold start loads no database driver and no AWS SDK"


def test_the_runtime_requirements_are_pinned_and_lean() -> None:
    declared = (REPO / "services/valuation/requirements.in").read_text().splitlines()
    assert [line for line in declared if line and not line.startswith("#")] == [
        "boto3",
        "msgspec",
        "numpy",
        "psycopg[binary]",
    ]
    pinned = (REPO / "services/valuation/requirements.txt").read_text()
    for package in ("msgspec", "numpy", "psycopg", "psycopg-binary", "boto3"):
        assert re.search(rf"^{package}==\S+ \\$", pinned, re.M), package
    assert not re.search(r"^(sqlalchemy|lightgbm|pandas)==", pinned, re.M | re.I)
