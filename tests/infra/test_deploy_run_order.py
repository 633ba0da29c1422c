"""What exists when a run-on-deploy function runs: the dependency closure of every run-on-deploy invocation,
read from the recorded resource graph the way the engine walks it, for production, staging and a personal
stage (on the shared development network and on a network of its own).

The engine creates a resource once everything it depends on exists; an invocation runs its function at once.
So whatever the run uses must be upstream of the invocation: the function and everything it declares (role
policies, the grant on the database secret, its security group's egress rule), the Aurora writer instance
(the cluster reports available before it has one), the ingress rule that lets the function reach 5432, and
the route out of the private subnets (NAT instance, its address, routes and subnet associations) that the
secret read takes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

import pytest

from infra.mocks import Recording
from infra.plan import record_plan
from infra.planned import PlannedResource
from infra.registry import discover
from infra.service_spec import ServiceSpec

INVOCATION = "aws:lambda/invocation:Invocation"
NETWORK = "reggie:components:Network"
RUNS = [spec for spec in discover() if spec.run_on_deploy]
STAGES: dict[str, Mapping[str, str]] = {
    "production": {},
    "staging": {},
    "dev-alice": {},  # the shared dev-network, read through a StackReference
    "dev-bob": {"network": "own"},  # a personal stage with its own VPC and one NAT instance
}


@pytest.fixture(scope="module", params=sorted(STAGES))
def plan(request: pytest.FixtureRequest) -> Recording:
    return record_plan(request.param, STAGES[request.param])


def closure(plan: Recording, urn: str) -> set[str]:
    """Every resource ``urn`` transitively depends on (what the engine must have created before it)."""
    seen: set[str] = set()
    pending = list(plan.options[urn].dependencies)
    while pending:
        current = pending.pop()
        if current not in seen:
            seen.add(current)
            recorded = plan.options.get(current)  # a StackReference is read, not registered: no options
            pending.extend(recorded.dependencies if recorded else ())
    return seen


def by_name(plan: Recording, type_token: str, name: str) -> PlannedResource:
    found = [r for r in plan.resources if r.type == type_token and r.name == name]
    assert len(found) == 1, f"{type_token} {name}: {[r.name for r in found]}"
    return found[0]


def descendants(plan: Recording, parent_urn: str) -> Iterator[PlannedResource]:
    for resource in plan.resources:
        if resource.parent == parent_urn:
            yield resource
            yield from descendants(plan, resource.urn)


def test_there_is_a_run_on_deploy_service() -> None:
    assert [spec.name for spec in RUNS] == ["migrator"]


@pytest.mark.parametrize("spec", RUNS, ids=lambda spec: spec.name)
def test_the_invocation_waits_for_everything_its_run_needs(plan: Recording, spec: ServiceSpec) -> None:
    invocation = by_name(plan, INVOCATION, f"{spec.name}-run")
    upstream = closure(plan, invocation.urn)
    function_component = by_name(plan, "reggie:components:Function", spec.name)

    # The function and every resource it declares (its policies, grants, security group and egress rule).
    declared = [r for r in descendants(plan, function_component.urn) if r.custom and r.urn != invocation.urn]
    assert {r.name for r in declared} >= {f"{spec.name}-function", f"{spec.name}-out", f"{spec.name}-vpc"}
    missing = [r.name for r in declared if r.urn not in upstream and r.parent == function_component.urn]
    assert missing == [], f"{spec.name}'s own resources not upstream of its run: {missing}"

    assert "database_master" in spec.links  # the master user: it creates the schema and the roles
    # The writer instance, not just the cluster.
    writer = by_name(plan, "aws:rds/clusterInstance:ClusterInstance", "database-writer")
    assert writer.urn in upstream
    # The rule admitting this function's security group on 5432.
    group_id = f"{spec.name}-sg-id"  # the mocks' id of the function's security group
    ingress = [
        r
        for r in plan.resources
        if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
        and r.inputs.get("referencedSecurityGroupId") == group_id
    ]
    assert [(r.inputs["fromPort"], r.inputs["toPort"]) for r in ingress] == [(5432, 5432)]
    assert ingress[0].urn in upstream
    # The grant that reads the database's secret.
    grants = [
        r
        for r in declared
        if r.type == "aws:iam/rolePolicy:RolePolicy"
        and "secretsmanager:GetSecretValue" in json.dumps(json.loads(r.inputs["policy"]))
    ]
    assert len(grants) == 1
    assert grants[0].urn in upstream

    # The route out of the private subnets, by which the secret is read.
    networks = [r for r in plan.resources if r.type == NETWORK]
    if networks:
        (network,) = networks
        routing = [r for r in descendants(plan, network.urn) if r.custom]
        kinds = {r.type for r in routing}
        assert {"aws:ec2/route:Route", "aws:ec2/eip:Eip"} <= kinds
        # a NAT that heals is an Auto Scaling group of one (which Pulumi creates once it has its instance),
        # a lone NAT an instance; either way it is upstream with the rest (below)
        assert kinds & {"aws:ec2/instance:Instance", "aws:autoscaling/group:Group"}
        assert {"aws:ec2/routeTableAssociation:RouteTableAssociation"} <= kinds
        assert [r.name for r in routing if r.urn not in upstream] == []
    else:
        # A shared network was made by its own stack; its outputs are read through the StackReference.
        # (A read, not a registration: the recording knows it only by the URN others depend on.)
        assert [u for u in upstream if u.endswith("$pulumi:pulumi:StackReference::network")]


def test_the_closure_walks_the_recorded_graph(plan: Recording) -> None:
    """The check above would pass on an empty graph: the recording must hold real edges (the function
    depends on its role, the cluster on its subnet group), and nothing routed waits on nothing."""
    function = by_name(plan, "aws:lambda/function:Function", "migrator-function")
    role = by_name(plan, "aws:iam/role:Role", "migrator-role")
    assert role.urn in closure(plan, function.urn)
    cluster = by_name(plan, "aws:rds/cluster:Cluster", "database-cluster")
    writer = by_name(plan, "aws:rds/clusterInstance:ClusterInstance", "database-writer")
    assert cluster.urn in closure(plan, writer.urn)
    assert writer.urn not in closure(plan, cluster.urn)
