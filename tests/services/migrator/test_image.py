"""The migrator image: right base and architecture, the spec's handler, and every module it imports copied."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from services.core.schema import REPO_ROOT
from services.migrator.deploy import SPEC

DOCKERFILE = (REPO_ROOT / "services/migrator/Dockerfile").read_text()


def test_base_image_is_lambda_python_312_on_x86_64() -> None:
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12@sha256:[0-9a-f]{64}$", DOCKERFILE, re.M)
    assert SPEC.architecture == "x86_64"
    assert SPEC.dockerfile == "services/migrator/Dockerfile"


def test_cmd_is_the_spec_handler() -> None:
    assert f'CMD ["{SPEC.handler}"]' in DOCKERFILE


def test_every_imported_project_module_is_copied_into_the_image() -> None:
    probe = (
        "import json, sys; import services.migrator.handler, services.core.models;"
        "print(json.dumps(sorted(m.__file__ for m in list(sys.modules.values())"
        " if getattr(m, '__name__', '').startswith(('services', 'migrations')) and getattr(m, '__file__', None))))"
    )
    files = json.loads(subprocess.check_output([sys.executable, "-c", probe], cwd=REPO_ROOT, text=True))
    copied = [line.split()[1:-1] for line in DOCKERFILE.splitlines() if line.startswith("COPY") and "LAMBDA" in line]
    sources = [source for sources in copied for source in sources]
    for file in files:
        relative = str(Path(file).relative_to(REPO_ROOT))
        assert any(relative == s or (s.endswith("/") and relative.startswith(s)) for s in sources), relative
    assert "alembic.ini" in sources
    assert "migrations/" in sources
