"""The stage's alarms under mocks: in production every function, the API, the database and each NAT has alarms on
real CloudWatch metrics and dimensions, each with an action and a description of what to do; the dashboard is
generated from them; the health probe invokes the API; personal stages get none unless asked."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from components.aurora import max_connections
from infra.mocks import Recording
from infra.monitoring import probe_event
from infra.plan import record_plan
from infra.planned import PlannedResource
from infra.registry import discover
from services.api.deploy import SPEC as API_SPEC

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC_ARN = "arn:aws:sns:eu-west-2:123456789012:topic/reggie-production-alarms"  # the mocks' ARN of the topic


@pytest.fixture(scope="module")
def production() -> Recording:
    return record_plan("production")


def _of(res: Sequence[PlannedResource], type_token: str) -> list[PlannedResource]:
    return [r for r in res if r.type == type_token]


def _watched(alarm: PlannedResource) -> list[Mapping[str, Any]]:
    """The metrics an alarm reads: its own, or each metric query's."""
    queries = [q["metric"] for q in alarm.inputs.get("metricQueries", []) if "metric" in q]
    if queries:
        return [{"namespace": m["namespace"], "metricName": m["metricName"], **m} for m in queries]
    return [alarm.inputs]


def _alarms_on(res: Sequence[PlannedResource], dimension: str, value: str) -> dict[str, PlannedResource]:
    """By metric name, the alarms reading a metric whose ``dimension`` is ``value``."""
    found: dict[str, PlannedResource] = {}
    for alarm in _of(res, ALARM):
        for metric in _watched(alarm):
            if metric.get("dimensions", {}).get(dimension) == value:
                found[metric["metricName"]] = alarm
    return found


def test_every_alarm_reaches_a_person_and_says_what_to_do(production: Recording) -> None:
    alarms = _of(production.resources, ALARM)
    assert len(alarms) >= 20
    (topic,) = _of(production.resources, "aws:sns/topic:Topic")
    assert topic.inputs["name"] == "reggie-production-alarms"
    (email,) = _of(production.resources, "aws:sns/topicSubscription:TopicSubscription")
    assert (email.inputs["protocol"], email.inputs["endpoint"], email.inputs["topic"]) == (
        "email",
        "ops@reggie.co.uk",
        TOPIC_ARN,
    )
    for alarm in alarms:
        name = alarm.inputs["name"]
        assert name.startswith("reggie-production-")
        assert alarm.inputs["actionsEnabled"] is True
        assert TOPIC_ARN in alarm.inputs["alarmActions"], name
        assert alarm.inputs["okActions"] == [TOPIC_ARN], name  # and again when it clears
        description = alarm.inputs["alarmDescription"]
        assert 80 < len(description) <= 1024, name
        assert "Check: 1)" in description, name
        assert "2)" in description, name
        assert "3)" in description, name
        assert alarm.inputs["treatMissingData"] in ("breaching", "notBreaching", "missing"), name


def test_every_function_has_errors_throttles_and_duration_alarms(production: Recording) -> None:
    res = production.resources
    specs = {spec.name: spec for spec in discover()}
    functions = [f for f in _of(res, "aws:lambda/function:Function") if "service" in f.inputs.get("tags", {})]
    assert {f.inputs["name"] for f in functions} == {f"reggie-production-{name}" for name in specs}
    for function in functions:
        name = function.inputs["name"]
        spec = specs[name.removeprefix("reggie-production-")]
        by_metric = _alarms_on(res, "FunctionName", name)
        assert set(by_metric) == {"Errors", "Throttles", "Duration"}, name
        assert all(a.inputs["namespace"] == "AWS/Lambda" for a in by_metric.values())
        duration = by_metric["Duration"].inputs
        assert (duration["statistic"], duration["threshold"]) == ("Maximum", 0.9 * spec.timeout_s * 1000)
        assert by_metric["Errors"].inputs["threshold"] == (1 if spec.schedule or spec.run_on_deploy else 5)
        assert by_metric["Throttles"].inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_the_api_alarms_on_its_5xx_rate_and_p99_latency(production: Recording) -> None:
    res = production.resources
    (api,) = _of(res, "aws:apigatewayv2/api:Api")
    api_id = f"{api.name}-id"  # the mocks' id
    by_metric = _alarms_on(res, "ApiId", api_id)
    assert set(by_metric) == {"5xx", "Count", "Latency"}
    rate = by_metric["5xx"].inputs
    assert rate is by_metric["Count"].inputs  # one metric math alarm over both
    (expression,) = [q for q in rate["metricQueries"] if "expression" in q]
    assert expression["returnData"] is True
    assert expression["expression"] == "IF(requests >= 20, 100 * errors / requests, 0)"
    assert {q["metric"]["namespace"] for q in rate["metricQueries"] if "metric" in q} == {"AWS/ApiGateway"}
    assert (rate["threshold"], rate["evaluationPeriods"], rate["datapointsToAlarm"]) == (5, 3, 2)
    latency = by_metric["Latency"].inputs
    assert (latency["namespace"], latency["extendedStatistic"], latency["threshold"]) == ("AWS/ApiGateway", "p99", 3000)
    assert latency["evaluateLowSampleCountPercentiles"] == "ignore"
    assert "statistic" not in latency


