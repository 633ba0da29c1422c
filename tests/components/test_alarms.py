"""Alarms under mocks: every alarm notifies the topic (and again when it clears), a single metric or metric math,
extra actions, the email subscription, the generated dashboard, probes, and arguments refused up front."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components import Alarm, Alarms, AlarmsArgs, ComponentArgsError, Metric, MetricMath, Probe
from components.alarms import dashboard_body
from tests.components.helpers import of_type, one, run

ERRORS = Metric("AWS/Lambda", "Errors", {"FunctionName": "reggie-t-api"}, "Sum")
RECOVER = "arn:aws:automate:eu-west-2:ec2:recover"


def _alarm(key: str = "api-errors", **overrides: Any) -> Alarm:
    fields: dict[str, Any] = {
        "key": key,
        "title": "api errors",
        "description": "The api failed. Check: 1) its log group 2) the deploy 3) the database.",
        "watch": ERRORS,
        "comparison": ">=",
        "threshold": 1,
        "treat_missing_data": "notBreaching",
    } | overrides
    return Alarm(**fields)


def _args(**overrides: Any) -> AlarmsArgs:
    fields: dict[str, Any] = {"name_prefix": "reggie-t", "region": "eu-west-2", "alarms": [_alarm()]} | overrides
    return AlarmsArgs(**fields)


def test_an_alarm_notifies_the_topic_when_raised_and_when_cleared() -> None:
    res = run(lambda: Alarms("ops", _args(email="ops@reggie.co.uk"))).resources
    topic = one(res, "aws:sns/topic:Topic")
    assert topic.inputs["name"] == "reggie-t-alarms"
    subscription = one(res, "aws:sns/topicSubscription:TopicSubscription")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == ("email", "ops@reggie.co.uk")
    alarm = one(res, "aws:cloudwatch/metricAlarm:MetricAlarm").inputs
    topic_arn = "arn:aws:sns:eu-west-2:123456789012:topic/reggie-t-alarms"
    assert alarm["name"] == "reggie-t-api-errors"
    assert (alarm["alarmActions"], alarm["okActions"], alarm["actionsEnabled"]) == ([topic_arn], [topic_arn], True)
    assert (alarm["namespace"], alarm["metricName"], alarm["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert alarm["dimensions"] == {"FunctionName": "reggie-t-api"}
    assert (alarm["comparisonOperator"], alarm["threshold"], alarm["period"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
        300,
    )
    assert alarm["treatMissingData"] == "notBreaching"
    assert "metricQueries" not in alarm


def test_metric_math_percentiles_and_extra_actions() -> None:
    rate = MetricMath(
        "100 * errors / calls",
        {"errors": ERRORS, "calls": Metric("AWS/Lambda", "Invocations", {"FunctionName": "reggie-t-api"})},
        "error %",
    )
    alarms = [
        _alarm("rate", watch=rate, comparison=">", threshold=5, evaluation_periods=3, datapoints_to_alarm=2),
        _alarm("slow", watch=Metric("AWS/ApiGateway", "Latency", {"ApiId": "a1"}, "p99"), threshold=3000),
        _alarm("host", extra_actions=[RECOVER], treat_missing_data="breaching", period_s=60),
    ]
    res = run(lambda: Alarms("ops", _args(alarms=alarms))).resources
    by_name = {a.inputs["name"]: a.inputs for a in of_type(res, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    math = by_name["reggie-t-rate"]
    assert "namespace" not in math
    assert "metricName" not in math
    queries = {q["id"]: q for q in math["metricQueries"]}
    assert queries["result"] == {
        "id": "result",
        "expression": "100 * errors / calls",
        "label": "error %",
        "returnData": True,
    }
    assert queries["calls"]["metric"] == {
        "namespace": "AWS/Lambda",
        "metricName": "Invocations",
        "dimensions": {"FunctionName": "reggie-t-api"},
        "period": 300,
        "stat": "Sum",
    }
    assert queries["calls"]["returnData"] is False
    assert (math["evaluationPeriods"], math["datapointsToAlarm"]) == (3, 2)
    slow = by_name["reggie-t-slow"]
    assert (slow["extendedStatistic"], slow["evaluateLowSampleCountPercentiles"]) == ("p99", "ignore")
    assert "statistic" not in slow
    host = by_name["reggie-t-host"]
    assert host["alarmActions"][1:] == [RECOVER]
    assert host["okActions"] == host["alarmActions"][:1]
    assert of_type(res, "aws:sns/topicSubscription:TopicSubscription") == []  # no email: nobody subscribed


def test_a_probe_invokes_the_alias_from_its_rule_only() -> None:
    probe = Probe("api-health", "arn:aws:lambda:eu-west-2:1:function:f:live", "f", "live", '{"a": 1}', "health")
    res = run(lambda: Alarms("ops", _args(probes=[probe]))).resources
    rule = one(res, "aws:cloudwatch/eventRule:EventRule")
    assert (rule.inputs["name"], rule.inputs["scheduleExpression"]) == ("reggie-t-probe-api-health", "rate(5 minutes)")
    target = one(res, "aws:cloudwatch/eventTarget:EventTarget")
    assert (target.inputs["arn"], target.inputs["input"]) == (probe.function_arn, '{"a": 1}')
    permission = one(res, "aws:lambda/permission:Permission").inputs
    assert (permission["function"], permission["qualifier"], permission["principal"]) == (
        "f",
        "live",
        "events.amazonaws.com",
    )
    assert permission["sourceArn"].endswith("/reggie-t-probe-api-health")


def test_the_dashboard_shows_every_alarm_by_group_without_overlap() -> None:
    alarms = [_alarm(f"a{i}", group="Functions" if i % 2 else "API") for i in range(7)]
    arns = [f"arn:{a.key}" for a in alarms]
    body = json.loads(dashboard_body(alarms, arns, "eu-west-2"))
    status = body["widgets"][0]
    assert status["properties"]["alarms"] == arns
    graphs = [w for w in body["widgets"] if w["type"] == "metric"]
    assert [w["properties"]["annotations"]["alarms"] for w in graphs] == [[arn] for arn in arns[::2] + arns[1::2]]
    assert [w["properties"]["markdown"] for w in body["widgets"] if w["type"] == "text"] == ["## API", "## Functions"]
    cells: set[tuple[int, int]] = set()
    for widget in body["widgets"]:
        box = {
            (x, y)
            for x in range(widget["x"], widget["x"] + widget["width"])
            for y in range(widget["y"], widget["y"] + widget["height"])
        }
        assert not cells & box
        cells |= box
    without = run(lambda: Alarms("ops", _args(dashboard=False))).resources
    assert of_type(without, "aws:cloudwatch/dashboard:Dashboard") == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: _alarm(key="API errors"), "key must be lowercase"),
        (lambda: _alarm(description=""), "description must be 1 to 1024"),
        (lambda: _alarm(description="x" * 1025), "description must be 1 to 1024"),
        (lambda: _alarm(comparison="=="), "comparison must be one of"),
        (lambda: _alarm(treat_missing_data="ignored"), "treat_missing_data must be one of"),
        (lambda: _alarm(period_s=90), "period_s must be 10, 20, 30 or a multiple of 60"),
        (lambda: _alarm(period_s=3600, evaluation_periods=25), "span one period to a day"),
        (lambda: _alarm(evaluation_periods=2, datapoints_to_alarm=3), "datapoints_to_alarm must be 1 to"),
        (lambda: Metric("AWS/Lambda", "Errors", statistic="p"), "is not one of"),
        (lambda: MetricMath("a", {"a": ERRORS, "b": ERRORS}, "x"), "does not use metric"),
        (lambda: MetricMath("a", {"a": ERRORS, "B": ERRORS}, "x"), "not a usable id"),
        (lambda: Probe("p", "arn", "f", None, "{nope", "x"), "payload is not JSON"),
        (lambda: Probe("p", "arn", "f", None, "{}", "x", schedule="every 5 minutes"), "rate(...) or cron(...)"),
        (lambda: _args(email="ops@reggie.co.uk,me@reggie.co.uk"), "is not one email address"),
        (lambda: _args(alarms=[_alarm(), _alarm()]), "alarm key(s) api-errors used twice"),
        (lambda: _args(alarms=[_alarm(f"a{i}") for i in range(101)]), "at most 100 alarms"),
        (lambda: _args(name_prefix="reggie t"), "name_prefix"),
        (lambda: _args(transforms={"alarms": lambda *_: None}), "unknown transform role"),
    ],
)
def test_bad_arguments_are_refused_up_front(build: Any, message: str) -> None:
    with pytest.raises(ComponentArgsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()
