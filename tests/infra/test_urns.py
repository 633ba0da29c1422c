"""Upgrading replaces nothing: every URN the three stacks had before the components' one-door refactor is still
declared, or is an alias of a resource that is (the engine then adopts the old resource instead of replacing it).

The baselines in ``tests/infra/urns/<stack>.txt`` are the sorted URNs of the offline plan at commit c52972a,
made in a clean export of that commit (``git archive c52972a | tar -x -C /tmp/urn-base``), per stack, with::

    python -c "from infra.plan import run_plan; print(*sorted(r.urn for r in run_plan('production')), sep='\\n')"

A failure lists the URNs that would be deleted (and their resources created anew): keep the child's old name,
or give it ``former_names`` (an alias) in its component's ``child`` call.

The only exceptions are in :data:`RETIRED`: resources a change replaced on purpose by another kind of resource
(an alias cannot carry an identity across types), each with what took its place and why. The successor must be
declared and the retired URN really gone, so the list cannot go stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import Component
from infra.mocks import Recording
from infra.plan import record_plan

STACKS = ("production", "staging", "dev-alice")
BASELINES = Path(__file__).parent / "urns"
_NAT_HA = (
    "issue 13: the stage's NAT instances heal themselves; each slot's instance is now launched by an Auto Scaling "
    "group of one behind a fixed interface (fck-nat's HA mode). The route and the Elastic IP keep their URNs (the "
    "address is kept); the old instance is terminated once the group's instance has taken over, a few minutes "
    "of egress on that deploy"
)
RETIRED: dict[str, tuple[str, str]] = {
    # URN after ``<stack>::<project>::`` -> (the successor's, why)
    f"reggie:components:Network$aws:ec2/instance:Instance::network-nat-{slot}": (
        f"reggie:components:Network$aws:autoscaling/group:Group::network-nat-{slot}",
        _NAT_HA,
    )
    for slot in ("0", "1")
}
"""Resources replaced on purpose, each with its successor and why: the NATs (production and staging only: personal
stages share the dev network's NAT), the managed-policy attachments and the master-secret grants below."""
_INLINE = (
    "issue 15: no AWS managed policy on a function's role (each grants on every resource); the network-interface "
    "and X-Ray actions it needs are an inline policy of the same name, scoped as far as AWS allows. The inline "
    "policy is created before the attachment is deleted, so the role is never without them"
)
RETIRED.update(
    {
        f"reggie:components:Function$aws:iam/rolePolicyAttachment:RolePolicyAttachment::{name}": (
            f"reggie:components:Function$aws:iam/rolePolicy:RolePolicy::{name}",
            _INLINE,
        )
        for name in (
            "api-vpc",
            "api-xray",
            "migrator-vpc",
            "migrator-xray",
            "scraper-vpc",
            "scraper-xray",
            "valuation-xray",
        )
    }
)
_OWN_DATABASE_ROLE = (
    "issue 15: a service logs in to the database as its own role with IAM authentication, so its grant to read "
    "the master secret is deleted and a grant of rds-db:connect as that role declared (an alias would have kept "
    "the old policy's name on the new permission); only the migrator keeps reading the master secret"
)
RETIRED |= {
    f"reggie:components:Function$aws:iam/rolePolicy:RolePolicy::{service}-grant-db-secret": (
        f"reggie:components:Function$aws:iam/rolePolicy:RolePolicy::{service}-grant-db-connect",
        _OWN_DATABASE_ROLE,
    )
    for service in ("api", "scraper", "valuation", "worker")
}


def _baseline(stack: str) -> list[str]:
    return (BASELINES / f"{stack}.txt").read_text().split()


def _type_of(urn: str) -> str:
    """``urn:pulumi:s::p::Parent$aws:rds/cluster:Cluster::name`` -> ``aws:rds/cluster:Cluster``."""
    return urn.split("::")[2].rsplit("$", 1)[-1]


@dataclass
class StackPlan:
    recording: Recording
    roles: dict[str, tuple[str, str]] = field(default_factory=dict[str, tuple[str, str]])
    """URN of each child a component made through its door -> (the component's name, the child's role)."""


@pytest.fixture(scope="module")
def plans() -> dict[str, StackPlan]:
    """Each stack planned once with the current code, noting the role of every component child on the way."""
    original = Component.child
    current: dict[str, tuple[str, str]] = {}

    def noting_child(self: Component, role: str, *args: Any, **kwargs: Any) -> Any:
        resource: pulumi.Resource = original(self, role, *args, **kwargs)
        owner = f"{type(self).__name__} {self._name}"  # pyright: ignore[reportPrivateUsage]
        resource.urn.apply(lambda urn: current.__setitem__(urn, (owner, role)))
        return resource

    planned: dict[str, StackPlan] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Component, "child", noting_child)
        for stack in STACKS:
            current = {}
            planned[stack] = StackPlan(record_plan(stack), current)
    return planned


@pytest.mark.parametrize("stack", STACKS)
def test_every_old_urn_is_still_declared_or_aliased(plans: dict[str, StackPlan], stack: str) -> None:
    rec = plans[stack].recording
    declared = {r.urn for r in rec.resources}
    adopted_by: dict[str, list[str]] = {}
    for resource in rec.resources:
        for alias in rec.options[resource.urn].aliases:
            adopted_by.setdefault(alias, []).append(resource.urn)

    old = _baseline(stack)
    assert len(old) > 100, f"{stack}: the baseline looks truncated"
    prefix = f"urn:pulumi:{stack}::reggie::"
    retired = {prefix + tail: prefix + successor for tail, (successor, _why) in RETIRED.items()}
    for urn, successor in retired.items():
        if urn in old:
            assert urn not in declared, f"{urn} is listed as retired but still declared"
            assert successor in declared, f"{urn} retired, but its successor {successor} is not declared"
    missing = [urn for urn in old if urn not in declared and urn not in adopted_by and urn not in retired]
    new = sorted(declared - set(old))
    assert not missing, (
        f"{stack}: {len(missing)} resource(s) of the deployed stack would be replaced (deleted and created anew); "
        "keep their names or alias them:\n  "
        + "\n  ".join(missing)
        + ("\nURNs new in this plan (a rename would pair one of these with a missing one):\n  " + "\n  ".join(new))
    )
    # An alias must name a resource that is gone, and only one resource may adopt it.
    assert {alias: urns for alias, urns in adopted_by.items() if alias in declared or len(urns) > 1} == {}


@pytest.mark.parametrize("stack", STACKS)
def test_each_role_names_one_kind_of_child(plans: dict[str, StackPlan], stack: str) -> None:
    roles = plans[stack].roles
    assert roles, f"{stack}: no component children were noted"
    kinds: dict[tuple[str, str], set[str]] = {}
    for urn, place in roles.items():
        kinds.setdefault(place, set()).add(_type_of(urn))
    mixed = {f"{owner} role {role}": sorted(types) for (owner, role), types in kinds.items() if len(types) > 1}
    assert mixed == {}
    # every component child in the plan came through the door, so the count matches the plan's
    components = {r.urn for r in plans[stack].recording.resources if r.type.startswith("reggie:components:")}
    door_children = {r.urn for r in plans[stack].recording.resources if r.urn in roles}
    assert door_children == set(roles)
    assert all(r.parent in components for r in plans[stack].recording.resources if r.urn in roles)
