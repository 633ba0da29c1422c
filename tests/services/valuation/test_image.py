"""The valuation image: Lambda Python 3.12 arm64 base, the spec's handler, every runtime module and
artifact file copied, and a runtime that imports neither LightGBM nor pandas, scikit-learn or scipy."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from services.valuation.deploy import SPEC

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = (REPO / "services/valuation/Dockerfile").read_text()
HEAVY = ("lightgbm", "pandas", "sklearn", "scipy", "matplotlib")


def _copied_sources() -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    copies = [line.split()[1:-1] for line in joined.splitlines() if line.startswith("COPY") and "LAMBDA" in line]
    return [source for sources in copies for source in sources]


def test_base_image_and_handler() -> None:
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.12-arm64$", DOCKERFILE, re.M)
    assert SPEC.architecture == "arm64"
    assert SPEC.package == "image"
    assert SPEC.memory_mb == 1536
    assert f'CMD ["{SPEC.handler}"]' in DOCKERFILE


def test_runtime_imports_are_copied_and_light() -> None:
    probe = (
        "import json, sys; from services.valuation.handler import handler;"
        "assert handler({'registration': 'AB12 CDE'})['price'] > 0;"
        "print(json.dumps({'files': sorted(m.__file__ for m in list(sys.modules.values())"
        " if getattr(m, '__name__', '').startswith('services') and getattr(m, '__file__', None)),"
        " 'modules': sorted(sys.modules)}))"
    )
    found = json.loads(subprocess.check_output([sys.executable, "-c", probe], cwd=REPO, text=True))
    sources = _copied_sources()
    for file in found["files"]:
        relative = str(Path(file).relative_to(REPO))
        assert relative in sources, relative
    heavy = [m for m in found["modules"] if m.split(".")[0] in HEAVY]
    assert heavy == []


def test_artifact_files_are_copied_and_small() -> None:
    artifact = [s for s in _copied_sources() if "/artifact/" in s]
    assert {Path(s).name for s in artifact} == {"metadata.json", "learned.json", "learned.npz", "forest.npz"}
    total = sum((REPO / s).stat().st_size for s in artifact)
    assert total < 3 * 2**20
    requirements = (REPO / "services/valuation/requirements.in").read_text().split("\n")
    assert [line for line in requirements if line and not line.startswith("#")] == ["numpy"]
