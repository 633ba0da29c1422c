"""A new service with a new secret and a new setting touches only its own folder: in a copy of the
repository, add `services/<x>/` and nothing else, and the offline plan (the real `python -m infra plan`,
whole process) declares its function, its secret's parameter, its grants and the setting's value."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
_NOT_THE_PROGRAM = (".git", ".venv", "build", ".local", "tests", "bench", "reports", "__pycache__", ".*_cache")
"""What the plan never reads: history, environments, output, tests."""

DEPLOY = '''
"""Deploy spec of a throwaway service: pages someone, hourly, with a secret nobody else has."""

from infra.service_spec import Secret, ServiceSpec, Setting

SPEC = ServiceSpec(
    name="pager",
    package="zip",
    handler="services.pager.handler.handler",
    schedule="rate(1 hour)",
    vpc=True,
    links=(
        "database",
        "valuation",
        Secret("pager_token"),
        Setting("pager_rota", default="weekdays", pattern="weekdays|always", allowed="weekdays or always"),
    ),
)
'''
HANDLER = """
def handler(event, context):
    return {"paged": True}
"""


def _add_service(root: Path) -> None:
    folder = root / "services" / "pager"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "deploy.py").write_text(textwrap.dedent(DEPLOY).lstrip())
    (folder / "handler.py").write_text(textwrap.dedent(HANDLER).lstrip())


def _plan(root: Path, stack: str, *config: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PYTHON"))}
    overrides = [arg for pair in config for arg in ("--config", pair)]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra",
            "plan",
            "--stack",
            stack,
            "--json",
            "--diagram",
            str(root / "plan.mmd"),
            *overrides,
        ],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def _by_name(document: Mapping[str, Any], type_token: str) -> dict[str, dict[str, Any]]:
    states = [step["newState"] for step in document["steps"]]
    return {s["urn"].rsplit("::", 1)[1]: s["inputs"] for s in states if s["type"] == type_token}


@pytest.mark.slow
def test_a_new_service_with_a_new_secret_plans_from_its_folder_alone(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(REPO_ROOT, root, ignore=shutil.ignore_patterns(*_NOT_THE_PROGRAM))
    _add_service(root)

    document = _plan(root, "staging", "reggie:pagerRota=always")

    function = _by_name(document, "aws:lambda/function:Function")["pager-function"]
    assert function["name"] == "reggie-staging-pager"
    env = function["environment"]["variables"]
    assert env["PAGER_TOKEN_PARAMETER"] == "/reggie/staging/pager_token"
    assert env["SECRETS_VERSION"] == "pager_token:1"
    assert env["VALUATION_FUNCTION_NAME"] == "reggie-staging-valuation"
    assert env["DB_NAME"] == "reggie"
    assert env["PAGER_ROTA"] == "always"  # its setting's key is known to the stage, and its value reaches it
    assert function["vpcConfig"]["subnetIds"]

    parameters = _by_name(document, "aws:ssm/parameter:Parameter")
    assert parameters["secrets-pager-token"]["name"] == "/reggie/staging/pager_token"
    assert parameters["secrets-pager-token"]["type"] == "SecureString"
    assert "reggie:pagerToken" in document["config"]  # staging requires it: the offline plan stood one in

    grants = _by_name(document, "aws:iam/rolePolicy:RolePolicy")
    (read,) = json.loads(grants["pager-grant-secrets"]["policy"])["Statement"]
    assert read["Resource"] == ["arn:aws:ssm:eu-west-2:123456789012:parameter/reggie/staging/pager_token"]
    assert "pager-grant-invoke-valuation" in grants
    # It logs in to the database as its own role (which a migration of its own creates: the migrations'
    # tests check every service linking the database has one), never as the master user.
    assert env["DB_USER"] == "reggie_pager"
    assert "DB_SECRET_ARN" not in env
    (connect,) = json.loads(grants["pager-grant-db-connect"]["policy"])["Statement"]
    assert connect["Action"] == ["rds-db:connect"]
    assert connect["Resource"][0].endswith("/reggie_pager")
    assert "pager-grant-db-secret" not in grants
    ingress = _by_name(document, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert "database-in-pager" in ingress
    rules = _by_name(document, "aws:cloudwatch/eventRule:EventRule")
    assert rules["pager-schedule"]["scheduleExpression"] == "rate(1 hour)"

    # The folder was the whole change: every other service plans exactly as in the repository.
    api = _by_name(document, "aws:lambda/function:Function")["api-function"]["environment"]["variables"]
    assert "PAGER_TOKEN_PARAMETER" not in api
