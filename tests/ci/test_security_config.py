"""The security scans' own files: the bandit baseline and its review, bandit failing on a new finding, the
gitleaks allow-list, and the pip-audit tool's pins."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECURITY = REPO / ".github" / "security"
SCANNED = ("components", "infra", "services", "scripts")


def test_every_baseline_finding_was_reviewed() -> None:
    findings = json.loads((SECURITY / "bandit-baseline.json").read_text())["results"]
    assert findings, "the baseline lists the reviewed findings"
    rows = [line for line in (SECURITY / "README.md").read_text().splitlines() if line.startswith("| B")]
    unreviewed = sorted(
        {
            (f["test_id"], f["filename"])
            for f in findings
            if not any(f["test_id"] in row and f"`{f['filename']}`" in row for row in rows)
        }
    )
    assert not unreviewed, f"add a row to .github/security/README.md saying why each is accepted: {unreviewed}"
    assert all(f["filename"].split("/")[0] in SCANNED for f in findings)


def test_lint_runs_bandit_against_the_baseline() -> None:
    plan = subprocess.run(
        ["make", "--dry-run", "--always-make", "lint"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    bandit = next(line for line in plan.splitlines() if "bin/bandit" in line)
    assert "-b .github/security/bandit-baseline.json" in bandit
    assert all(f" {tree} " in bandit for tree in SCANNED)


def _copy_for_bandit(target: Path) -> None:
    """What `make bandit` reads, at the same relative paths (the baseline names files by them)."""
    ignore = shutil.ignore_patterns("__pycache__", "venv")
    for tree in SCANNED:
        shutil.copytree(REPO / tree, target / tree, ignore=ignore)
    for name in ("Makefile", "requirements-dev.txt"):
        shutil.copy2(REPO / name, target / name)
    (target / ".github").mkdir()
    shutil.copytree(SECURITY, target / ".github" / "security")
    (target / ".venv").symlink_to(Path(sys.prefix))  # installed from this requirements-dev.txt: nothing to do


def _make_bandit(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "bandit"], cwd=tree, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_bandit_passes_on_the_tree_and_fails_on_a_new_finding(tmp_path: Path) -> None:
    _copy_for_bandit(tmp_path)
    clean = _make_bandit(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert json.loads((tmp_path / "build/security/bandit.json").read_text())["results"] == []

    (tmp_path / "services" / "careless.py").write_text(
        "import subprocess\n\n\ndef run(command: str) -> None:\n    subprocess.call(command, shell=True)\n"
    )
    dirty = _make_bandit(tmp_path)
    assert dirty.returncode != 0
    assert "B602" in dirty.stdout
    assert "services/careless.py" in dirty.stdout
    report = json.loads((tmp_path / "build/security/bandit.json").read_text())
    assert {(r["test_id"], r["filename"]) for r in report["results"]} >= {("B602", "services/careless.py")}


def test_each_gitleaks_exception_is_one_exact_value_found_where_its_comment_says() -> None:
    text = (SECURITY / "gitleaks.toml").read_text()
    config = tomllib.loads(text)
    assert config["extend"] == {"useDefault": True}, "the default rules stay on"
    (allowlist,) = config["allowlists"]
    assert allowlist["targetRules"] == ["generic-api-key"]
    source: Path | None = None
    checked = 0
    for line in text.splitlines():
        comment = re.match(r"^\s*# ([\w./-]+\.py): ", line)
        if comment:
            source = REPO / comment.group(1)
            continue
        value = re.match(r"^\s*'''\^(.+)\$''',$", line)
        if value:
            assert source is not None, f"say which file {value.group(1)} is in"
            assert source.is_file(), source
            assert not re.search(r"[\\^$.|?*+()\[\]{}]", value.group(1)), "a literal value, not a pattern"
            assert value.group(1) in source.read_text(), f"{value.group(1)} is no longer in {source}: drop it"
            checked += 1
    assert checked == len(allowlist["regexes"])


def test_the_audit_tool_is_hash_pinned_without_addresses() -> None:
    pins = (SECURITY / "pip-audit-requirements.txt").read_text()
    packages = re.findall(r"^([A-Za-z0-9_.-]+)==\S+ \\$", pins, flags=re.MULTILINE)
    assert "pip-audit" in packages
    blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", pins, flags=re.MULTILINE)[1:]
    assert all("--hash=sha256:" in block for block in blocks), "every pin carries its hashes"
    assert not re.search(r"https?://|--index-url|--extra-index-url|--find-links", pins)
