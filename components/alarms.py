"""Alarms: CloudWatch alarms that reach a person, the dashboard that shows them, and the probes that feed them.

- One SNS topic (``<prefix>-alarms``) with an email subscription. Every alarm notifies it when it goes into
  ALARM and again when it recovers (OK), so the person who was paged also learns that it cleared; an alarm
  may add actions of its own (the EC2 recover action). The topic is not encrypted: CloudWatch cannot publish
  to a topic under the AWS-managed SNS key, and an alarm notification carries an alarm's name, metric and
  description, nothing secret.
- One ``MetricAlarm`` per :class:`Alarm`: a single metric (a statistic or a percentile) or metric math
  over several, a threshold, how many periods must breach, and what missing data means for that metric
  (``treat_missing_data`` has no default here: every alarm says it). Its description is what the person
  reading the notification sees first, so it says what the alarm means and what to do.
- A dashboard generated from the alarms: an alarm status grid, then per group one graph per alarm (its
  metric with the threshold line). The body is built from the alarms' ARNs (outputs) with ``apply``; no
  resource is created inside it.
- Probes: an EventBridge schedule invoking a function with a fixed payload, for checks that only run when
  something asks (the API's deep health check, whose metric an alarm watches).

The email subscription stays *pending* until someone clicks the link AWS sends: until then nothing is
delivered. Changing the address replaces the subscription (a new confirmation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_aws as aws

from components._common import Component, ComponentArgsError, Transform, check_transform_keys, no_tags, roles_of

Comparison = Literal[">=", ">", "<=", "<"]
MissingData = Literal["breaching", "notBreaching", "ignore", "missing"]
"""What a period without data counts as: a failure (``breaching``), fine (``notBreaching``), nothing at all so
the state holds (``missing``), or evaluated from the data there is (``ignore``)."""
OPERATORS: Mapping[str, str] = {
    ">=": "GreaterThanOrEqualToThreshold",
    ">": "GreaterThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
    "<": "LessThanThreshold",
}
MISSING_DATA: tuple[MissingData, ...] = ("breaching", "notBreaching", "ignore", "missing")
STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
MAX_DESCRIPTION = 1024
"""CloudWatch's limit on an alarm description."""
MAX_DASHBOARD_ALARMS = 100
"""An alarm status widget shows at most 100 alarms."""
MAX_EVALUATION_S = 86_400
"""CloudWatch evaluates at most one day of periods."""
DASHBOARD_COLUMNS = 3
_PERCENTILE = re.compile(r"^p(100|\d{1,2}(\.\d{1,2})?)$")
_KEY = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_QUERY_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
_PREFIX = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


class AlarmsTransforms(TypedDict, total=False):
    """The roles of :class:`Alarms`'s children, each with its transform hook's args type."""

    topic: Transform[aws.sns.TopicArgs]
    """The notification topic (``<name>-topic``)."""
    email_subscription: Transform[aws.sns.TopicSubscriptionArgs]
    """The email subscription to it (``<name>-email``)."""
    alarm: Transform[aws.cloudwatch.MetricAlarmArgs]
    """Keyed by alarm key: ``<name>-<key>``."""
    dashboard: Transform[aws.cloudwatch.DashboardArgs]
    """``<name>-dashboard``."""
    probe_rule: Transform[aws.cloudwatch.EventRuleArgs]
    """Keyed by probe key: the schedule (``<name>-probe-<key>``)."""
    probe_target: Transform[aws.cloudwatch.EventTargetArgs]
    """Keyed by probe key: the function it invokes with the probe's payload (``<name>-probe-<key>``)."""
    probe_permission: Transform[aws.lambda_.PermissionArgs]
    """Keyed by probe key: EventBridge may invoke the function from that rule only (``<name>-probe-<key>``)."""


ROLES = roles_of(AlarmsTransforms)


def _check_key(where: str, key: str) -> None:
    """A key names a child and a physical name: lowercase letters, digits and hyphens."""
    if not _KEY.match(key):
        raise ComponentArgsError(f"{where}: key must be lowercase letters, digits and hyphens (at most 63)")


def _no_dimensions() -> dict[str, pulumi.Input[str]]:
    return {}


