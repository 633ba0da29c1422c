"""pyright (strict on components/ and infra/, per pyproject) against the installed provider SDK types."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_components_and_infra_type_check_against_the_real_sdks() -> None:
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "pyright"), "components", "infra", "__main__.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "0 errors" in proc.stdout
