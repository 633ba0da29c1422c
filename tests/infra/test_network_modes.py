"""Personal stages' networks: the shared development VPC through a StackReference (the default), their own
VPC with one NAT instance, and the network stack that provides the shared one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from infra import mocks
from infra.config import StageConfigError
from infra.mocks import network_stack_outputs
from infra.network import qualified_stack_name
from infra.plan import record_plan, run_plan
from infra.planned import PlannedResource

NAT = "aws:ec2/instance:Instance"
NAT_GROUP = "aws:autoscaling/group:Group"
VPC = "aws:ec2/vpc:Vpc"


def _of(res: Sequence[PlannedResource], type_token: str) -> list[PlannedResource]:
    return [r for r in res if r.type == type_token]


def _uses_network(res: Sequence[PlannedResource], shared: dict[str, Any]) -> None:
    """Every VPC-placed resource sits in ``shared``'s VPC and private subnets."""
    (subnet_group,) = _of(res, "aws:rds/subnetGroup:SubnetGroup")
    assert subnet_group.inputs["subnetIds"] == shared["privateSubnetIds"]
    groups = _of(res, "aws:ec2/securityGroup:SecurityGroup")
    assert groups
    assert {g.inputs["vpcId"] for g in groups} == {shared["vpcId"]}
    placed = [f for f in _of(res, "aws:lambda/function:Function") if f.inputs.get("vpcConfig")]
    assert placed
    assert all(f.inputs["vpcConfig"]["subnetIds"] == shared["privateSubnetIds"] for f in placed)


def test_personal_stage_shares_the_dev_network_by_default() -> None:
    res = run_plan("dev-demo")
    assert _of(res, VPC) == []
    assert _of(res, NAT) == []
    assert not [r for r in res if r.type == "reggie:components:Network"]
    _uses_network(res, network_stack_outputs("dev-network"))


def test_the_shared_network_stack_is_configurable() -> None:
    res = run_plan("dev-demo", {"networkStack": "acme/reggie/dev-network"})
    _uses_network(res, network_stack_outputs("acme/reggie/dev-network"))


def test_own_network_has_one_nat_instance() -> None:
    rec = record_plan("dev-demo", {"network": "own"})
    assert len(_of(rec.resources, VPC)) == 1
    assert len(_of(rec.resources, NAT)) == 1
    assert len(_of(rec.resources, "aws:ec2/eip:Eip")) == 1
    assert not [o for o in rec.options.values() if o.retain_on_delete or o.protect]


def test_network_stack_declares_only_the_network() -> None:
    res = run_plan("dev-network")
    custom = [r for r in res if r.custom]
    (network,) = [r for r in res if not r.custom and r.type != "pulumi:pulumi:Stack"]
    assert network.name == "network"
    assert all(r.parent == network.urn for r in custom)
    assert len(_of(res, NAT_GROUP)) == 1  # every personal stage's egress: its NAT replaces itself
    assert _of(res, NAT) == []
    assert not [r for r in custom if r.type.startswith(("aws:lambda", "aws:rds", "cloudflare", "aws:cloudwatch"))]


def test_a_network_stack_may_ask_for_its_nats_alarms() -> None:
    res = run_plan("dev-network", {"alarms": "true", "alarmEmail": "platform@reggie.co.uk"})
    alarms = {a.inputs["name"] for a in _of(res, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms == {"reggie-dev-network-nat-0-status-check", "reggie-dev-network-nat-0-in-service"}
    (subscription,) = _of(res, "aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["endpoint"] == "platform@reggie.co.uk"


def test_shared_network_is_refused_outside_personal_stages() -> None:
    with pytest.raises(StageConfigError, match=r"reggie:network=shared: not allowed; shared only in personal"):
        run_plan("staging", {"network": "shared"})


def test_a_network_stack_without_the_outputs_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mocks, "network_stack_outputs", lambda _name: {"vpcId": "vpc-1"})
    with pytest.raises(Exception, match=r"network stack dev-network: output \w+ is missing") as caught:
        run_plan("dev-demo")
    assert "reggie:network=own" in str(caught.value)


def test_a_bare_network_stack_name_is_qualified_with_the_running_org_and_project() -> None:
    assert qualified_stack_name("dev-network", "acme", "reggie") == "acme/reggie/dev-network"
    assert qualified_stack_name("other/reggie/dev-network", "acme", "reggie") == "other/reggie/dev-network"
    assert qualified_stack_name("dev-network", None, "reggie") == "dev-network"