@dataclass(frozen=True, slots=True)
class Metric:
    """One CloudWatch metric and the statistic an alarm applies to it."""

    namespace: str
    """``AWS/Lambda``, ``AWS/ApiGateway``, ``AWS/RDS``, ``AWS/EC2``, or a custom namespace."""
    name: str
    """The metric name, e.g. ``Errors``."""
    dimensions: Mapping[str, pulumi.Input[str]] = field(default_factory=_no_dimensions)
    """e.g. ``{"FunctionName": function.name}``."""
    statistic: str = "Sum"
    """``SampleCount``, ``Average``, ``Sum``, ``Minimum``, ``Maximum`` or a percentile like ``p99``."""

    def __post_init__(self) -> None:
        if not self.namespace or not self.name:
            raise ComponentArgsError("Metric: namespace and name are required")
        if self.statistic not in STATISTICS and not _PERCENTILE.match(self.statistic):
            raise ComponentArgsError(
                f"Metric {self.name}: statistic {self.statistic!r} is not one of {', '.join(STATISTICS)} or pNN"
            )
        if len(self.dimensions) > 30:
            raise ComponentArgsError(f"Metric {self.name}: at most 30 dimensions")

    @property
    def percentile(self) -> bool:
        return self.statistic not in STATISTICS


@dataclass(frozen=True, slots=True)
class MetricMath:
    """A metric math expression over named metrics, e.g. the 5xx rate ``100 * errors / requests``."""

    expression: str
    """Refers to the metrics by their ids, e.g. ``IF(requests >= 20, 100 * errors / requests, 0)``."""
    metrics: Mapping[str, Metric]
    """By id: a lowercase letter, then letters, digits and underscores."""
    label: str
    """What the result is called on the graph."""

    def __post_init__(self) -> None:
        if not self.metrics or len(self.metrics) > 19:
            raise ComponentArgsError("MetricMath: give 1 to 19 metrics (an alarm holds 20 queries)")
        for query_id in self.metrics:
            if not _QUERY_ID.match(query_id) or query_id == "result":
                raise ComponentArgsError(f"MetricMath: {query_id!r} is not a usable id (lowercase first, not result)")
            if not re.search(rf"\b{re.escape(query_id)}\b", self.expression):
                raise ComponentArgsError(f"MetricMath: the expression does not use metric {query_id!r}")


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm: what it watches, when it fires, and what the person it reaches should do."""

    key: str
    """Names the alarm (``<prefix>-<key>``) and its child; lowercase letters, digits and hyphens."""
    title: str
    """A short heading for the dashboard graph."""
    description: str
    """What it means and the first things to check (at most 1024 characters)."""
    watch: Metric | MetricMath
    comparison: Comparison
    threshold: float
    treat_missing_data: MissingData
    """Chosen per metric: no default, because what a silent metric means differs (no traffic, a dead probe)."""
    period_s: int = 300
    """10, 20, 30 or a multiple of 60."""
    evaluation_periods: int = 1
    datapoints_to_alarm: int | None = None
    """How many of the ``evaluation_periods`` must breach (default: all)."""
    group: str = "Alarms"
    """The dashboard section the graph goes in."""
    extra_actions: Sequence[pulumi.Input[str]] = ()
    """Actions besides the notification, e.g. ``arn:aws:automate:<region>:ec2:recover``."""

    def __post_init__(self) -> None:
        where = f"Alarm {self.key!r}"
        _check_key(where, self.key)
        if not 1 <= len(self.description) <= MAX_DESCRIPTION:
            raise ComponentArgsError(f"{where}: description must be 1 to {MAX_DESCRIPTION} characters")
        if self.comparison not in OPERATORS:
            raise ComponentArgsError(f"{where}: comparison must be one of {', '.join(OPERATORS)}")
        if self.treat_missing_data not in MISSING_DATA:
            raise ComponentArgsError(f"{where}: treat_missing_data must be one of {', '.join(MISSING_DATA)}")
        if not (self.period_s in (10, 20, 30) or (self.period_s >= 60 and self.period_s % 60 == 0)):
            raise ComponentArgsError(f"{where}: period_s must be 10, 20, 30 or a multiple of 60")
        if self.evaluation_periods < 1 or self.evaluation_periods * self.period_s > MAX_EVALUATION_S:
            raise ComponentArgsError(f"{where}: evaluation_periods x period_s must span one period to a day")
        if self.datapoints_to_alarm is not None and not 1 <= self.datapoints_to_alarm <= self.evaluation_periods:
            raise ComponentArgsError(f"{where}: datapoints_to_alarm must be 1 to evaluation_periods")


@dataclass(frozen=True, slots=True)
class Probe:
    """A scheduled invocation of a function with a fixed payload (a synthetic request)."""

    key: str
    function_arn: pulumi.Input[str]
    """What the schedule invokes: the function, or its alias (qualified ARN)."""
    function_name: pulumi.Input[str]
    qualifier: str | None
    """The alias in ``function_arn``, which the invoke permission must name too."""
    payload: str
    """The JSON event the function receives."""
    description: str
    schedule: str = "rate(5 minutes)"

    def __post_init__(self) -> None:
        _check_key(f"Probe {self.key!r}", self.key)
        try:
            json.loads(self.payload)
        except ValueError:
            raise ComponentArgsError(f"Probe {self.key!r}: payload is not JSON") from None
        if not re.match(r"^(rate|cron)\(.+\)$", self.schedule):
            raise ComponentArgsError(f"Probe {self.key!r}: schedule must be rate(...) or cron(...)")


@dataclass(frozen=True, slots=True)
class AlarmsArgs:
    """Arguments of :class:`Alarms`."""

    name_prefix: str
    """Physical names: the topic ``<prefix>-alarms``, alarms ``<prefix>-<key>``, the dashboard ``<prefix>``."""
    region: str
    """The region the dashboard's graphs read from."""
    alarms: Sequence[Alarm]
    email: str | None = None
    """Who is notified (subscribed to the topic); ``None`` leaves the topic without a subscriber."""
    probes: Sequence[Probe] = ()
    dashboard: bool = True
    tags: Mapping[str, str] = field(default_factory=no_tags)
    """Tags applied to every taggable child."""
    transforms: AlarmsTransforms = field(default_factory=AlarmsTransforms)
    """Per-child hooks keyed by role (see :class:`AlarmsTransforms`)."""

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.name_prefix):
            raise ComponentArgsError("AlarmsArgs.name_prefix: letters, digits, '-' and '_' (at most 128)")
        if self.dashboard and len(self.alarms) > MAX_DASHBOARD_ALARMS:
            raise ComponentArgsError(f"AlarmsArgs.alarms: one dashboard shows at most {MAX_DASHBOARD_ALARMS} alarms")
        if self.email is not None and not _EMAIL.match(self.email):
            raise ComponentArgsError(f"AlarmsArgs.email: {self.email!r} is not one email address")
        for kind, keys in (("alarm", [a.key for a in self.alarms]), ("probe", [p.key for p in self.probes])):
            repeated = sorted({k for k in keys if keys.count(k) > 1})
            if repeated:
                raise ComponentArgsError(f"AlarmsArgs: {kind} key(s) {', '.join(repeated)} used twice")
        check_transform_keys("Alarms", self.transforms, ROLES)


