"""Migrate on deploy: the invocation's triggers, the API waiting for the checked answer, and a failed
migration failing the deploy with the migrator's own message; plus the zip artifact's plumbing."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pulumi
import pytest

from infra import artifacts, mocks
from infra.deploy_run import DeployRunError, check_answer, content_hash, run_inputs_hash
from infra.mocks import Recording
from infra.plan import record_plan
from infra.planned import PlannedResource
from infra.registry import REPO_ROOT, discover
from infra.service_spec import ServiceSpec
from services.migrator.deploy import SPEC as MIGRATOR

INVOCATION = "aws:lambda/invocation:Invocation"
FUNCTION = "aws:lambda/function:Function"


@pytest.fixture(scope="module")
def plan() -> Recording:
    return record_plan("dev-demo")


def _one(res: Sequence[PlannedResource], type_token: str, name: str | None = None) -> PlannedResource:
    found = [r for r in res if r.type == type_token and (name is None or r.name == name)]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def test_routed_functions_wait_for_the_migration_and_others_do_not(plan: Recording) -> None:
    invocation = _one(plan.resources, INVOCATION)
    assert invocation.name == "migrator-run"
    assert json.loads(invocation.inputs["input"]) == {"action": "deploy"}
    api = _one(plan.resources, FUNCTION, "api-function")
    assert invocation.urn in plan.options[api.urn].dependencies
    for name in ("valuation-function", "migrator-function"):
        assert invocation.urn not in plan.options[_one(plan.resources, FUNCTION, name).urn].dependencies


def test_triggers_are_the_image_digest_and_the_migrations_content(plan: Recording) -> None:
    triggers = _one(plan.resources, INVOCATION).inputs["triggers"]
    migrator = _one(plan.resources, FUNCTION, "migrator-function")
    assert triggers["code"] == migrator.inputs["imageUri"]
    assert "@sha256:" in triggers["code"]
    assert MIGRATOR.run_inputs == ("migrations",)  # the migrator's spec says what re-runs it
    assert triggers["inputs"] == run_inputs_hash(MIGRATOR) == content_hash([REPO_ROOT / "migrations"])
    assert triggers["function"] == "arn:aws:lambda:eu-west-2:123456789012:function:reggie-dev-demo-migrator"
    assert triggers["configuration"]  # the function's lastModified: a new environment runs it again


def test_migrations_hash_follows_content_only(tmp_path: Path) -> None:
    copy = tmp_path / "migrations"
    shutil.copytree(REPO_ROOT / "migrations", copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert run_inputs_hash(MIGRATOR, tmp_path) == run_inputs_hash(MIGRATOR)  # same files elsewhere: same trigger
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "env.cpython-311.pyc").write_bytes(b"cache")
    assert run_inputs_hash(MIGRATOR, tmp_path) == run_inputs_hash(MIGRATOR)  # caches never re-run the migrator

    revision = sorted((copy / "versions").glob("*.py"))[0]
    revision.write_text(revision.read_text() + "\n# a changed revision\n")
    changed = run_inputs_hash(MIGRATOR, tmp_path)
    assert changed != run_inputs_hash(MIGRATOR)
    assert run_inputs_hash(MIGRATOR, tmp_path) == changed  # deterministic

    revision.rename(revision.with_name("renamed_" + revision.name))
    assert run_inputs_hash(MIGRATOR, tmp_path) not in (changed, run_inputs_hash(MIGRATOR))


def test_an_error_answer_fails_with_the_migrators_message() -> None:
    payload = json.dumps({"status": "error", "message": "ProgrammingError: column plates.price does not exist"})
    with pytest.raises(DeployRunError) as caught:
        check_answer("migrator", payload)
    assert str(caught.value) == (
        "migrator failed during the deploy: ProgrammingError: column plates.price does not exist"
    )
    assert isinstance(caught.value, pulumi.RunError)  # `pulumi up` prints it without a traceback

    urn = "urn:pulumi:dev-demo::reggie::reggie:components:Function$aws:lambda/invocation:Invocation::migrator-run"
    with pytest.raises(DeployRunError) as retried:
        check_answer("migrator", payload, urn)
    assert str(retried.value).startswith(str(caught.value) + "; once fixed, run it again with ")
    assert str(retried.value).endswith(f"`pulumi up --replace '{urn}'`")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, "returned nothing"),
        ("", "returned nothing"),
        ("Task timed out", "non-JSON"),
        ("[1]", "not a JSON object"),
        ('{"status": "maybe"}', "status 'maybe'"),
        ('{"status": "error"}', "failed during the deploy: no message"),
    ],
)
def test_malformed_answers_fail_clearly(result: str | None, expected: str) -> None:
    with pytest.raises(DeployRunError, match=expected):
        check_answer("migrator", result)


def test_a_success_answer_passes() -> None:
    answer = check_answer("migrator", json.dumps({"status": "success", "from": "0001", "to": "0002"}))
    assert answer["to"] == "0002"


def test_a_failed_migration_fails_the_whole_program(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under mocks the invocation answers what the migrator would; an error stops the run with its message
    (the API function's registration waits for the checked answer, so it is never sent)."""
    monkeypatch.setattr(mocks, "INVOCATION_ANSWER", {"status": "error", "message": "lock timeout on plates"})
    with pytest.raises(Exception, match="migrator failed during the deploy: lock timeout on plates") as caught:
        record_plan("dev-demo")
    assert "--replace 'urn:pulumi:dev-demo::reggie::" in str(caught.value)
    assert str(caught.value).endswith("::migrator-run'`")


def test_zip_services_get_the_placeholder_under_mocks(plan: Recording) -> None:
    api = _one(plan.resources, FUNCTION, "api-function")
    assert api.inputs["packageType"] == "Zip"
    assert "sourceCodeHash" not in api.inputs  # nothing was built


def test_a_built_zip_reaches_the_function_with_its_hash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The wiring hands the builder's archive and hash to the function (the build itself is tested in
    test_artifacts.py; here a tiny stand-in zip keeps the plan fast)."""
    built = tmp_path / "api.zip"
    with zipfile.ZipFile(built, "w") as archive:
        archive.writestr("services/api/handler.py", "def handler(event, context): ...\n")
    digest = base64.b64encode(hashlib.sha256(built.read_bytes()).digest()).decode()
    calls: list[str] = []

    def fake_build(spec: ServiceSpec, **_: object) -> artifacts.ZipArtifact:
        calls.append(spec.name)
        return artifacts.ZipArtifact(built, digest, 40, compiled=False)

    monkeypatch.setattr(artifacts, "under_mocks", lambda: False)
    monkeypatch.setattr(artifacts, "build_zip", fake_build)
    res = record_plan("dev-demo").resources
    api = _one(res, FUNCTION, "api-function")
    assert api.inputs["sourceCodeHash"] == digest
    assert set(calls) == {spec.name for spec in discover() if spec.package == "zip"}
    assert "api" in calls
