"""The workflows' own `run:` steps that need no cloud, run as CI runs them, in a clean clone of this repository.

What a step runs is read from the workflow files, so a step renamed, reordered or pointing at a target the
Makefile lacks fails here rather than in GitHub. Every step must be classified below: one that needs the
cloud (or the network's answers of the day) is named with the reason it does not run here.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"

RUN_HERE = {"make venv", "make policy-venv", "make bandit"}
"""Steps that read only the repository and the package registry."""
NOT_HERE = {
    "make test": "is this test suite itself",
    "make audit": "asks the advisory database, whose answer changes as advisories are published",
    "make secret-scan": "needs the Go toolchain, which this machine lacks (tests/ci/test_security_config.py "
    "checks its configuration)",
    'api_url="$(pulumi stack output apiUrl --stack "$STACK")"': "reads a deployed stack",
    "gh release create": "writes to GitHub",
    "make site-builds": "downloads the frontends' builds from where their CI publishes them "
    "(tests/ci/test_fetch_site_builds.py runs the script against a loopback host)",
}


def run_steps() -> list[str]:
    """Every workflow's `run:` scripts in file and step order, each once."""
    seen: dict[str, None] = {}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job.get("steps", []):
                if "run" in step:
                    seen.setdefault(step["run"].strip(), None)
    return list(seen)


def _classified(script: str) -> bool:
    return script in RUN_HERE or any(script.startswith(prefix) for prefix in NOT_HERE)


def test_every_step_is_classified() -> None:
    scripts = run_steps()
    assert "make policy-venv" in scripts
    unclassified = [script for script in scripts if not _classified(script)]
    assert not unclassified, f"say whether these steps run offline (RUN_HERE) or why not (NOT_HERE): {unclassified}"
    assert set(scripts) >= RUN_HERE, "RUN_HERE names steps the workflows no longer have"


def _bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # GitHub's default shell for `run:` on Linux runners.
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={key: value for key, value in os.environ.items() if key not in {"VIRTUAL_ENV", "PYTHONPATH"}},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean clone of what is committed, with the suite's own venv as its `.venv` (already installed from
    the same requirements-dev.txt, so `make venv` there has nothing to do and installs nothing)."""
    target = tmp_path_factory.mktemp("ci-clone") / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(target)], check=True, timeout=120)
    digest = hashlib.sha256((target / "requirements-dev.txt").read_bytes()).hexdigest()[:16]
    venv = Path(sys.prefix)
    if not (venv / f".installed-{digest}").exists():
        pytest.fail(f"{venv} was not installed from the committed requirements-dev.txt: run `make venv` first")
    (target / ".venv").symlink_to(venv)
    assert not (target / "infra/policy/venv").exists(), "a clean clone has no policy venv"
    return target


@pytest.mark.slow
def test_the_offline_steps_succeed_in_a_clean_clone_and_build_the_policy_pack_environment(clone: Path) -> None:
    for script in run_steps():
        if script in RUN_HERE:
            done = _bash(script, clone)
            assert done.returncode == 0, f"`{script}` failed:\n{done.stdout}\n{done.stderr}"

    python = clone / "infra/policy/venv/bin/python"
    probe = (
        "import sys, importlib.metadata as m\n"
        "sys.path.insert(0, 'infra/policy')\n"
        "import pulumi_policy, rules\n"
        "kinds = (pulumi_policy.ResourceValidationPolicy, pulumi_policy.StackValidationPolicy)\n"
        "policies = rules.policies()\n"
        "assert policies and all(isinstance(p, kinds) for p in policies), policies\n"
        "print(m.version('pulumi'), m.version('pulumi-policy'), len(policies))\n"
    )
    done = subprocess.run([str(python), "-c", probe], cwd=clone, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    pulumi, policy, count = done.stdout.split()
    pins = (clone / "infra/policy/requirements.txt").read_text()
    assert f"pulumi=={pulumi} " in pins
    assert f"pulumi-policy=={policy} " in pins
    assert int(count) >= 5

    # The bandit step leaves its report for the artifact upload, with nothing new against the baseline.
    report = json.loads((clone / "build/security/bandit.json").read_text())
    assert report["results"] == []
    assert report["errors"] == []


@pytest.mark.slow
def test_policy_venv_is_idempotent_and_refreshes_on_a_changed_pin(clone: Path) -> None:
    python = clone / "infra/policy/venv/bin/python"
    if not python.exists():
        assert _bash("make policy-venv", clone).returncode == 0
    before = python.stat().st_mtime_ns
    again = _bash("make policy-venv", clone)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout
    assert python.stat().st_mtime_ns == before

    # A changed requirements file (here only a comment) is a new stamp: the venv is brought up to it.
    requirements = clone / "infra/policy/requirements.txt"
    requirements.write_text(requirements.read_text() + "# touched\n")
    refreshed = _bash("make policy-venv", clone)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "pip install" in refreshed.stdout
    stamps = sorted(p.name for p in (clone / "infra/policy/venv").glob(".installed-*"))
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    assert stamps == [f".installed-{digest}"]