class Alarms(Component):
    """A notification topic, alarms that notify it, a dashboard of them, and scheduled probes.

    Roles (``nodes`` and ``transforms``, see :class:`AlarmsTransforms`): ``topic``, ``email_subscription``,
    ``alarm`` (keyed by alarm key), ``dashboard``, and keyed by probe key ``probe_rule``, ``probe_target``,
    ``probe_permission``.
    """

    topic_arn: pulumi.Output[str]
    alarm_arns: dict[str, pulumi.Output[str]]
    """By alarm key."""
    dashboard_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("reggie:components:Alarms", name, args.transforms, ROLES, opts)
        topic = self.child(
            "topic", aws.sns.Topic, aws.sns.TopicArgs(name=f"{args.name_prefix}-alarms", tags=args.tags), "topic"
        )
        if args.email is not None:
            self.child(
                "email_subscription",
                aws.sns.TopicSubscription,
                aws.sns.TopicSubscriptionArgs(topic=topic.arn, protocol="email", endpoint=args.email),
                "email",
            )
        self.alarm_arns = {alarm.key: self._alarm(args, alarm, topic).arn for alarm in args.alarms}
        for probe in args.probes:
            self._probe(args, probe)
        self.dashboard_name = None
        if args.dashboard and args.alarms:
            dashboard = self.child(
                "dashboard",
                aws.cloudwatch.Dashboard,
                aws.cloudwatch.DashboardArgs(
                    dashboard_name=args.name_prefix,
                    dashboard_body=pulumi.Output.all(*self.alarm_arns.values()).apply(
                        lambda arns: dashboard_body(args.alarms, [str(a) for a in arns], args.region)
                    ),
                ),
                "dashboard",
            )
            self.dashboard_name = dashboard.dashboard_name
        self.topic_arn = topic.arn
        self.register_outputs({"topic_arn": self.topic_arn, "alarm_arns": self.alarm_arns})

    def _alarm(self, args: AlarmsArgs, alarm: Alarm, topic: aws.sns.Topic) -> aws.cloudwatch.MetricAlarm:
        watch = alarm.watch
        single = watch if isinstance(watch, Metric) else None
        return self.child(
            "alarm",
            aws.cloudwatch.MetricAlarm,
            aws.cloudwatch.MetricAlarmArgs(
                name=f"{args.name_prefix}-{alarm.key}",
                alarm_description=alarm.description,
                comparison_operator=OPERATORS[alarm.comparison],
                threshold=alarm.threshold,
                evaluation_periods=alarm.evaluation_periods,
                datapoints_to_alarm=alarm.datapoints_to_alarm,
                treat_missing_data=alarm.treat_missing_data,
                actions_enabled=True,
                alarm_actions=[topic.arn, *alarm.extra_actions],
                ok_actions=[topic.arn],
                namespace=single.namespace if single else None,
                metric_name=single.name if single else None,
                dimensions=dict(single.dimensions) if single and single.dimensions else None,
                period=alarm.period_s if single else None,
                statistic=single.statistic if single and not single.percentile else None,
                extended_statistic=single.statistic if single and single.percentile else None,
                # A percentile over a handful of requests says little: hold the state until there are enough.
                evaluate_low_sample_count_percentiles="ignore" if single and single.percentile else None,
                metric_queries=_queries(watch, alarm.period_s) if isinstance(watch, MetricMath) else None,
                tags=args.tags,
            ),
            alarm.key,
            key=alarm.key,
        )

    def _probe(self, args: AlarmsArgs, probe: Probe) -> None:
        rule = self.child(
            "probe_rule",
            aws.cloudwatch.EventRule,
            aws.cloudwatch.EventRuleArgs(
                name=f"{args.name_prefix}-probe-{probe.key}",
                schedule_expression=probe.schedule,
                description=probe.description,
                tags=args.tags,
            ),
            f"probe-{probe.key}",
            key=probe.key,
        )
        self.child(
            "probe_target",
            aws.cloudwatch.EventTarget,
            aws.cloudwatch.EventTargetArgs(rule=rule.name, arn=probe.function_arn, input=probe.payload),
            f"probe-{probe.key}",
            key=probe.key,
        )
        self.child(
            "probe_permission",
            aws.lambda_.Permission,
            aws.lambda_.PermissionArgs(
                action="lambda:InvokeFunction",
                function=probe.function_name,
                qualifier=probe.qualifier,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
            ),
            f"probe-{probe.key}",
            key=probe.key,
        )