def test_the_database_alarms_on_capacity_at_max_and_connections_near_the_limit(production: Recording) -> None:
    by_metric = _alarms_on(production.resources, "DBClusterIdentifier", "reggie-production-db")
    assert set(by_metric) == {"ServerlessDatabaseCapacity", "DatabaseConnections"}
    capacity = by_metric["ServerlessDatabaseCapacity"].inputs
    assert (capacity["namespace"], capacity["statistic"], capacity["threshold"]) == ("AWS/RDS", "Maximum", 4)
    connections = by_metric["DatabaseConnections"].inputs
    assert connections["threshold"] == int(0.8 * max_connections(0.5, 4)) == 604


def test_max_connections_follows_what_aws_documents() -> None:
    assert max_connections(0.5, 1) == 189  # AWS's figure for a 0.5-1 ACU range
    assert max_connections(0.5, 16) == 2000  # capped at 2,000 with a minimum of 0 or 0.5 ACU
    assert max_connections(1, 64) == 5000
    assert max_connections(1, 16) <= 3360  # AWS documents 3,360: the estimate errs low, so the alarm fires early


def test_each_nat_alarms_on_its_status_checks_and_on_none_in_service(production: Recording) -> None:
    res = production.resources
    groups = _of(res, "aws:autoscaling/group:Group")
    assert len(groups) == 2
    for group in groups:
        assert "GroupInServiceInstances" in group.inputs["enabledMetrics"]
        by_metric = _alarms_on(res, "AutoScalingGroupName", group.inputs["name"])
        assert set(by_metric) == {"StatusCheckFailed", "GroupInServiceInstances"}
        status = by_metric["StatusCheckFailed"].inputs
        assert (status["namespace"], status["period"], status["evaluationPeriods"]) == ("AWS/EC2", 60, 3)
        in_service = by_metric["GroupInServiceInstances"].inputs
        assert (in_service["namespace"], in_service["comparisonOperator"]) == ("AWS/AutoScaling", "LessThanThreshold")
        assert in_service["treatMissingData"] == "breaching"  # the group reports every minute: silence is a fault


def test_a_lone_nat_instance_alarms_on_its_status_checks_when_asked() -> None:
    res = record_plan("dev-demo", {"network": "own", "alarms": "true"}).resources
    (instance,) = _of(res, "aws:ec2/instance:Instance")
    by_metric = _alarms_on(res, "InstanceId", f"{instance.name}-id")
    assert set(by_metric) == {"StatusCheckFailed"}
    assert by_metric["StatusCheckFailed"].inputs["treatMissingData"] == "breaching"  # a stopped instance is silent


def test_failed_migrations_and_failing_health_checks_alarm_on_the_platforms_own_metrics(
    production: Recording,
) -> None:
    res = production.resources
    custom = [a.inputs for a in _of(res, ALARM) if a.inputs.get("namespace") == "Reggie"]
    by_name = {a["name"].removeprefix("reggie-production-"): a for a in custom}
    assert set(by_name) == {"migrator-run-failed", "api-health-database", "api-health-valuation", "api-health-storage"}
    run = by_name["migrator-run-failed"]
    assert (run["metricName"], run["dimensions"]) == ("DeployRunFailed", {"Stage": "production", "Service": "migrator"})
    assert run["treatMissingData"] == "missing"  # raised until a run succeeds
    storage = by_name["api-health-storage"]
    assert storage["metricName"] == "HealthCheckFailed"
    assert storage["dimensions"] == {"Stage": "production", "Service": "api", "Check": "storage"}
    assert (storage["evaluationPeriods"], storage["treatMissingData"]) == (2, "missing")


