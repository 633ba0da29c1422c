"""`pulumi destroy` of a personal stage removes everything: nothing retained or protected, no final
snapshot to wait for, and image repositories deleted with their images (ECR refuses to delete a repository
that holds images unless told to). Production and staging keep their protections."""

from __future__ import annotations

import pytest

from infra.mocks import Recording
from infra.plan import record_plan

REPOSITORY = "aws:ecr/repository:Repository"
STACKS = ("production", "staging", "dev-alice")


@pytest.fixture(scope="module")
def plans() -> dict[str, Recording]:
    return {stack: record_plan(stack) for stack in STACKS}


@pytest.mark.parametrize("stack", STACKS)
def test_image_repositories_go_with_a_personal_stage_only(plans: dict[str, Recording], stack: str) -> None:
    repositories = [r for r in plans[stack].resources if r.type == REPOSITORY]
    assert {r.name for r in repositories} == {"migrator-repo", "valuation-repo"}
    assert {r.inputs["forceDelete"] for r in repositories} == {stack == "dev-alice"}


def test_a_personal_stage_holds_nothing_back(plans: dict[str, Recording]) -> None:
    recording = plans["dev-alice"]
    assert [urn for urn, o in recording.options.items() if o.retain_on_delete or o.protect] == []
    (cluster,) = [r for r in recording.resources if r.type == "aws:rds/cluster:Cluster"]
    assert cluster.inputs["deletionProtection"] is False
    assert cluster.inputs["skipFinalSnapshot"] is True