def _queries(watch: MetricMath, period_s: int) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    """The expression (the one query returning data) and each metric it reads."""
    queries = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="result", expression=watch.expression, label=watch.label, return_data=True
        )
    ]
    for query_id, metric in watch.metrics.items():
        queries.append(
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id,
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=metric.namespace,
                    metric_name=metric.name,
                    dimensions=dict(metric.dimensions) or None,
                    period=period_s,
                    stat=metric.statistic,
                ),
            )
        )
    return queries


def dashboard_body(alarms: Sequence[Alarm], arns: Sequence[str], region: str) -> str:
    """The dashboard's JSON: an alarm status grid, then per group a heading and one graph per alarm (the
    alarm's own metric and threshold, as CloudWatch draws an alarm), three to a row."""
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "x": 0,
            "y": 0,
            "width": 24,
            "height": 2 + (len(arns) + 5) // 6,
            "properties": {"title": "Alarms", "alarms": list(arns), "sortBy": "stateUpdatedTimestamp"},
        }
    ]
    y = widgets[0]["height"]
    width = 24 // DASHBOARD_COLUMNS
    by_group: dict[str, list[tuple[Alarm, str]]] = {}
    for alarm, arn in zip(alarms, arns, strict=True):
        by_group.setdefault(alarm.group, []).append((alarm, arn))
    for group, members in by_group.items():
        widgets.append(
            {"type": "text", "x": 0, "y": y, "width": 24, "height": 1, "properties": {"markdown": f"## {group}"}}
        )
        y += 1
        for i, (alarm, arn) in enumerate(members):
            widgets.append(
                {
                    "type": "metric",
                    "x": (i % DASHBOARD_COLUMNS) * width,
                    "y": y + (i // DASHBOARD_COLUMNS) * 6,
                    "width": width,
                    "height": 6,
                    "properties": {
                        "title": alarm.title,
                        "region": region,
                        "view": "timeSeries",
                        "stacked": False,
                        "annotations": {"alarms": [arn]},
                    },
                }
            )
        y += ((len(members) + DASHBOARD_COLUMNS - 1) // DASHBOARD_COLUMNS) * 6
    return json.dumps({"start": "-PT12H", "periodOverride": "inherit", "widgets": widgets}, separators=(",", ":"))