def test_missing_data_is_chosen_per_metric(production: Recording) -> None:
    by_metric: dict[str, set[str]] = {}
    for alarm in _of(production.resources, ALARM):
        for metric in _watched(alarm):
            by_metric.setdefault(metric["metricName"], set()).add(alarm.inputs["treatMissingData"])
    quiet = ("5xx", "Count", "Latency", "Errors", "Throttles", "Duration", "ServerlessDatabaseCapacity")
    assert by_metric == {
        # no traffic, no invocations, a paused cluster: nothing happened
        **{metric: {"notBreaching"} for metric in (*quiet, "DatabaseConnections", "StatusCheckFailed")},
        # occasional reports: the last outcome holds
        **{metric: {"missing"} for metric in ("DeployRunFailed", "HealthCheckFailed")},
        # silence is the failure
        "GroupInServiceInstances": {"breaching"},
    }


def test_the_dashboard_is_generated_from_the_alarms(production: Recording) -> None:
    res = production.resources
    (dashboard,) = _of(res, "aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == "reggie-production"
    body = json.loads(dashboard.inputs["dashboardBody"])
    arns = {f"arn:aws:cloudwatch:eu-west-2:123456789012:metricalarm/{a.inputs['name']}" for a in _of(res, ALARM)}
    status, *rest = body["widgets"]
    assert status["type"] == "alarm"
    assert set(status["properties"]["alarms"]) == arns
    graphs = [w for w in rest if w["type"] == "metric"]
    assert {w["properties"]["annotations"]["alarms"][0] for w in graphs} == arns  # one graph per alarm
    assert all(w["properties"]["region"] == "eu-west-2" for w in graphs)
    headings = [w["properties"]["markdown"] for w in rest if w["type"] == "text"]
    assert headings == ["## API", "## Functions", "## Health", "## Deploys", "## Database", "## NAT"]
    # nothing overlaps on the 24-column grid
    cells = set()
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells
                cells.add((x, y))


def test_the_health_probe_invokes_the_apis_live_alias_every_five_minutes(production: Recording) -> None:
    res = production.resources
    rule = next(r for r in _of(res, "aws:cloudwatch/eventRule:EventRule") if r.name == "alarms-probe-api-health")
    assert rule.inputs["scheduleExpression"] == "rate(5 minutes)"
    target = next(t for t in _of(res, "aws:cloudwatch/eventTarget:EventTarget") if t.name == rule.name)
    assert target.inputs["arn"] == "arn:aws:lambda:eu-west-2:123456789012:function:reggie-production-api:live"
    assert API_SPEC.health_check is not None
    assert json.loads(target.inputs["input"]) == probe_event(API_SPEC.health_check.path)
    permission = next(p for p in _of(res, "aws:lambda/permission:Permission") if p.name == rule.name)
    assert (permission.inputs["principal"], permission.inputs["qualifier"]) == ("events.amazonaws.com", "live")
    assert permission.inputs["sourceArn"].endswith("/reggie-production-probe-api-health")


def test_personal_stages_get_no_alarms_unless_asked() -> None:
    quiet = record_plan("dev-demo").resources
    assert not [r for r in quiet if r.type.startswith(("aws:cloudwatch/metricAlarm", "aws:sns", "aws:cloudwatch/dash"))]
    assert not [r for r in quiet if r.type == "aws:cloudwatch/eventRule:EventRule" and "probe" in r.name]
    asked = record_plan("dev-demo", {"alarms": "true"}).resources
    names = {a.inputs["name"] for a in _of(asked, ALARM)}
    assert "reggie-dev-demo-api-errors" in names
    assert not [n for n in names if "-nat-" in n]  # the shared network's NAT is the network stack's to watch
    assert _of(asked, "aws:sns/topicSubscription:TopicSubscription") == []  # no email asked for
